import type { DeviceState, StateReader } from './device.js';
import { DeviceError } from './errors.js';

// PCI Local Bus Specification 2.3, section 6.1 "Configuration Space Organization" (type 0 header).
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_CONFIG_SIZE = 256;
export const PCI_BAR_COUNT = 6;
/** Header type bit 7: the device has more than one function. */
export const PCI_HEADER_MULTIFUNCTION = 0x80;

/** Command register (6.2.2): I/O space, memory space, bus master, parity, SERR#, INTx disable. */
export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;
const PCI_COMMAND_WRITABLE = 0x0547;
/** Status register: interrupt status (the function's INTx is asserted). */
export const PCI_STATUS_INTERRUPT = 0x0008;
/** BAR bit 0: I/O space indicator; memory BARs: bit 3 prefetchable. */
const BAR_IO = 0x1;
const BAR_MEM_PREFETCH = 0x8;
/** Memory BAR type field (bits 2-1) = 10b: a 64-bit BAR whose upper half is the next BAR. */
const BAR_MEM_64 = 0x4;

export interface PciBar {
  /**
   * 'io' (size >= 4), 'memory' (32-bit, size >= 16) or 'memory64' (takes this BAR and the next,
   * which must be left undefined); sizes are powers of two.
   */
  readonly kind: 'io' | 'memory' | 'memory64';
  readonly size: number;
  readonly prefetchable?: boolean;
}

export interface PciFunctionOptions {
  name: string;
  vendorId: number;
  deviceId: number;
  /** Class, subclass and programming interface as one 24-bit number (0x060000 = host bridge). */
  classCode: number;
  revision?: number;
  headerType?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** INTx pin: 0 none, 1-4 INTA#-INTD#. */
  interruptPin?: number;
  bars?: readonly (PciBar | undefined)[];
  /** Command and status at reset (bridges that decode from power-on set these). */
  command?: number;
  status?: number;
}

/**
 * One PCI function's type 0 configuration space: 256 bytes with per-bit write masks, BARs that
 * size themselves (write all-ones, read back the size mask), command decoding and INTx. Subclasses
 * add chip registers with `setWritable` and react to writes in `configWritten`. BAR placement is
 * reported through `onBarChange(index, address)` (-1 when decoding is off) so the machine can map
 * the I/O or MMIO range.
 */
export class PciFunction {
  readonly name: string;
  readonly config = new Uint8Array(PCI_CONFIG_SIZE);
  private readonly defaults = new Uint8Array(PCI_CONFIG_SIZE);
  private readonly writable = new Uint8Array(PCI_CONFIG_SIZE);
  readonly bars: readonly (PciBar | undefined)[];
  private readonly decoded = new Float64Array(PCI_BAR_COUNT).fill(-1);
  private intxLevel = false;
  /** Installed by the host when the function is attached: drives the routed INTx line. */
  intx: ((level: boolean) => void) | undefined;
  onBarChange: ((index: number, address: number) => void) | undefined;

  constructor(options: PciFunctionOptions) {
    this.name = options.name;
    const bars = options.bars ?? [];
    if (bars.length > PCI_BAR_COUNT) throw new DeviceError('InvalidArgument', `${this.name}: at most ${PCI_BAR_COUNT} BARs`);
    this.bars = bars;
    const c = this.defaults;
    const put = (offset: number, size: number, value: number): void => {
      for (let i = 0; i < size; i++) c[offset + i] = (value >>> (8 * i)) & 0xff;
    };
    put(PCI_VENDOR_ID, 2, options.vendorId);
    put(PCI_DEVICE_ID, 2, options.deviceId);
    put(PCI_COMMAND, 2, options.command ?? 0);
    put(PCI_STATUS, 2, options.status ?? 0);
    put(PCI_REVISION, 1, options.revision ?? 0);
    put(PCI_CLASS_PROG, 3, options.classCode);
    put(PCI_HEADER_TYPE, 1, options.headerType ?? 0);
    put(PCI_SUBSYSTEM_VENDOR_ID, 2, options.subsystemVendorId ?? 0);
    put(PCI_SUBSYSTEM_ID, 2, options.subsystemId ?? 0);
    const pin = options.interruptPin ?? 0;
    if (!Number.isInteger(pin) || pin < 0 || pin > 4) throw new DeviceError('InvalidArgument', `${this.name}: interrupt pin ${pin} must be 0-4`);
    put(PCI_INTERRUPT_PIN, 1, pin);
    this.setWritable(PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
    this.setWritable(PCI_CACHE_LINE_SIZE, 1, 0xff);
    this.setWritable(PCI_LATENCY_TIMER, 1, 0xff);
    this.setWritable(PCI_INTERRUPT_LINE, 1, 0xff);
    bars.forEach((bar, i) => {
      if (bar === undefined) return;
      const min = bar.kind === 'io' ? 4 : 16;
      if (!Number.isInteger(bar.size) || bar.size < min || (bar.size & (bar.size - 1)) !== 0 || bar.size > 0x8000_0000) {
        throw new DeviceError('InvalidArgument', `${this.name}: BAR${i} size ${bar.size} must be a power of two >= ${min}`);
      }
      const type = bar.kind === 'io' ? BAR_IO : (bar.prefetchable === true ? BAR_MEM_PREFETCH : 0) | (bar.kind === 'memory64' ? BAR_MEM_64 : 0);
      put(PCI_BAR0 + 4 * i, 4, type);
      this.setWritable(PCI_BAR0 + 4 * i, 4, (~(bar.size - 1) & (bar.kind === 'io' ? 0xffff_fffc : 0xffff_fff0)) >>> 0);
      if (bar.kind === 'memory64') {
        if (i + 1 >= PCI_BAR_COUNT || bars[i + 1] !== undefined) {
          throw new DeviceError('InvalidArgument', `${this.name}: 64-bit BAR${i} needs BAR${i + 1} left free for its upper half`);
        }
        this.setWritable(PCI_BAR0 + 4 * (i + 1), 4, 0xffff_ffff);
      }
    });
    this.config.set(c);
  }

  /** Declare bits of `size` bytes at `offset` guest-writable, with their reset value. */
  protected setWritable(offset: number, size: number, mask: number, resetValue?: number): void {
    for (let i = 0; i < size; i++) {
      this.writable[offset + i] = (mask >>> (8 * i)) & 0xff;
      if (resetValue !== undefined) this.defaults[offset + i] = (resetValue >>> (8 * i)) & 0xff;
    }
    if (resetValue !== undefined) for (let i = 0; i < size; i++) this.config[offset + i] = this.defaults[offset + i];
  }

  /** Hook for chip registers: called after the guest wrote `size` bytes at `offset`. */
  protected configWritten(_offset: number, _size: number): void {}

  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.config[(offset + i) & 0xff];
    return v >>> 0;
  }

