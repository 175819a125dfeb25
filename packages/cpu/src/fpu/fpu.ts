import {
  classify,
  classifyDouble,
  Ext80,
  fromDouble,
  INDEFINITE_HI,
  INDEFINITE_SE,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_ZERO,
  toDouble,
} from './float80.js';

/** Status word bits (Intel SDM vol. 1, 8.1.3). */
export const FSW_IE = 0x0001;
export const FSW_DE = 0x0002;
export const FSW_ZE = 0x0004;
export const FSW_OE = 0x0008;
export const FSW_UE = 0x0010;
export const FSW_PE = 0x0020;
export const FSW_SF = 0x0040;
export const FSW_ES = 0x0080;
export const FSW_C0 = 0x0100;
export const FSW_C1 = 0x0200;
export const FSW_C2 = 0x0400;
export const FSW_TOP_SHIFT = 11;
export const FSW_TOP = 0x3800;
export const FSW_C3 = 0x4000;
export const FSW_B = 0x8000;
export const FSW_CC = FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3;
/** The six exception flags (and, in the control word, their masks). */
export const EXC_MASK = 0x3f;

/** Control word fields (SDM vol. 1, 8.1.5). */
export const FCW_PC_SHIFT = 8;
export const FCW_RC_SHIFT = 10;
/** Bits 6 and 13-15 are reserved; bit 6 reads as 1 after FLDCW on the 387 and later. */
export const FCW_WRITABLE = 0x1f3f;
export const FCW_ALWAYS_ONE = 0x0040;
export const FCW_INIT = 0x037f;

/** Tag values (SDM vol. 1, 8.1.7). */
export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

/** MXCSR after reset and the bits FXRSTOR accepts (the MXCSR_MASK FXSAVE reports). */
export const MXCSR_INIT = 0x1f80;
export const MXCSR_MASK = 0xffbf;

/**
 * The x87 unit's state: eight physical registers R0-R7 (ST(i) is R((TOP + i) mod 8)), the control,
 * status and tag words, and the last instruction and data pointers.
 *
 * Each register holds a double for arithmetic (`val`) and an 80-bit shadow (`se`, `hi`, `lo`). While
 * `exact[r]` is 1 the shadow is authoritative — it came from an 80-bit load, FRSTOR/FXRSTOR, a
 * constant, FILD/FBLD, FSCALE/FXTRACT/FRNDINT or a NaN — so storing it as 80 bits gives back every
 * bit; after arithmetic writes a double the shadow is derived from it (exactly) when needed.
 */
export class Fpu {
  /** False on models without a coprocessor: ESC instructions are no-ops there. */
  present = true;
  readonly val = new Float64Array(8);
  readonly se = new Uint16Array(8);
  readonly hi = new Uint32Array(8);
  readonly lo = new Uint32Array(8);
  readonly exact = new Uint8Array(8);
  /** `K_*` of each register's value. */
  readonly kind = new Uint8Array(8);
  readonly empty = new Uint8Array(8);
  /** Control word. */
  cw = FCW_INIT;
  /** Status word without TOP (bits 11-13 are kept in `top`). */
  sw = 0;
  top = 0;
  /** Last non-control instruction: offset, CS selector, opcode (11 bits, see `fop`). */
  fip = 0;
  fcs = 0;
  /** Linear address of that instruction (its opcode bytes are read back for FOP when stored). */
  fipLinear = 0;
  fop = 0;
  /** Last memory operand: offset and segment selector. */
  fdp = 0;
  fds = 0;
  mxcsr = MXCSR_INIT;

  /**
   * The FERR# output. With CR0.NE = 0 a pending unmasked exception is reported here (true) when a
   * waiting instruction meets it, and withdrawn (false) when FNCLEX, FNINIT, FLDENV, FRSTOR or FLDCW
   * clear it. A PC routes FERR# to IRQ 13; the machine wires it. With no listener, the waiting
   * instruction goes on as if IGNNE# were asserted.
   */
  onFerr: ((asserted: boolean) => void) | null = null;
  /** The FERR# line's level. */
  ferr = false;

  /** Scratch for conversions (one per unit, so no allocation per instruction). */
  readonly t = new Ext80();

