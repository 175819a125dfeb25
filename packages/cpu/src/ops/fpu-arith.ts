import { binop, invalidResult, isNaNKind, isNegative, Operand, propagateNaN, regOperand } from '../fpu/arith.js';
import { fpuEnter, recordData, part } from '../fpu/enter.js';
import { Ext80, EXP_BIAS, EXP_MAX, fromDouble, fromInt64, INDEFINITE_HI, INDEFINITE_SE, intResult, K_DENORMAL, K_INF, K_NORMAL, K_ZERO, toInt64 } from '../fpu/float80.js';
import { doubleOperand, singleOperand } from '../fpu/formats.js';
import { type Fpu, FSW_C1, FSW_DE, FSW_OE, FSW_PE, FSW_UE, FSW_ZE } from '../fpu/fpu.js';
import { finish, overflowResult, productError } from '../fpu/rounding.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { canPush } from './fpu-load-store.js';

const a = new Operand();
const b = new Operand();
const v = new Ext80();
const w = new Ext80();

/** Memory operand formats of the arithmetic forms (`imm2`). */
export const MEM_F32 = 0;
export const MEM_F64 = 1;
export const MEM_I16 = 2;
export const MEM_I32 = 3;

/** ST(0) empty: stack underflow; masked, ST(dst) becomes the indefinite. Returns true when ST(0) is usable. */
function needs(fpu: Fpu, i: number, j: number, dst: number): boolean {
  if (!fpu.isEmpty(i) && !fpu.isEmpty(j)) return true;
  if (fpu.underflow()) fpu.setRaw(fpu.phys(dst), INDEFINITE_SE, INDEFINITE_HI, 0);
  return false;
}

/** FADD/FMUL/FSUB/FSUBR/FDIV/FDIVR/FIxxx with a memory operand: ST(0) = ST(0) op m (`ext` = operation, `imm2` = format). */
export function arithM(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const addr = ea(cpu, op);
  let denormal = false;
  switch (op.imm2) {
    case MEM_F32:
      denormal = singleOperand(cpu.rd32(op.seg, addr), b);
      break;
    case MEM_F64: {
      const lo = cpu.rd32(op.seg, addr);
      denormal = doubleOperand(lo, cpu.rd32(op.seg, part(addr + 4, op.amask)), b);
      break;
    }
    case MEM_I16:
      b.v = (cpu.rd16(op.seg, addr) << 16) >> 16;
      b.k = b.v === 0 ? K_ZERO : K_NORMAL;
      break;
    default:
      b.v = cpu.rd32(op.seg, addr);
      b.k = b.v === 0 ? K_ZERO : K_NORMAL;
      break;
  }
  recordData(cpu, op.seg, addr);
  if (!needs(fpu, 0, 0, 0)) return;
  if (denormal && fpu.signal(FSW_DE)) return;
  binop(fpu, op.ext, 0, regOperand(fpu, 0, a), b);
}

/** The register forms: `imm2` 0: ST(0) = ST(0) op ST(i); 1: ST(i) = ST(i) op ST(0); 3: the same and pop. */
export function arithR(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const dst = op.imm2 === 0 ? 0 : op.m;
  const src = op.imm2 === 0 ? op.m : 0;
  if (needs(fpu, dst, src, dst)) binop(fpu, op.ext, dst, regOperand(fpu, dst, a), regOperand(fpu, src, b));
  if (op.imm2 === 3 && !fpu.suppressed) fpu.pop();
}

/** FCHS (`ext` 0) and FABS (`ext` 1): the sign bit only, no exception but stack underflow. */
export function signOp(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  fpu.sw &= ~FSW_C1;
  if (!needs(fpu, 0, 0, 0)) return;
  fpu.read(0, v);
  v.se = op.ext === 0 ? v.se ^ 0x8000 : v.se & 0x7fff;
  if (fpu.exact[fpu.phys(0)] !== 0) fpu.setExt(0, v);
  else fpu.setDouble(0, op.ext === 0 ? -fpu.get(0) : Math.abs(fpu.get(0)));
}

