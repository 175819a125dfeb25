import type { MmioHandler } from '@tsvm/mmu';
import { MMIO_SIZE_32 } from '@tsvm/mmu';
import type { Clock } from './clock.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { InterruptAcknowledge } from './irq.js';
import { ApicTimer, TIMER_DIVIDE_MASK } from './lapic-timer.js';

// Intel SDM vol. 3A, chapter 11 (APIC), table 11-1 "Local APIC Register Address Map" (offset >> 4).
const REG_ID = 0x02;
const REG_VERSION = 0x03;
const REG_TPR = 0x08;
const REG_APR = 0x09;
const REG_PPR = 0x0a;
const REG_EOI = 0x0b;
const REG_RRD = 0x0c;
const REG_LDR = 0x0d;
const REG_DFR = 0x0e;
const REG_SVR = 0x0f;
const REG_ISR = 0x10;
const REG_TMR = 0x18;
const REG_IRR = 0x20;
const REG_ESR = 0x28;
const REG_ICR_LOW = 0x30;
const REG_ICR_HIGH = 0x31;
const REG_LVT_FIRST = 0x32; // timer, thermal, performance, LINT0, LINT1, error
const REG_TIMER_INITIAL = 0x38;
const REG_TIMER_CURRENT = 0x39;
const REG_TIMER_DIVIDE = 0x3e;

const LVT_TIMER = 0;
const LVT_LINT0 = 3;
const LVT_LINT1 = 4;
const LVT_COUNT = 6;
/** Writable bits of each LVT entry (11.5.1): vector, delivery mode, polarity, trigger, mask, timer mode. */
const LVT_WRITABLE = [0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff] as const;
export const LVT_MASKED = 0x0001_0000;
const LVT_TIMER_MODE_SHIFT = 17;
const LVT_DELIVERY_SHIFT = 8;
/** LINT0 set to ExtINT and unmasked at reset on the bootstrap processor, as QEMU does, so PIC interrupts pass. */
const LINT0_EXTINT_AT_RESET = 0x0000_0700;

/** Version register: version 14h (integrated APIC), max LVT entry 5. */
export const LAPIC_VERSION = 0x0005_0014;
/** SVR bit 8: APIC software enable. */
export const SVR_ENABLE = 0x100;
const SVR_WRITABLE = 0x3ff;
const DFR_FLAT = 0xffff_ffff;
/** ESR bits (11.5.3): send / receive illegal vector. */
const ESR_SEND_ILLEGAL_VECTOR = 0x20;
const ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;

/** Delivery modes (11.6.1). */
export const DELIVERY_FIXED = 0;
export const DELIVERY_LOWEST = 1;
export const DELIVERY_SMI = 2;
export const DELIVERY_NMI = 4;
export const DELIVERY_INIT = 5;
export const DELIVERY_STARTUP = 6;
export const DELIVERY_EXTINT = 7;
/** ICR: destination mode (logical), level, trigger, shorthand (bits 19-18). */
const ICR_LOGICAL = 0x800;
const ICR_LEVEL_ASSERT = 0x4000;
const ICR_TRIGGER_LEVEL = 0x8000;
const ICR_SHORTHAND_SHIFT = 18;
const SHORTHAND_SELF = 1;
const SHORTHAND_ALL_INCLUDING_SELF = 2;
const SHORTHAND_ALL_EXCLUDING_SELF = 3;
const ICR_LOW_WRITABLE = 0x000c_cfff;

/** IA32_APIC_BASE MSR (11.4.4): BSP flag, global enable, base address. */
export const APIC_BASE_BSP = 0x100;
export const APIC_BASE_ENABLE = 0x800;
export const APIC_DEFAULT_BASE = 0xfee0_0000;

/** Where the I/O APIC (or an MSI) sends an interrupt message; the local APIC implements it. */
export interface ApicMessageSink {
  deliver(destination: number, logical: boolean, deliveryMode: number, vector: number, levelTriggered: boolean): void;
}

/** The page-aligned base address in an IA32_APIC_BASE value. */
function baseOf(msr: number): number {
  return (msr & ~0xfff) >>> 0;
}

function highestBit(bits: Uint32Array): number {
  for (let i = 7; i >= 0; i--) if (bits[i] !== 0) return i * 32 + 31 - Math.clz32(bits[i]);
  return -1;
}