  /** Power-on state (SDM vol. 3A, table 9-1): FCW 0040H, FSW 0, every register +0.0 tagged zero. */
  reset(): void {
    this.val.fill(0);
    this.se.fill(0);
    this.hi.fill(0);
    this.lo.fill(0);
    this.exact.fill(1);
    this.kind.fill(K_ZERO);
    this.empty.fill(0);
    this.cw = FCW_ALWAYS_ONE;
    this.sw = 0;
    this.top = 0;
    this.fip = 0;
    this.fcs = 0;
    this.fipLinear = 0;
    this.fop = 0;
    this.fdp = 0;
    this.fds = 0;
    this.mxcsr = MXCSR_INIT;
    this.setFerr(false);
  }

  /** FNINIT: FCW 037FH, FSW 0, every register empty, pointers cleared; register contents kept. */
  init(): void {
    this.cw = FCW_INIT;
    this.sw = 0;
    this.top = 0;
    this.empty.fill(1);
    this.fip = 0;
    this.fcs = 0;
    this.fipLinear = 0;
    this.fop = 0;
    this.fdp = 0;
    this.fds = 0;
    this.setFerr(false);
  }

  /** Physical register number of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }

  isEmpty(i: number): boolean {
    return this.empty[(this.top + i) & 7] !== 0;
  }

  /** ST(i) as a double (NaN for NaNs and unsupported encodings). */
  get(i: number): number {
    return this.val[(this.top + i) & 7];
  }

  kindOf(i: number): number {
    return this.kind[(this.top + i) & 7];
  }

  /** Writes a double to ST(i) (a NaN becomes the QNaN indefinite). */
  setDouble(i: number, x: number): void {
    const p = (this.top + i) & 7;
    if (x !== x) {
      this.setRaw(p, INDEFINITE_SE, INDEFINITE_HI, 0);
      return;
    }
    this.val[p] = x;
    this.exact[p] = 0;
    this.kind[p] = classifyDouble(x);
    this.empty[p] = 0;
  }

  /** Writes an exact 80-bit value to ST(i). */
  setExt(i: number, e: Ext80): void {
    this.setRaw((this.top + i) & 7, e.se, e.hi, e.lo);
  }

  /** Writes an 80-bit value to physical register `p`. */
  setRaw(p: number, se: number, hi: number, lo: number): void {
    this.se[p] = se;
    this.hi[p] = hi;
    this.lo[p] = lo;
    this.exact[p] = 1;
    this.kind[p] = classify(se, hi, lo);
    this.val[p] = toDouble(se, hi, lo);
    this.empty[p] = 0;
  }

  /** Copies ST(from) to ST(to) with all 80 bits. */
  copyReg(to: number, from: number): void {
    const s = (this.top + from) & 7;
    const d = (this.top + to) & 7;
    this.val[d] = this.val[s];
    this.se[d] = this.se[s];
    this.hi[d] = this.hi[s];
    this.lo[d] = this.lo[s];
    this.exact[d] = this.exact[s];
    this.kind[d] = this.kind[s];
    this.empty[d] = 0;
  }

  /** The 80-bit form of physical register `p` into `out`. */
  readPhys(p: number, out: Ext80): Ext80 {
    if (this.exact[p] !== 0) return out.set(this.se[p], this.hi[p], this.lo[p]);
    return fromDouble(this.val[p], out);
  }

  /** The 80-bit form of ST(i) into `out`. */
  read(i: number, out: Ext80): Ext80 {
    return this.readPhys((this.top + i) & 7, out);
  }

  push(): void {
    this.top = (this.top - 1) & 7;
  }

  pop(): void {
    this.empty[this.top] = 1;
    this.top = (this.top + 1) & 7;
  }

  /** The 16-bit status word with TOP and B (B mirrors ES on the 387 and later). */
  statusWord(): number {
    const sw = (this.sw & ~(FSW_TOP | FSW_B)) | (this.top << FSW_TOP_SHIFT);
    return (sw & FSW_ES) !== 0 ? sw | FSW_B : sw;
  }

  /** Loads a status word (FLDENV, FRSTOR, FXRSTOR, the state API). */
  setStatusWord(v: number): void {
    this.top = (v >>> FSW_TOP_SHIFT) & 7;
    this.sw = v & ~(FSW_TOP | FSW_B) & 0xffff;
  }

