import { CpuError } from './errors.js';
import type { CpuModel } from './models.js';

/**
 * Model-specific registers (Intel SDM vol. 4, table 2-2 "IA-32 architectural MSRs" and the P6 family
 * table). The Pentium has the TSC; the P6 set adds what a kernel touches: SYSENTER, the APIC base,
 * PAT, the MTRRs (storage: memory types change nothing in an emulator), the performance counters
 * (which count nothing), the microcode signature and the platform ID.
 */
export const MSR_TSC = 0x10;
export const MSR_PLATFORM_ID = 0x17;
export const MSR_APIC_BASE = 0x1b;
export const MSR_BIOS_SIGN_ID = 0x8b;
export const MSR_PERFCTR0 = 0xc1;
export const MSR_PERFCTR1 = 0xc2;
export const MSR_MTRRCAP = 0xfe;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;
export const MSR_EVNTSEL0 = 0x186;
export const MSR_EVNTSEL1 = 0x187;
export const MSR_MISC_ENABLE = 0x1a0;
export const MSR_MTRR_PHYSBASE0 = 0x200;
export const MSR_MTRR_FIX64K_00000 = 0x250;
export const MSR_MTRR_FIX16K_80000 = 0x258;
export const MSR_MTRR_FIX16K_A0000 = 0x259;
export const MSR_MTRR_FIX4K_C0000 = 0x268;
export const MSR_PAT = 0x277;
export const MSR_MTRR_DEF_TYPE = 0x2ff;

/** IA32_MTRRCAP: 8 variable ranges, fixed ranges, write-combining (SDM vol. 3A, 11.11.1). */
const MTRRCAP_VALUE = 0x508;
/** IA32_APIC_BASE bits software may set: BSP (read-only), enable, base 35:12 (SDM vol. 3A, 10.4.4). */
const APIC_BASE_RESERVED_LO = 0x6ff;
const APIC_BASE_RESERVED_HI = ~0xf;
/** The PAT's power-on value: WB, WT, UC-, UC in entries 0-3 and again in 4-7 (SDM vol. 3A, 11.12.4). */
const PAT_RESET = 0x0007_0406;
/** IA32_MISC_ENABLE bit 0: fast-string operations enabled (the one bit writable here). */
const MISC_FAST_STRINGS = 1;
const TWO_32 = 0x1_0000_0000;

/**
 * The local APIC as IA32_APIC_BASE sees it; `@tsvm/devices`' `LocalApic` has this shape. The VMM
 * attaches it; without one the MSR reads 0 (an APIC disabled in hardware) and ignores writes.
 */
export interface ApicBaseMsr {
  /** IA32_APIC_BASE: base (bits 31:12), global enable (bit 11), BSP (bit 8). */
  readonly baseMsr: number;
  writeBaseMsr(value: number): void;
}

/** One MSR as plain data: its index and the two halves of its 64-bit value (unsigned). */
export interface MsrEntry {
  index: number;
  high: number;
  low: number;
}

/** MTRR memory types UC, WC, WT, WP, WB (SDM vol. 3A, table 11-8); PAT adds UC- (7). */
function mtrrType(t: number): boolean {
  return t === 0 || t === 1 || (t >= 4 && t <= 6);
}
function patType(t: number): boolean {
  return mtrrType(t) || t === 7;
}
function everyByte(lo: number, hi: number, ok: (t: number) => boolean): boolean {
  for (let s = 0; s < 32; s += 8) if (!ok((lo >>> s) & 0xff) || !ok((hi >>> s) & 0xff)) return false;
  return true;
}

/** How WRMSR treats bits 63:32 of a stored MSR. */
const HIGH_STORE = 0;
/** Ignored on write, read as 0 (SYSENTER MSRs, the 32-bit event selects' upper half is checked instead). */
const HIGH_IGNORE = 1;
/** A P6 counter: bits 39:32 copy bit 31 of the value written (SDM vol. 3B, 18.22). */
const HIGH_SIGN8 = 2;

interface StoredMsr {
  readonly index: number;
  readonly resetLo: number;
  readonly resetHi: number;
  readonly high: number;
  /** False when a write must raise #GP (reserved bits, invalid memory types). */
  readonly valid: (lo: number, hi: number) => boolean;
}

const any = (): boolean => true;
const highZero = (_lo: number, hi: number): boolean => hi === 0;