/**
 * A local APIC (xAPIC, MMIO at 0xFEE00000) for one processor: task priority, IRR/ISR/TMR, EOI
 * (broadcast to the I/O APIC for level-triggered vectors through `onEoi`), the LVT, self IPIs
 * through the ICR, and the timer (one-shot and periodic) on the virtual clock at `nsPerTick` per
 * bus clock (1 GHz by default). LINT0 in ExtINT mode passes the 8259's INTR through (`extInt`);
 * with the APIC disabled in IA32_APIC_BASE the PIC is seen directly. The CPU asks this object.
 */
export class LocalApic implements Device, InterruptAcknowledge, MmioHandler, ApicMessageSink {
  readonly name: string;
  readonly sizes = MMIO_SIZE_32;
  private readonly clock: Clock;
  private readonly timer: ApicTimer;
  private readonly extInt: InterruptAcknowledge | undefined;
  private readonly onEoi: ((vector: number) => void) | undefined;
  private readonly onNmi: (() => void) | undefined;
  private readonly onInit: (() => void) | undefined;
  private readonly onBaseChange: ((base: number) => void) | undefined;
  private readonly nsPerTick: number;
  private readonly bsp: boolean;
  private readonly initialId: number;

  private id = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = DFR_FLAT;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Uint32Array(LVT_COUNT);
  private apicBase = APIC_DEFAULT_BASE + APIC_BASE_ENABLE;
  private extIntLatched = false;
  private deliverable = -1;
  private stale = true;

  constructor(options: {
    clock: Clock;
    name?: string;
    id?: number;
    bsp?: boolean;
    extInt?: InterruptAcknowledge;
    onEoi?: (vector: number) => void;
    onNmi?: () => void;
    onInit?: () => void;
    onBaseChange?: (base: number) => void;
    nsPerTick?: number;
  }) {
    this.name = options.name ?? 'lapic';
    this.clock = options.clock;
    this.extInt = options.extInt;
    this.onEoi = options.onEoi;
    this.onNmi = options.onNmi;
    this.onInit = options.onInit;
    this.onBaseChange = options.onBaseChange;
    this.nsPerTick = Math.max(1, Math.floor(options.nsPerTick ?? 1));
    this.bsp = options.bsp ?? true;
    this.initialId = (options.id ?? 0) & 0xff;
    this.timer = new ApicTimer(this.clock, `${this.name}.timer`, this.nsPerTick, () => {
      const entry = this.lvt[LVT_TIMER];
      if ((entry & LVT_MASKED) === 0) this.accept(DELIVERY_FIXED, entry & 0xff, false);
    });
    this.reset();
  }

  /** IA32_APIC_BASE as the CPU's RDMSR sees it. */
  get baseMsr(): number {
    return this.apicBase + (this.bsp ? APIC_BASE_BSP : 0);
  }

  /**
   * WRMSR IA32_APIC_BASE. Clearing the enable bit disables the APIC (the PIC is then seen directly)
   * and returns its registers to their power-up state; setting it again re-enables it from there,
   * as xAPIC processors since the Pentium 4 (and QEMU) allow.
   */
  writeBaseMsr(value: number): void {
    const before = this.apicBase;
    const enable = (value & APIC_BASE_ENABLE) !== 0;
    const base = Math.floor(value / 4096) * 4096 % 0x1_0000_0000;
    this.apicBase = base + (enable ? APIC_BASE_ENABLE : 0);
    if ((before & APIC_BASE_ENABLE) !== 0 && !enable) this.resetRegisters();
    if (base !== baseOf(before)) this.onBaseChange?.(base);
  }

  get enabled(): boolean {
    return (this.apicBase & APIC_BASE_ENABLE) !== 0;
  }

  private softwareEnabled(): boolean {
    return (this.svr & SVR_ENABLE) !== 0;
  }

  // --- what the CPU asks ---

  hasPendingInterrupt(): boolean {
    if (this.enabled && (this.deliverableVector() >= 0 || this.extIntLatched)) return true;
    return this.picPasses() && this.extInt!.hasPendingInterrupt();
  }

