import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine, IrqRouter } from './irq.js';
import { PCI_INTERRUPT_PIN, type PciFunction } from './pci-function.js';

// PCI Local Bus Specification 2.3, 3.2.2.3.2 "Configuration Mechanism #1".
/** CONFIG_ADDRESS bit 31: configuration space access enabled. */
export const PCI_CONFIG_ENABLE = 0x8000_0000;
/** Bits kept by CONFIG_ADDRESS: enable, bus (23-16), device (15-11), function (10-8), register (7-2). */
const CONFIG_ADDRESS_MASK = 0x80ff_fffc;
const OFFSET_ADDRESS = 0;
/** 0xCF9 inside the CONFIG_ADDRESS dword: byte accesses go to the reset control register. */
const OFFSET_RESET_CONTROL = 1;
const OFFSET_DATA = 4;
export const PCI_DEVICES_PER_BUS = 32;
export const PCI_FUNCTIONS_PER_DEVICE = 8;
/** PIRQA#-PIRQD#: the four interrupt lines shared by the PCI slots. */
export const PCI_PIRQ_COUNT = 4;
/** The I/O APIC inputs PIRQA#-D# are wired to (as on QEMU's i440FX machine). */
export const PCI_PIRQ_IOAPIC_BASE = 16;

/**
 * The PCI host side: configuration mechanism #1 at 0xCF8-0xCFF (8 ports; byte accesses to 0xCF9
 * go to `resetControl`), a registry of functions on bus 0, and INTx routing: a function in slot
 * `d` asserting pin INTx (A=0..D=3) drives PIRQ[(d - 1 + x) & 3], which the ISA bridge routes to an
 * ISA IRQ (`setPirqRoute`) and which also reaches I/O APIC inputs 16-19 when the router has them.
 */
export class PciHost implements Device, IoHandler {
  readonly name: string;
  private address = 0;
  private readonly functions: (PciFunction | undefined)[] = new Array<PciFunction | undefined>(PCI_DEVICES_PER_BUS * PCI_FUNCTIONS_PER_DEVICE);
  private readonly router: IrqRouter;
  private readonly resetControl: IoHandler | undefined;
  /** How many functions assert each PIRQ. */
  private readonly pirqCount = new Uint8Array(PCI_PIRQ_COUNT);
  /** The ISA IRQ each PIRQ is routed to, or -1. */
  private readonly pirqRoute = new Int8Array(PCI_PIRQ_COUNT).fill(-1);
  /** One router source per PIRQ and ISA IRQ (created on first use), and one per I/O APIC input. */
  private readonly isaSources = new Map<number, IrqLine>();
  private readonly apicSources: (IrqLine | undefined)[] = [];

  constructor(options: { router: IrqRouter; name?: string; resetControl?: IoHandler }) {
    this.name = options.name ?? 'pci';
    this.router = options.router;
    this.resetControl = options.resetControl;
    for (let p = 0; p < PCI_PIRQ_COUNT; p++) {
      const line = PCI_PIRQ_IOAPIC_BASE + p;
      this.apicSources.push(line < this.router.lineCount ? this.router.source(line) : undefined);
    }
  }

  /** Put `fn` at 00:device.function. */
  attach(fn: PciFunction, device: number, functionNumber = 0): void {
    if (!Number.isInteger(device) || device < 0 || device >= PCI_DEVICES_PER_BUS || !Number.isInteger(functionNumber) || functionNumber < 0 || functionNumber >= PCI_FUNCTIONS_PER_DEVICE) {
      throw new DeviceError('InvalidArgument', `${fn.name}: PCI address 00:${device}.${functionNumber} does not exist`);
    }
    const slot = device * PCI_FUNCTIONS_PER_DEVICE + functionNumber;
    const other = this.functions[slot];
    if (other !== undefined) throw new DeviceError('InvalidArgument', `${fn.name}: PCI address 00:${device}.${functionNumber} is taken by ${other.name}`);
    this.functions[slot] = fn;
    const pin = fn.config[PCI_INTERRUPT_PIN];
    let high = false;
    fn.intx = (level) => {
      if (level === high || pin === 0) return;
      high = level;
      this.drivePirq((device - 1 + pin - 1) & 3, level ? 1 : -1);
    };
  }

  /** The function at 00:device.function, if any. */
  functionAt(device: number, functionNumber = 0): PciFunction | undefined {
    return this.functions[device * PCI_FUNCTIONS_PER_DEVICE + functionNumber];
  }

