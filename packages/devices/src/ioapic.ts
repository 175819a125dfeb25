import type { MmioHandler } from '@tsvm/mmu';
import { MMIO_SIZE_32 } from '@tsvm/mmu';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IrqRouter } from './irq.js';
import type { ApicMessageSink } from './lapic.js';

// Intel 82093AA I/O APIC datasheet, 3.0 "Register Description".
/** Memory-mapped registers: IOREGSEL at offset 00h, IOWIN at 10h. */
const OFFSET_IOREGSEL = 0x00;
const OFFSET_IOWIN = 0x10;
/** Indirect registers: ID, version, arbitration ID, redirection table (10h-3Fh, two dwords per pin). */
const REG_ID = 0x00;
const REG_VERSION = 0x01;
const REG_ARBITRATION = 0x02;
const REG_REDIRECTION = 0x10;
export const IOAPIC_PINS = 24;
/** Version 11h, maximum redirection entry 17h (24 pins). */
export const IOAPIC_VERSION = 0x0017_0011;
const ID_MASK = 0x0f00_0000;

/** Redirection entry bits (3.2.4). */
const RTE_VECTOR = 0xff;
const RTE_DELIVERY_SHIFT = 8;
const RTE_LOGICAL = 0x800;
/** Delivery status (read-only): always idle here, messages are delivered at once. */
const RTE_REMOTE_IRR = 0x4000;
const RTE_LEVEL = 0x8000;
export const RTE_MASKED = 0x1_0000;
/** Vector, delivery mode, destination mode, polarity, trigger mode, mask. */
const RTE_LOW_WRITABLE = 0x0001_afff;
const RTE_HIGH_WRITABLE = 0xff00_0000;

/** The PC wiring of ISA IRQs to I/O APIC inputs: IRQ 0 (the PIT) is input 2, IRQ 2 (cascade) none. */
export function isaIrqToIoApicPin(line: number): number {
  if (line === 0) return 2;
  if (line === 2) return -1;
  return line;
}

/**
 * An 82093AA-style I/O APIC (MMIO at 0xFEC00000, one 4 KiB page): 24 inputs, each with a
 * redirection entry (vector, delivery and destination mode, edge or level, mask). Edge inputs send
 * a message on each rising edge while unmasked; level inputs send one and set remote IRR until the
 * local APIC's EOI for that vector (`eoi`) clears it, and send again if the line is still high.
 * Router lines carry the asserted state, so the polarity bit is stored but not applied.
 */
export class IoApic implements Device, MmioHandler {
  readonly name: string;
  readonly sizes = MMIO_SIZE_32;
  private readonly sink: ApicMessageSink;
  private readonly initialId: number;
  private id = 0;
  private select = 0;
  private readonly low = new Uint32Array(IOAPIC_PINS);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  /** Input levels, one bit per pin. */
  private levels = 0;

  constructor(options: { sink: ApicMessageSink; name?: string; id?: number }) {
    this.name = options.name ?? 'ioapic';
    this.sink = options.sink;
    this.initialId = (options.id ?? 0) & 0xf;
    this.reset();
  }

  /** Listen to router lines, mapped to inputs by `pinOf` (the PC's ISA wiring by default). */
  attach(router: IrqRouter, pinOf: (line: number) => number = isaIrqToIoApicPin): void {
    router.listen((line, level) => {
      const pin = pinOf(line);
      if (pin >= 0 && pin < IOAPIC_PINS) this.setPin(pin, level);
    });
  }

  setPin(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const was = (this.levels & bit) !== 0;
    if (level === was) return;
    this.levels = level ? this.levels | bit : this.levels & ~bit;
    if (!level) return;
    const low = this.low[pin];
    if ((low & RTE_MASKED) !== 0) return; // a masked edge is lost; a masked level waits
    if ((low & RTE_LEVEL) === 0) this.send(pin);
    else this.service(pin);
  }