  acknowledgeInterrupt(): number {
    if (this.enabled) {
      const v = this.deliverableVector();
      if (v >= 0) {
        this.irr[v >>> 5] &= ~(1 << (v & 31));
        this.isr[v >>> 5] |= 1 << (v & 31);
        this.stale = true;
        return v;
      }
      if (this.extIntLatched && this.extInt !== undefined) {
        this.extIntLatched = false;
        return this.extInt.acknowledgeInterrupt();
      }
    }
    if (this.picPasses() && this.extInt!.hasPendingInterrupt()) return this.extInt!.acknowledgeInterrupt();
    // The request went away before the acknowledge: the spurious vector.
    return this.svr & 0xff;
  }

  /**
   * The highest IRR vector whose priority class is above PPR, or -1. Cached: the CPU asks far more
   * often than IRR, ISR or TPR change, and every change marks the cache stale.
   */
  private deliverableVector(): number {
    if (this.stale) {
      const v = highestBit(this.irr);
      this.deliverable = v >= 0 && (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
      this.stale = false;
    }
    return this.deliverable;
  }

  /** The 8259's INTR reaches the CPU: APIC globally off, or LINT0 unmasked in ExtINT mode. */
  private picPasses(): boolean {
    if (this.extInt === undefined) return false;
    if (!this.enabled) return true;
    const lint0 = this.lvt[LVT_LINT0];
    return (lint0 & LVT_MASKED) === 0 && ((lint0 >>> LVT_DELIVERY_SHIFT) & 7) === DELIVERY_EXTINT;
  }

  private ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  // --- messages from the I/O APIC, MSIs and our own ICR ---

  deliver(destination: number, logical: boolean, deliveryMode: number, vector: number, levelTriggered: boolean): void {
    if (!this.enabled || !this.matches(destination & 0xff, logical)) return;
    this.accept(deliveryMode, vector, levelTriggered);
  }

  private matches(destination: number, logical: boolean): boolean {
    if (destination === 0xff) return true;
    if (!logical) return destination === this.id;
    const ldr = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (ldr & destination) !== 0; // flat model
    return (ldr >>> 4) === (destination >>> 4) && (ldr & destination & 0xf) !== 0; // cluster model
  }

  private accept(deliveryMode: number, vector: number, levelTriggered: boolean): void {
    switch (deliveryMode) {
      case DELIVERY_FIXED:
      case DELIVERY_LOWEST:
        if (vector < 16) {
          this.esrPending |= ESR_RECEIVE_ILLEGAL_VECTOR;
          return;
        }
        this.irr[vector >>> 5] |= 1 << (vector & 31);
        this.stale = true;
        if (levelTriggered) this.tmr[vector >>> 5] |= 1 << (vector & 31);
        else this.tmr[vector >>> 5] &= ~(1 << (vector & 31));
        return;
      case DELIVERY_NMI:
        this.onNmi?.();
        return;
      case DELIVERY_INIT:
        this.onInit?.();
        return;
      case DELIVERY_EXTINT:
        this.extIntLatched = true;
        return;
      default:
        return; // SMI and STARTUP have no effect on a lone bootstrap processor
    }
  }

  // --- registers ---

  read32(offset: number): number {
    if ((offset & 0xf) !== 0) return 0;
    const reg = (offset >>> 4) & 0xff;
    if (reg >= REG_ISR && reg < REG_ISR + 8) return this.isr[reg - REG_ISR];
    if (reg >= REG_TMR && reg < REG_TMR + 8) return this.tmr[reg - REG_TMR];
    if (reg >= REG_IRR && reg < REG_IRR + 8) return this.irr[reg - REG_IRR];
    if (reg >= REG_LVT_FIRST && reg < REG_LVT_FIRST + LVT_COUNT) return this.lvt[reg - REG_LVT_FIRST];
    switch (reg) {
      case REG_ID:
        return (this.id << 24) >>> 0;
      case REG_VERSION:
        return LAPIC_VERSION;
      case REG_TPR:
        return this.tpr;
      case REG_APR:
        return 0;
      case REG_PPR:
        return this.ppr();
      case REG_LDR:
        return this.ldr;
      case REG_DFR:
        return this.dfr;
      case REG_SVR:
        return this.svr;
      case REG_ESR:
        return this.esr;
      case REG_ICR_LOW:
        return this.icrLow;
      case REG_ICR_HIGH:
        return this.icrHigh;
      case REG_TIMER_INITIAL:
        return this.timer.initialCount;
      case REG_TIMER_CURRENT:
        return this.timer.current(this.clock.now());
      case REG_TIMER_DIVIDE:
        return this.timer.divideConfig;
      case REG_EOI:
      case REG_RRD:
      default:
        return 0;
    }
  }

  write32(offset: number, value: number): void {
    if ((offset & 0xf) !== 0) return;
    const v = value >>> 0;
    const reg = (offset >>> 4) & 0xff;
    if (reg >= REG_LVT_FIRST && reg < REG_LVT_FIRST + LVT_COUNT) {
      this.writeLvt(reg - REG_LVT_FIRST, v);
      return;
    }
    switch (reg) {
      case REG_ID:
        this.id = v >>> 24;
        break;
      case REG_TPR:
        this.tpr = v & 0xff;
        this.stale = true;
        break;
      case REG_EOI:
        this.eoi();
        break;
      case REG_LDR:
        this.ldr = (v & 0xff00_0000) >>> 0;
        break;
      case REG_DFR:
        this.dfr = (v | 0x0fff_ffff) >>> 0;
        break;
      case REG_SVR:
        this.svr = v & SVR_WRITABLE;
        if (!this.softwareEnabled()) for (let i = 0; i < LVT_COUNT; i++) this.lvt[i] |= LVT_MASKED;
        break;
      case REG_ESR:
        this.esr = this.esrPending;
        this.esrPending = 0;
        break;
      case REG_ICR_HIGH:
        this.icrHigh = (v & 0xff00_0000) >>> 0;
        break;
      case REG_ICR_LOW:
        this.icrLow = v & ICR_LOW_WRITABLE;
        this.sendIpi();
        break;
      case REG_TIMER_INITIAL:
        this.timer.writeInitial(v);
        break;
      case REG_TIMER_DIVIDE:
        this.timer.writeDivide(v);
        break;
      default:
        break; // read-only registers
    }
  }

  private writeLvt(index: number, value: number): void {
    let v = value & LVT_WRITABLE[index];
    if (!this.softwareEnabled()) v |= LVT_MASKED;
    this.lvt[index] = v;
    if (index === LVT_TIMER) this.timer.setMode(v >>> LVT_TIMER_MODE_SHIFT);
  }

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    const bit = 1 << (v & 31);
    this.isr[v >>> 5] &= ~bit;
    this.stale = true;
    if ((this.tmr[v >>> 5] & bit) !== 0) this.onEoi?.(v);
  }