  writeConfig(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = (offset + i) & 0xff;
      const mask = this.writable[o];
      this.config[o] = (this.config[o] & ~mask) | ((value >>> (8 * i)) & mask);
    }
    this.configWritten(offset & 0xff, size);
    this.updateDecoding();
    this.driveIntx();
  }

  /** The decoded address of BAR `index`, or -1 when it is absent or its space is disabled. */
  barAddress(index: number): number {
    return this.decoded[index] ?? -1;
  }

  get command(): number {
    return this.config[PCI_COMMAND] | (this.config[PCI_COMMAND + 1] << 8);
  }

  /** The function's INTx pin level (the host routes it to a PIRQ and on to an IRQ). */
  setIrq(level: boolean): void {
    this.intxLevel = level;
    if (level) this.config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else this.config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    this.driveIntx();
  }

  /** INTx as the bus sees it: asserted and not disabled by the command register. */
  get intxAsserted(): boolean {
    return this.intxLevel && (this.command & PCI_COMMAND_INTX_DISABLE) === 0;
  }

  private lastDriven = false;

  private driveIntx(): void {
    const level = this.intxAsserted;
    if (level !== this.lastDriven) {
      this.lastDriven = level;
      this.intx?.(level);
    }
  }

  private updateDecoding(): void {
    const command = this.command;
    for (let i = 0; i < this.bars.length; i++) {
      const bar = this.bars[i];
      if (bar === undefined) continue;
      const raw = this.readConfig(PCI_BAR0 + 4 * i, 4);
      const high = bar.kind === 'memory64' ? this.readConfig(PCI_BAR0 + 4 * (i + 1), 4) : 0;
      const address =
        bar.kind === 'io'
          ? (command & PCI_COMMAND_IO) !== 0 ? raw & 0xfffc : -1
          : (command & PCI_COMMAND_MEMORY) !== 0 ? high * 0x1_0000_0000 + ((raw & 0xffff_fff0) >>> 0) : -1;
      if (address !== this.decoded[i]) {
        this.decoded[i] = address;
        this.onBarChange?.(i, address);
      }
    }
  }

  reset(): void {
    this.config.set(this.defaults);
    this.intxLevel = false;
    this.updateDecoding();
    this.driveIntx();
  }

  saveState(): DeviceState {
    return { version: 1, config: this.config.slice(), intx: this.intxLevel };
  }

  /** Checks a saved function: read-only bits must equal this chip's; returns the applier. */
  readState(r: StateReader): () => void {
    const config = r.bytes('config', PCI_CONFIG_SIZE);
    const intx = r.bool('intx');
    for (let o = 0; o < PCI_CONFIG_SIZE; o++) {
      const fixed = ~this.writable[o] & 0xff & ~(o === PCI_STATUS ? PCI_STATUS_INTERRUPT : 0);
      if (((config[o] ^ this.defaults[o]) & fixed) !== 0) {
        r.fail('config', `changes read-only bits at offset 0x${o.toString(16)} (0x${config[o].toString(16)})`);
      }
    }
    return () => {
      this.config.set(config);
      this.intxLevel = intx;
      this.configWritten(0, PCI_CONFIG_SIZE);
      this.lastDriven = !this.intxAsserted;
      this.updateDecoding();
      this.driveIntx();
    };
  }
}