/** The MSRs the P6 keeps as storage, with their reset values and what a write may hold. */
function p6StoredMsrs(): StoredMsr[] {
  const msrs: StoredMsr[] = [];
  const add = (index: number, valid: StoredMsr['valid'], resetLo = 0, resetHi = 0, high = HIGH_STORE): void => {
    msrs.push({ index, resetLo, resetHi, high, valid });
  };
  add(MSR_BIOS_SIGN_ID, any);
  add(MSR_PERFCTR0, any, 0, 0, HIGH_SIGN8);
  add(MSR_PERFCTR1, any, 0, 0, HIGH_SIGN8);
  add(MSR_SYSENTER_CS, any, 0, 0, HIGH_IGNORE);
  add(MSR_SYSENTER_ESP, any, 0, 0, HIGH_IGNORE);
  add(MSR_SYSENTER_EIP, any, 0, 0, HIGH_IGNORE);
  add(MSR_EVNTSEL0, highZero);
  add(MSR_EVNTSEL1, highZero);
  add(MSR_MISC_ENABLE, (lo, hi) => hi === 0 && (lo & ~MISC_FAST_STRINGS) === 0, MISC_FAST_STRINGS);
  for (let n = 0; n < 8; n++) {
    // PHYSBASE: type in 7:0, bits 11:8 reserved; PHYSMASK: bits 10:0 reserved, valid in 11. Address bits to 35.
    add(MSR_MTRR_PHYSBASE0 + 2 * n, (lo, hi) => (hi & ~0xf) === 0 && (lo & 0xf00) === 0 && mtrrType(lo & 0xff));
    add(MSR_MTRR_PHYSBASE0 + 2 * n + 1, (lo, hi) => (hi & ~0xf) === 0 && (lo & 0x7ff) === 0);
  }
  const fixed = (lo: number, hi: number): boolean => everyByte(lo, hi, mtrrType);
  add(MSR_MTRR_FIX64K_00000, fixed);
  add(MSR_MTRR_FIX16K_80000, fixed);
  add(MSR_MTRR_FIX16K_A0000, fixed);
  for (let n = 0; n < 8; n++) add(MSR_MTRR_FIX4K_C0000 + n, fixed);
  add(MSR_PAT, (lo, hi) => everyByte(lo, hi, patType), PAT_RESET, PAT_RESET);
  // Type in 7:0, fixed-range enable (10), enable (11); the rest reserved.
  add(MSR_MTRR_DEF_TYPE, (lo, hi) => hi === 0 && (lo & ~0xcff) === 0 && mtrrType(lo & 0xff));
  return msrs;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/**
 * The MSR file of one CPU. `read`/`write` return false where the instruction must raise #GP
 * (an MSR the model does not have, reserved bits, a read-only MSR); the value read is left in
 * `lo`/`hi`, so RDMSR allocates nothing.
 */
export class ModelSpecificRegisters {
  /** EAX and EDX of the last successful `read`. */
  lo = 0;
  hi = 0;
  private readonly specs: StoredMsr[];
  private readonly slots = new Map<number, number>();
  private readonly los: Int32Array;
  private readonly his: Int32Array;
  /** TSC = counter() + tscOffset (a double: exact up to 2^53 ticks). */
  private tscOffset = 0;
  /** The local APIC behind IA32_APIC_BASE (P6 only). */
  apic: ApicBaseMsr | null = null;

  constructor(
    private readonly model: CpuModel,
    /** Ticks since power-on, never decreasing (the machine's clock, or the retired-instruction count). */
    private readonly counter: () => number,
  ) {
    this.specs = model.msrSet >= 6 ? p6StoredMsrs() : [];
    this.specs.forEach((s, i) => this.slots.set(s.index, i));
    this.los = new Int32Array(this.specs.length);
    this.his = new Int32Array(this.specs.length);
    this.reset();
  }

  /** RESET: the TSC to 0, stored MSRs to their power-on values (the APIC resets with its device). */
  reset(): void {
    this.tscOffset = -this.counter();
    this.specs.forEach((s, i) => {
      this.los[i] = s.resetLo;
      this.his[i] = s.resetHi;
    });
  }

  /** The time-stamp counter now. */
  tsc(): number {
    return this.counter() + this.tscOffset;
  }

  /** Sets the TSC to `value` (it counts on from there). */
  setTsc(value: number): void {
    this.tscOffset = value - this.counter();
  }

  /** Puts the TSC in `lo`/`hi` (RDTSC). */
  readTsc(): void {
    const t = this.tsc();
    const hi = Math.floor(t / TWO_32);
    this.hi = hi | 0;
    this.lo = (t - hi * TWO_32) | 0;
  }

  /** P6 performance counter `n` (RDPMC ECX 0 or 1) into `lo`/`hi`; false for another counter. */
  readCounter(n: number): boolean {
    if (this.model.msrSet < 6 || (n !== 0 && n !== 1)) return false;
    return this.read(MSR_PERFCTR0 + n);
  }

  /** RDMSR: the value in `lo`/`hi`, or false (#GP). */
  read(index: number): boolean {
    if (this.model.msrSet === 0) return false;
    if (index === MSR_TSC) {
      this.readTsc();
      return true;
    }
    if (this.model.msrSet < 6) return false;
    switch (index) {
      case MSR_PLATFORM_ID:
        this.lo = 0;
        this.hi = 0; // platform ID 0 in bits 52:50
        return true;
      case MSR_APIC_BASE:
        this.lo = this.apic !== null ? this.apic.baseMsr | 0 : 0;
        this.hi = 0;
        return true;
      case MSR_MTRRCAP:
        this.lo = MTRRCAP_VALUE;
        this.hi = 0;
        return true;
      default: {
        const slot = this.slots.get(index);
        if (slot === undefined) return false;
        this.lo = this.los[slot];
        this.hi = this.his[slot];
        return true;
      }
    }
  }

  /** WRMSR EDX:EAX; false (#GP) for an unknown or read-only MSR or a value with reserved bits. */
  write(index: number, lo: number, hi: number): boolean {
    if (this.model.msrSet === 0) return false;
    if (index === MSR_TSC) {
      // P6: only the low 32 bits are written, the high ones cleared (SDM vol. 3B, 17.17); the Pentium takes all 64.
      this.setTsc(this.model.msrSet >= 6 ? lo >>> 0 : (hi >>> 0) * TWO_32 + (lo >>> 0));
      return true;
    }
    if (this.model.msrSet < 6) return false;
    if (index === MSR_APIC_BASE) {
      if ((lo & APIC_BASE_RESERVED_LO) !== 0 || (hi & APIC_BASE_RESERVED_HI) !== 0) return false;
      // Bits 35:32 of the base: the board maps the APIC below 4 GiB only.
      if (hi !== 0) return false;
      this.apic?.writeBaseMsr(lo >>> 0);
      return true;
    }
    const slot = this.slots.get(index);
    if (slot === undefined) return false;
    const spec = this.specs[slot];
    if (!spec.valid(lo, hi)) return false;
    this.los[slot] = lo;
    this.his[slot] = spec.high === HIGH_STORE ? hi : spec.high === HIGH_SIGN8 ? (lo < 0 ? 0xff : 0) : 0;
    return true;
  }

  /** IA32_BIOS_SIGN_ID after CPUID leaf 1: the microcode revision in bits 63:32. */
  loadMicrocodeSignature(): void {
    const slot = this.slots.get(MSR_BIOS_SIGN_ID);
    if (slot !== undefined) this.his[slot] = this.model.microcodeRevision;
  }

  /** The TSC and every stored MSR, for the state API. */
  entries(): MsrEntry[] {
    const out: MsrEntry[] = [];
    if (this.model.msrSet === 0) return out;
    this.readTsc();
    out.push({ index: MSR_TSC, high: this.hi >>> 0, low: this.lo >>> 0 });
    this.specs.forEach((s, i) => out.push({ index: s.index, high: this.his[i] >>> 0, low: this.los[i] >>> 0 }));
    return out;
  }

  /**
   * Checks state entries as WRMSR would (plus: each value a uint32 pair) and returns what applies
   * them, so a bad entry changes nothing. Throws `CpuError('InvalidState')` naming the entry.
   */
  prepareEntries(entries: unknown): () => void {
    if (!Array.isArray(entries)) throw new CpuError('InvalidState', "state field 'msrs' must be an array of { index, high, low }");
    const checked: MsrEntry[] = entries.map((e: unknown, i) => {
      const field = `msrs[${i}]`;
      if (typeof e !== 'object' || e === null) throw new CpuError('InvalidState', `state field '${field}' must be an object { index, high, low }`);
      const { index, high, low } = e as Record<string, unknown>;
      for (const [name, v] of [['index', index], ['high', high], ['low', low]] as const) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw new CpuError('InvalidState', `state field '${field}.${name}' must be an integer in 0..4294967295, got ${String(v)}`);
        }
      }
      const entry = { index: index as number, high: high as number, low: low as number };
      const slot = this.slots.get(entry.index);
      if (entry.index === MSR_TSC && this.model.msrSet > 0) {
        if (entry.high >= 1 << 21) throw new CpuError('InvalidState', `state field '${field}': a TSC above 2^53 cannot be restored exactly`);
        return entry;
      }
      if (slot === undefined) throw new CpuError('InvalidState', `state field '${field}': model ${this.model.name} keeps no MSR ${hex(entry.index)} in its state`);
      if (!this.specs[slot].valid(entry.low | 0, entry.high | 0)) throw new CpuError('InvalidState', `state field '${field}': ${hex(entry.high)}:${hex(entry.low)} has reserved bits set for MSR ${hex(entry.index)}`);
      return entry;
    });
    return () => {
      for (const e of checked) {
        if (e.index === MSR_TSC) this.setTsc(e.high * TWO_32 + e.low);
        else this.write(e.index, e.low | 0, e.high | 0);
      }
    };
  }
}