  private sendIpi(): void {
    const low = this.icrLow;
    const mode = (low >>> LVT_DELIVERY_SHIFT) & 7;
    const vector = low & 0xff;
    const level = (low & ICR_TRIGGER_LEVEL) !== 0;
    // An INIT level de-assert only synchronizes arbitration IDs.
    if (mode === DELIVERY_INIT && level && (low & ICR_LEVEL_ASSERT) === 0) return;
    if ((mode === DELIVERY_FIXED || mode === DELIVERY_LOWEST) && vector < 16) {
      this.esrPending |= ESR_SEND_ILLEGAL_VECTOR;
      return;
    }
    switch ((low >>> ICR_SHORTHAND_SHIFT) & 3) {
      case SHORTHAND_SELF:
        this.accept(mode, vector, level);
        return;
      case SHORTHAND_ALL_INCLUDING_SELF:
        this.accept(mode, vector, level);
        return;
      case SHORTHAND_ALL_EXCLUDING_SELF:
        return; // no other processors
      default:
        this.deliver(this.icrHigh >>> 24, (low & ICR_LOGICAL) !== 0, mode, vector, level);
    }
  }

  /** LINT1 is usually wired to NMI: a rising edge on it delivers per its LVT entry. */
  setLint1(level: boolean): void {
    const entry = this.lvt[LVT_LINT1];
    if (level && this.enabled && (entry & LVT_MASKED) === 0) this.accept((entry >>> LVT_DELIVERY_SHIFT) & 7, entry & 0xff, false);
  }

