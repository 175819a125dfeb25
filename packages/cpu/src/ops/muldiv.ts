import { AH, EAX, EDX } from '../cpu.js';
import { lazyResult } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';

// Results of the 64-bit helpers (module scratch, so nothing is allocated).
let hi = 0;
let lo = 0;

/** Unsigned 32 x 32 -> 64 multiply into `hi:lo`, exact with 16-bit partial products. */
function mulu32(a: number, b: number): void {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  lo = ((mid & 0xffff) << 16) | (ll & 0xffff);
  hi = (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}

/** Signed 32 x 32 -> 64 multiply into `hi:lo`. */
function muls32(a: number, b: number): void {
  mulu32(a >>> 0, b >>> 0);
  hi = (hi - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/**
 * Unsigned (h:l) / d with h < d, into quotient `lo` and remainder `hi`: long division in base 2^16,
 * every intermediate below 2^48 so doubles stay exact.
 */
function divu64(h: number, l: number, d: number): void {
  let t = h * 65536 + (l >>> 16);
  const q1 = Math.floor(t / d);
  let r = t - q1 * d;
  t = r * 65536 + (l & 0xffff);
  const q0 = Math.floor(t / d);
  r = t - q0 * d;
  lo = q1 * 65536 + q0;
  hi = r;
}

/** MUL r/m (`ext` 0) and IMUL r/m (`ext` 1): AX = AL * src, DX:AX = AX * src, EDX:EAX = EAX * src. */
function mul1(cpu: Cpu, op: Op, src: number): void {
  const signed = op.ext !== 0;
  let over: number;
  if (op.msb === 7) {
    const p = signed ? ((cpu.r8[0] << 24) >> 24) * ((src << 24) >> 24) : cpu.r8[0] * src;
    cpu.r16[0] = p;
    over = signed ? (p !== (p << 24) >> 24 ? 1 : 0) : (p & 0xff00) !== 0 ? 1 : 0;
    lazyResult(cpu, p, 7, over, over, 0);
  } else if (op.msb === 15) {
    const p = signed ? ((cpu.r16[0] << 16) >> 16) * ((src << 16) >> 16) : cpu.r16[0] * src;
    cpu.r16[0] = p;
    cpu.r16[EDX << 1] = p >> 16;
    over = signed ? (p !== (p << 16) >> 16 ? 1 : 0) : (p & 0xffff0000) !== 0 ? 1 : 0;
    lazyResult(cpu, p, 15, over, over, 0);
  } else {
    if (signed) muls32(cpu.regs[EAX], src | 0);
    else mulu32(cpu.regs[EAX] >>> 0, src >>> 0);
    cpu.regs[EAX] = lo;
    cpu.regs[EDX] = hi;
    over = signed ? (hi !== lo >> 31 ? 1 : 0) : hi !== 0 ? 1 : 0;
    lazyResult(cpu, lo, 31, over, over, 0);
  }
}

export function mulR(cpu: Cpu, op: Op): void {
  mul1(cpu, op, getReg(cpu, op.m, op.msb));
}
export function mulM(cpu: Cpu, op: Op): void {
  mul1(cpu, op, cpu.rd(op.seg, ea(cpu, op), op.msb));
}

/** IMUL reg, r/m (, imm): the truncated product; CF = OF = it did not fit. `ext` 1 = with immediate. */
function imul2(cpu: Cpu, op: Op, a: number, b: number): void {
  let r: number;
  let over: number;
  if (op.msb === 15) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    r = p & 0xffff;
    over = p !== (p << 16) >> 16 ? 1 : 0;
  } else {
    muls32(a | 0, b | 0);
    r = lo;
    over = hi !== lo >> 31 ? 1 : 0;
  }
  lazyResult(cpu, r, op.msb, over, over, 0);
  setReg(cpu, op.r, r, op.msb);
}
export function imulR(cpu: Cpu, op: Op): void {
  imul2(cpu, op, op.ext !== 0 ? getReg(cpu, op.m, op.msb) : getReg(cpu, op.r, op.msb), op.ext !== 0 ? op.imm : getReg(cpu, op.m, op.msb));
}
export function imulM(cpu: Cpu, op: Op): void {
  const v = cpu.rd(op.seg, ea(cpu, op), op.msb);
  imul2(cpu, op, op.ext !== 0 ? v : getReg(cpu, op.r, op.msb), op.ext !== 0 ? op.imm : v);
}

/**
 * DIV (`ext` 0) / IDIV (`ext` 1). A zero divisor or a quotient that does not fit is #DE; the 8086's
 * signed range excludes the most negative quotient (-128 / -32768), later CPUs allow it. On the
 * 8086 a REP prefix negates the IDIV quotient (its microcode reuses the REP flag as a sign latch).
 */
function div1(cpu: Cpu, op: Op, d: number): void {
  const signed = op.ext !== 0;
  const strict8086 = cpu.model.generation === 0;
  if (op.msb === 7) {
    if (!signed) {
      const n = cpu.r16[0];
      if (d === 0) return cpu.divideError();
      const q = Math.floor(n / d);
      if (q > 0xff) return cpu.divideError();
      cpu.r8[0] = q;
      cpu.r8[AH] = n - q * d;
    } else {
      const n = (cpu.r16[0] << 16) >> 16;
      const dv = (d << 24) >> 24;
      if (dv === 0) return cpu.divideError();
      let q = Math.trunc(n / dv);
      const rem = n - q * dv;
      if (strict8086 && op.rep !== 0) q = -q;
      if (q > 127 || q < (strict8086 ? -127 : -128)) return cpu.divideError();
      cpu.r8[0] = q;
      cpu.r8[AH] = rem;
    }
  } else if (op.msb === 15) {
    if (!signed) {
      const n = (cpu.r16[EDX << 1] * 65536 + cpu.r16[0]);
      if (d === 0) return cpu.divideError();
      const q = Math.floor(n / d);
      if (q > 0xffff) return cpu.divideError();
      cpu.r16[0] = q;
      cpu.r16[EDX << 1] = n - q * d;
    } else {
      const n = (cpu.r16[EDX << 1] << 16) | cpu.r16[0];
      const dv = (d << 16) >> 16;
      if (dv === 0) return cpu.divideError();
      let q = Math.trunc(n / dv);
      const rem = n - q * dv;
      if (strict8086 && op.rep !== 0) q = -q;
      if (q > 32767 || q < (strict8086 ? -32767 : -32768)) return cpu.divideError();
      cpu.r16[0] = q;
      cpu.r16[EDX << 1] = rem;
    }
  } else if (!signed) {
    const dv = d >>> 0;
    const h = cpu.regs[EDX] >>> 0;
    if (dv === 0 || h >= dv) return cpu.divideError();
    divu64(h, cpu.regs[EAX] >>> 0, dv);
    cpu.regs[EAX] = lo;
    cpu.regs[EDX] = hi;
  } else {
    const dv = d | 0;
    if (dv === 0) return cpu.divideError();
    let h = cpu.regs[EDX];
    let l = cpu.regs[EAX];
    const negN = h < 0;
    if (negN) {
      // 64-bit two's complement negate
      l = (~l + 1) | 0;
      h = (~h + (l === 0 ? 1 : 0)) | 0;
    }
    const ad = Math.abs(dv);
    if (h >>> 0 >= ad) return cpu.divideError();
    divu64(h >>> 0, l >>> 0, ad);
    const negQ = negN !== dv < 0;
    const q = negQ ? -lo : lo;
    if (q > 0x7fffffff || q < -0x80000000) return cpu.divideError();
    cpu.regs[EAX] = q;
    cpu.regs[EDX] = negN ? -hi : hi;
  }
}

export function divR(cpu: Cpu, op: Op): void {
  div1(cpu, op, getReg(cpu, op.m, op.msb));
}
export function divM(cpu: Cpu, op: Op): void {
  div1(cpu, op, cpu.rd(op.seg, ea(cpu, op), op.msb));
}