  /** The local APIC's EOI for a level-triggered vector: clear remote IRR of entries using it. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const low = this.low[pin];
      if ((low & RTE_REMOTE_IRR) === 0 || (low & RTE_VECTOR) !== vector) continue;
      this.low[pin] = low & ~RTE_REMOTE_IRR;
      this.service(pin);
    }
  }

  /** Deliver a level input that is asserted, unmasked and not already in service. */
  private service(pin: number): void {
    const low = this.low[pin];
    if ((low & RTE_LEVEL) === 0 || (low & (RTE_MASKED | RTE_REMOTE_IRR)) !== 0 || (this.levels & (1 << pin)) === 0) return;
    this.low[pin] = low | RTE_REMOTE_IRR;
    this.send(pin);
  }

  private send(pin: number): void {
    const low = this.low[pin];
    this.sink.deliver(this.high[pin] >>> 24, (low & RTE_LOGICAL) !== 0, (low >>> RTE_DELIVERY_SHIFT) & 7, low & RTE_VECTOR, (low & RTE_LEVEL) !== 0);
  }

  read32(offset: number): number {
    if (offset === OFFSET_IOREGSEL) return this.select;
    if (offset !== OFFSET_IOWIN) return 0;
    const reg = this.select;
    switch (reg) {
      case REG_ID:
        return (this.id << 24) >>> 0;
      case REG_VERSION:
        return IOAPIC_VERSION;
      case REG_ARBITRATION:
        return (this.id << 24) >>> 0;
      default: {
        const pin = (reg - REG_REDIRECTION) >>> 1;
        if (reg < REG_REDIRECTION || pin >= IOAPIC_PINS) return 0xffff_ffff;
        return (reg & 1) === 0 ? this.low[pin] : this.high[pin];
      }
    }
  }

  write32(offset: number, value: number): void {
    if (offset === OFFSET_IOREGSEL) {
      this.select = value & 0xff;
      return;
    }
    if (offset !== OFFSET_IOWIN) return;
    const reg = this.select;
    if (reg === REG_ID) {
      this.id = (value & ID_MASK) >>> 24;
      return;
    }
    const pin = (reg - REG_REDIRECTION) >>> 1;
    if (reg < REG_REDIRECTION || pin >= IOAPIC_PINS) return;
    if ((reg & 1) !== 0) {
      this.high[pin] = (value & RTE_HIGH_WRITABLE) >>> 0;
      return;
    }
    const old = this.low[pin];
    let low = ((old & RTE_REMOTE_IRR) | (value & RTE_LOW_WRITABLE)) >>> 0;
    if ((low & RTE_LEVEL) === 0) low &= ~RTE_REMOTE_IRR; // edge mode has no remote IRR
    this.low[pin] = low;
    this.service(pin); // unmasking an asserted level input delivers it
  }

  reset(): void {
    this.id = this.initialId;
    this.select = 0;
    this.low.fill(RTE_MASKED);
    this.high.fill(0);
  }

  saveState(): DeviceState {
    return { version: 1, id: this.id, select: this.select, low: this.low.slice(), high: this.high.slice(), levels: this.levels };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const id = r.int('id', 0, 15);
    const select = r.int('select', 0, 0xff);
    const low = r.words('low', IOAPIC_PINS);
    const high = r.words('high', IOAPIC_PINS);
    for (let i = 0; i < IOAPIC_PINS; i++) {
      if ((low[i] & ~(RTE_LOW_WRITABLE | RTE_REMOTE_IRR)) !== 0) r.fail('low', `entry ${i} has read-only bits set`);
      if ((high[i] & ~RTE_HIGH_WRITABLE) !== 0) r.fail('high', `entry ${i} has reserved bits set`);
    }
    const levels = r.int('levels', 0, (1 << IOAPIC_PINS) - 1);
    this.id = id;
    this.select = select;
    this.low.set(low);
    this.high.set(high);
    this.levels = levels;
  }
}