  private resetRegisters(): void {
    this.id = this.initialId;
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = DFR_FLAT;
    this.svr = 0xff;
    this.isr.fill(0);
    this.tmr.fill(0);
    this.irr.fill(0);
    this.stale = true;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    if (this.bsp) this.lvt[LVT_LINT0] = LINT0_EXTINT_AT_RESET;
    this.extIntLatched = false;
    this.timer.reset();
  }

  reset(): void {
    const before = baseOf(this.apicBase);
    this.apicBase = APIC_DEFAULT_BASE + APIC_BASE_ENABLE;
    this.resetRegisters();
    if (before !== APIC_DEFAULT_BASE) this.onBaseChange?.(APIC_DEFAULT_BASE);
  }

  saveState(): DeviceState {
    const now = this.clock.now();
    return {
      version: 1,
      apicBase: this.apicBase,
      id: this.id,
      tpr: this.tpr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      isr: this.isr.slice(),
      tmr: this.tmr.slice(),
      irr: this.irr.slice(),
      esr: this.esr,
      esrPending: this.esrPending,
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      lvt: Array.from(this.lvt),
      initialCount: this.timer.initialCount,
      divideConfig: this.timer.divideConfig,
      // The timer as the count it holds now; it resumes counting from there when restored.
      currentCount: this.timer.current(now),
      extIntLatched: this.extIntLatched,
    };
  }

  /** Restores after the machine restored the clock's time; the timer continues from the saved count. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const apicBase = r.int('apicBase', 0, 0xffff_ffff);
    if ((apicBase & 0x7ff) !== 0) r.fail('apicBase', 'has bits other than the base and the enable bit');
    const isr = r.words('isr', 8);
    const tmr = r.words('tmr', 8);
    const irr = r.words('irr', 8);
    const fields = {
      id: r.int('id', 0, 0xff),
      tpr: r.int('tpr', 0, 0xff),
      ldr: r.bits('ldr', 0xffff_ffff, 0x00ff_ffff),
      dfr: r.int('dfr', 0x0fff_ffff, 0xffff_ffff),
      svr: r.bits('svr', 0xffff_ffff, ~SVR_WRITABLE >>> 0),
      esr: r.bits('esr', 0xff, ~(ESR_SEND_ILLEGAL_VECTOR | ESR_RECEIVE_ILLEGAL_VECTOR) & 0xff),
      esrPending: r.bits('esrPending', 0xff, ~(ESR_SEND_ILLEGAL_VECTOR | ESR_RECEIVE_ILLEGAL_VECTOR) & 0xff),
      icrLow: r.bits('icrLow', 0xffff_ffff, ~ICR_LOW_WRITABLE >>> 0),
      icrHigh: r.bits('icrHigh', 0xffff_ffff, 0x00ff_ffff),
      extIntLatched: r.bool('extIntLatched'),
    };
    if ((fields.dfr & 0x0fff_ffff) !== 0x0fff_ffff) r.fail('dfr', 'must have bits 27-0 set');
    const lvt = r.ints('lvt', LVT_COUNT, 0, 0xffff_ffff);
    lvt.forEach((v, i) => {
      if ((v & ~LVT_WRITABLE[i]) !== 0) r.fail('lvt', `entry ${i} has bits 0x${(v & ~LVT_WRITABLE[i] >>> 0).toString(16)} that are not writable`);
    });
    const initialCount = r.int('initialCount', 0, 0xffff_ffff);
    const divideConfig = r.bits('divideConfig', 0xff, ~TIMER_DIVIDE_MASK & 0xff);
    const currentCount = r.int('currentCount', 0, 0xffff_ffff);
    const before = baseOf(this.apicBase);
    this.apicBase = apicBase;
    Object.assign(this, fields);
    this.isr.set(isr);
    this.tmr.set(tmr);
    this.irr.set(irr);
    this.stale = true;
    this.lvt.set(lvt);
    this.timer.initialCount = initialCount;
    this.timer.divideConfig = divideConfig;
    this.timer.setMode(this.lvt[LVT_TIMER] >>> LVT_TIMER_MODE_SHIFT);
    this.timer.restart(this.clock.now(), currentCount);
    if (baseOf(apicBase) !== before) this.onBaseChange?.(baseOf(apicBase));
  }
}