  /** Route PIRQ `pirq` to ISA IRQ `irq` (or -1: not routed). Called by the ISA bridge. */
  setPirqRoute(pirq: number, irq: number): void {
    const old = this.pirqRoute[pirq];
    if (old === irq) return;
    const high = this.pirqCount[pirq] > 0;
    if (high && old >= 0) this.isaSource(pirq, old).set(false);
    this.pirqRoute[pirq] = irq;
    if (high && irq >= 0) this.isaSource(pirq, irq).set(true);
  }

  private isaSource(pirq: number, irq: number): IrqLine {
    const key = pirq * 256 + irq;
    let line = this.isaSources.get(key);
    if (line === undefined) {
      line = this.router.source(irq);
      this.isaSources.set(key, line);
    }
    return line;
  }

  private drivePirq(pirq: number, delta: number): void {
    const before = this.pirqCount[pirq];
    const after = Math.max(0, before + delta);
    this.pirqCount[pirq] = after;
    if ((before === 0) === (after === 0)) return;
    const level = after > 0;
    const irq = this.pirqRoute[pirq];
    if (irq >= 0) this.isaSource(pirq, irq).set(level);
    this.apicSources[pirq]?.set(level);
  }

  read8(offset: number): number {
    if (offset >= OFFSET_DATA) return this.readData(offset - OFFSET_DATA, 1);
    if (offset === OFFSET_RESET_CONTROL && this.resetControl?.read8 !== undefined) return this.resetControl.read8(0);
    return 0xff; // byte accesses to CONFIG_ADDRESS pass through to ISA: nothing there
  }

  read16(offset: number): number {
    if (offset >= OFFSET_DATA) return this.readData(offset - OFFSET_DATA, 2);
    return 0xffff;
  }

  read32(offset: number): number {
    if (offset === OFFSET_ADDRESS) return this.address >>> 0;
    if (offset === OFFSET_DATA) return this.readData(0, 4);
    return 0xffff_ffff;
  }

  write8(offset: number, value: number): void {
    if (offset >= OFFSET_DATA) this.writeData(offset - OFFSET_DATA, 1, value);
    else if (offset === OFFSET_RESET_CONTROL) this.resetControl?.write8?.(0, value);
  }

  write16(offset: number, value: number): void {
    if (offset >= OFFSET_DATA) this.writeData(offset - OFFSET_DATA, 2, value);
  }

  write32(offset: number, value: number): void {
    if (offset === OFFSET_ADDRESS) this.address = (value & CONFIG_ADDRESS_MASK) >>> 0;
    else if (offset === OFFSET_DATA) this.writeData(0, 4, value);
  }

  /** The addressed function (bus 0 only: there are no bridges), or undefined. */
  private target(): PciFunction | undefined {
    const a = this.address;
    if ((a & PCI_CONFIG_ENABLE) === 0 || ((a >>> 16) & 0xff) !== 0) return undefined;
    return this.functions[(a >>> 8) & 0xff];
  }

  private readData(byte: number, size: number): number {
    const fn = this.target();
    // Nothing answers a missing function: the host bridge returns all-ones (master abort).
    if (fn === undefined || byte + size > 4) return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
    return fn.readConfig((this.address & 0xfc) + byte, size);
  }

  private writeData(byte: number, size: number, value: number): void {
    const fn = this.target();
    if (fn === undefined) return;
    const n = Math.min(size, 4 - byte);
    fn.writeConfig((this.address & 0xfc) + byte, n, value);
  }

  /** Resets the address register and every attached function. */
  reset(): void {
    this.address = 0;
    for (const fn of this.functions) fn?.reset();
  }

  saveState(): DeviceState {
    const functions: { [addr: string]: DeviceState } = {};
    this.functions.forEach((fn, i) => {
      if (fn !== undefined) functions[`${i >>> 3}.${i & 7}`] = fn.saveState();
    });
    return { version: 1, address: this.address, functions };
  }

  /** Restores the address register and every attached function's configuration space. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const address = r.int('address', 0, 0xffff_ffff);
    if ((address & ~CONFIG_ADDRESS_MASK) !== 0) r.fail('address', 'has bits CONFIG_ADDRESS does not keep');
    const all = r.child('functions');
    const appliers: (() => void)[] = [];
    const expected = new Set<string>();
    this.functions.forEach((fn, i) => {
      if (fn === undefined) return;
      const key = `${i >>> 3}.${i & 7}`;
      expected.add(key);
      appliers.push(fn.readState(all.child(key)));
    });
    for (const key of all.fields()) if (!expected.has(key)) all.fail(key, 'is a function this machine does not have');
    this.address = address;
    for (const apply of appliers) apply();
  }
}