/** FSQRT, with rounding control and the remainder deciding PE and C1. */
export function fsqrt(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!needs(fpu, 0, 0, 0)) return;
  regOperand(fpu, 0, a);
  if (isNaNKind(a.k)) return propagateNaN(fpu, 0, a, null);
  fpu.sw &= ~FSW_C1;
  if (a.k === K_ZERO) return;
  if (isNegative(a.v)) return invalidResult(fpu, 0);
  if (a.k === K_INF) return;
  if (a.k === K_DENORMAL && fpu.signal(FSW_DE)) return;
  const x = a.v;
  const r = Math.sqrt(x);
  const p = r * r;
  const rem = x - p - productError(r, r, p);
  fpu.setDouble(0, finish(fpu, r, rem, true));
}

/** FRNDINT: ST(0) to an integer by RC, exactly on the 80-bit value. */
export function frndint(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!needs(fpu, 0, 0, 0)) return;
  regOperand(fpu, 0, a);
  if (isNaNKind(a.k)) return propagateNaN(fpu, 0, a, null);
  fpu.sw &= ~FSW_C1;
  if (a.k === K_ZERO || a.k === K_INF) return;
  if (a.k === K_DENORMAL && fpu.signal(FSW_DE)) return;
  fpu.read(0, v);
  if ((v.se & EXP_MAX) - EXP_BIAS >= 63) return; // already an integer
  toInt64(v.se, v.hi, v.lo, fpu.rc());
  if (intResult.inexact) {
    fpu.signal(FSW_PE);
    if (intResult.up) fpu.sw |= FSW_C1;
  }
  fromInt64(intResult.neg, intResult.hi, intResult.lo, w);
  if (intResult.big) w.set((v.se & 0x8000) | (EXP_BIAS + 63), 0x80000000, 0);
  fpu.setExt(0, w);
}

/** FSCALE: ST(0) × 2^trunc(ST(1)), exact on the 80-bit exponent. */
export function fscale(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!needs(fpu, 0, 1, 0)) return;
  regOperand(fpu, 0, a);
  regOperand(fpu, 1, b);
  if (isNaNKind(a.k) || isNaNKind(b.k)) return propagateNaN(fpu, 0, a, b);
  fpu.sw &= ~FSW_C1;
  if (b.k === K_INF) {
    const up = b.v > 0;
    if ((up && a.k === K_ZERO) || (!up && a.k === K_INF)) return invalidResult(fpu, 0);
    if (a.k === K_ZERO || a.k === K_INF) return;
    fpu.setDouble(0, up ? (isNegative(a.v) ? -Infinity : Infinity) : isNegative(a.v) ? -0 : 0);
    return;
  }
  if ((a.k === K_DENORMAL || b.k === K_DENORMAL) && fpu.signal(FSW_DE)) return;
  if (a.k === K_ZERO || a.k === K_INF) return;
  const n = Math.max(-65536, Math.min(65536, Math.trunc(b.v)));
  fpu.read(0, v);
  const e = (v.se & EXP_MAX) + n;
  if (e >= EXP_MAX) {
    if (fpu.signal(FSW_OE | FSW_PE)) return;
    fpu.setDouble(0, overflowResult(fpu, (v.se & 0x8000) !== 0, fpu.rc(), 64, EXP_BIAS));
    return;
  }
  if (e < 1) {
    if (fpu.signal(FSW_UE | FSW_PE)) return;
    fpu.setDouble(0, (v.se & 0x8000) !== 0 ? -0 : 0);
    return;
  }
  v.se = (v.se & 0x8000) | e;
  fpu.setExt(0, v);
}