  /** The tag of physical register `p`, computed from its contents as FSTENV reports it. */
  tagOf(p: number): number {
    if (this.empty[p] !== 0) return TAG_EMPTY;
    const k = this.kind[p];
    if (k === K_ZERO) return TAG_ZERO;
    if (k === K_NORMAL) return this.exact[p] === 0 || (this.se[p] & 0x7fff) !== 0x7fff ? TAG_VALID : TAG_SPECIAL;
    return TAG_SPECIAL;
  }

  /** The full 16-bit tag word (R0 in bits 0-1). */
  tagWord(): number {
    let w = 0;
    for (let p = 0; p < 8; p++) w |= this.tagOf(p) << (p * 2);
    return w;
  }

  /** Applies a tag word: only "empty" or not matters; other tags are recomputed from the contents. */
  setTagWord(w: number): void {
    for (let p = 0; p < 8; p++) this.empty[p] = ((w >>> (p * 2)) & 3) === TAG_EMPTY ? 1 : 0;
  }

  /** FXSAVE's abridged tag byte: bit p set when R(p) is not empty. */
  abridgedTag(): number {
    let b = 0;
    for (let p = 0; p < 8; p++) if (this.empty[p] === 0) b |= 1 << p;
    return b;
  }

  /** Rounding control (0 nearest, 1 down, 2 up, 3 toward zero). */
  rc(): number {
    return (this.cw >>> FCW_RC_SHIFT) & 3;
  }

  /** Precision control (0 single, 2 double, 3 extended). */
  pc(): number {
    return (this.cw >>> FCW_PC_SHIFT) & 3;
  }

  /**
   * Records exception flags. Returns true when one of them is unmasked: the caller then leaves the
   * destination unchanged for IE, DE and ZE, and the error is reported at the next waiting
   * instruction (ES and B set now).
   */
  signal(flags: number): boolean {
    this.sw |= flags;
    if ((flags & ~this.cw & EXC_MASK) !== 0) {
      this.sw |= FSW_ES;
      if ((flags & ~this.cw & (FSW_IE | FSW_DE | FSW_ZE)) !== 0) this.suppressed = true;
      return true;
    }
    return false;
  }

  /**
   * Set when the current instruction met an unmasked IE, DE or ZE: its destination was left alone,
   * and a popping form must not pop either. Cleared at the start of each x87 instruction.
   */
  suppressed = false;

  /** Stack underflow (#IS with C1 = 0). True when masked: the caller writes the QNaN indefinite. */
  underflow(): boolean {
    this.sw &= ~FSW_C1;
    return !this.signal(FSW_IE | FSW_SF);
  }

  /** Stack overflow on a push (#IS with C1 = 1). True when masked. */
  overflow(): boolean {
    this.sw |= FSW_C1;
    return !this.signal(FSW_IE | FSW_SF);
  }

  /** Sets C3, C2, C1, C0 from a 4-bit value (bit 0 = C0, 1 = C1, 2 = C2, 3 = C3). */
  setCC(c3: number, c2: number, c1: number, c0: number): void {
    this.sw = (this.sw & ~FSW_CC) | (c0 !== 0 ? FSW_C0 : 0) | (c1 !== 0 ? FSW_C1 : 0) | (c2 !== 0 ? FSW_C2 : 0) | (c3 !== 0 ? FSW_C3 : 0);
  }

  setC1(on: boolean): void {
    if (on) this.sw |= FSW_C1;
    else this.sw &= ~FSW_C1;
  }

  /** Recomputes ES from the flags and masks (after FLDCW, FLDENV, FRSTOR, FXRSTOR). */
  updateErrorSummary(): void {
    if ((this.sw & ~this.cw & EXC_MASK) !== 0) this.sw |= FSW_ES;
    else {
      this.sw &= ~FSW_ES;
      this.setFerr(false);
    }
  }

  /** FNCLEX: clears the exception flags, SF, ES and B (and FERR#). */
  clearExceptions(): void {
    this.sw &= ~(EXC_MASK | FSW_SF | FSW_ES | FSW_B);
    this.setFerr(false);
  }

  setFerr(level: boolean): void {
    if (this.ferr === level) return;
    this.ferr = level;
    this.onFerr?.(level);
  }

  /** True when ST(i) holds a denormal operand (an 80-bit denormal: the double is 0 then). */
  isDenormal(i: number): boolean {
    return this.kind[(this.top + i) & 7] === K_DENORMAL;
  }

  isInfinite(i: number): boolean {
    return this.kind[(this.top + i) & 7] === K_INF;
  }
}