/** FXTRACT: ST(0) = significand (exponent 0), then the unbiased exponent pushed below it. */
export function fxtract(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (fpu.isEmpty(0)) {
    if (!canPush(fpu)) return;
    if (fpu.underflow()) {
      fpu.setRaw(fpu.phys(0), INDEFINITE_SE, INDEFINITE_HI, 0);
      fpu.push();
      fpu.setRaw(fpu.top, INDEFINITE_SE, INDEFINITE_HI, 0);
    }
    return;
  }
  if (fpu.empty[(fpu.top - 1) & 7] === 0) {
    canPush(fpu);
    return;
  }
  regOperand(fpu, 0, a);
  fpu.sw &= ~FSW_C1;
  if (isNaNKind(a.k)) {
    propagateNaN(fpu, 0, a, null);
    fpu.read(0, v);
    fpu.push();
    fpu.setExt(0, v);
    return;
  }
  if (a.k === K_ZERO) {
    if (fpu.signal(FSW_ZE)) return;
    fpu.read(0, v);
    fpu.setDouble(0, -Infinity);
    fpu.push();
    fpu.setExt(0, v);
    return;
  }
  if (a.k === K_INF) {
    fpu.read(0, v);
    fpu.setDouble(0, Infinity);
    fpu.push();
    fpu.setExt(0, v);
    return;
  }
  if (a.k === K_DENORMAL && fpu.signal(FSW_DE)) return;
  fpu.read(0, v);
  let e = (v.se & EXP_MAX) - EXP_BIAS;
  if ((v.se & EXP_MAX) === 0) {
    // a denormal: normalize the significand
    e = 1 - EXP_BIAS;
    while ((v.hi & 0x80000000) === 0) {
      v.hi = ((v.hi << 1) | (v.lo >>> 31)) >>> 0;
      v.lo = (v.lo << 1) >>> 0;
      e--;
    }
  }
  v.se = (v.se & 0x8000) | EXP_BIAS;
  fpu.setDouble(0, e);
  fpu.push();
  fpu.setExt(0, v);
}

/**
 * FPREM (`ext` 0, truncating quotient) and FPREM1 (`ext` 1, IEEE round-to-nearest quotient):
 * exact remainders of the doubles. When the exponents differ by 64 or more the reduction is partial
 * (C2 = 1; the quotient is taken against ST(1) × 2^(D − 63)); otherwise C0, C3, C1 = the quotient's
 * bits 2, 1, 0 and C2 = 0.
 */
export function fprem(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!needs(fpu, 0, 1, 0)) return;
  regOperand(fpu, 0, a);
  regOperand(fpu, 1, b);
  if (isNaNKind(a.k) || isNaNKind(b.k)) return propagateNaN(fpu, 0, a, b);
  if (a.k === K_INF || b.k === K_ZERO || b.k === K_DENORMAL) return invalidResult(fpu, 0);
  if ((a.k === K_DENORMAL || b.k === K_DENORMAL) && fpu.signal(FSW_DE)) return;
  if (a.k === K_ZERO || b.k === K_INF) {
    fpu.setCC(0, 0, 0, 0);
    return;
  }
  const x = a.v;
  const y = Math.abs(b.v);
  const d = (fromDouble(x, v).se & EXP_MAX) - (fromDouble(y, w).se & EXP_MAX);
  if (d >= 64) {
    const m = y * 2 ** (d - 63);
    fpu.setDouble(0, x % m);
    fpu.setCC(0, 1, 0, 0);
    return;
  }
  // q mod 8 and the truncated remainder, by exact subtractions (Sterbenz).
  let t = Math.abs(x) % (y * 8);
  let q = 0;
  for (let k = 4; k >= 1; k >>= 1) {
    if (t >= k * y) {
      t -= k * y;
      q |= k;
    }
  }
  if (op.ext === 1 && (t > y / 2 || (t === y / 2 && (q & 1) === 1))) {
    t = t - y;
    q = (q + 1) & 7;
  }
  const r = x < 0 || Object.is(x, -0) ? -t : t;
  fpu.setDouble(0, r === 0 ? (isNegative(x) ? -0 : 0) : r);
  fpu.setCC((q >> 1) & 1, 0, q & 1, (q >> 2) & 1);
}

