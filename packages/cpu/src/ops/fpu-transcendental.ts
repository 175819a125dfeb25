import { invalidResult, isNaNKind, isNegative, Operand, propagateNaN, regOperand } from '../fpu/arith.js';
import { fpuEnter } from '../fpu/enter.js';
import { INDEFINITE_HI, INDEFINITE_SE, K_DENORMAL, K_INF, K_SNAN, K_UNSUPPORTED, K_ZERO } from '../fpu/float80.js';
import { type Fpu, FSW_C1, FSW_C2, FSW_DE, FSW_PE, FSW_ZE } from '../fpu/fpu.js';
import type { Cpu } from '../interpreter.js';
import type { Op } from '../op.js';
import { canPush } from './fpu-load-store.js';

/**
 * The transcendental instructions compute in doubles with the host's Math library (correct to about
 * one unit in the last place of a double, not of the 64-bit significand), so their results agree
 * with an exact x87 to the first 52 or so bits. Out-of-range trigonometric operands (|x| ≥ 2^63)
 * set C2 and leave ST(0) unchanged, as the hardware does.
 */

const a = new Operand();
const b = new Operand();
const TRIG_LIMIT = 2 ** 63;

export const TRIG_SIN = 0;
export const TRIG_COS = 1;
export const TRIG_TAN = 2;
export const TRIG_SINCOS = 3;

/** A result that is inexact unless it is one of the exact special values. */
function setInexact(fpu: Fpu, i: number, r: number, exact: boolean): void {
  fpu.sw &= ~FSW_C1;
  if (!exact) fpu.signal(FSW_PE);
  fpu.setDouble(i, r);
}

/** Stack checks shared by the one-operand forms: false when ST(0) is empty (masked: the indefinite). */
function unaryOperand(fpu: Fpu): boolean {
  if (!fpu.isEmpty(0)) {
    regOperand(fpu, 0, a);
    return true;
  }
  if (fpu.underflow()) fpu.setRaw(fpu.phys(0), INDEFINITE_SE, INDEFINITE_HI, 0);
  return false;
}

/** FSIN, FCOS, FPTAN, FSINCOS (`ext` = TRIG_*). */
export function trig(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const pushes = op.ext === TRIG_TAN || op.ext === TRIG_SINCOS;
  if (pushes && !fpu.isEmpty(0) && fpu.empty[(fpu.top - 1) & 7] === 0) {
    canPush(fpu);
    return;
  }
  if (!unaryOperand(fpu)) {
    if (pushes && (fpu.cw & 1) !== 0) {
      fpu.push();
      fpu.setRaw(fpu.top, INDEFINITE_SE, INDEFINITE_HI, 0);
    }
    return;
  }
  if (isNaNKind(a.k) || a.k === K_INF) {
    const raisesIE = a.k === K_INF || a.k === K_SNAN || a.k === K_UNSUPPORTED;
    if (a.k === K_INF) invalidResult(fpu, 0);
    else propagateNaN(fpu, 0, a, null);
    if (pushes && (!raisesIE || (fpu.cw & 1) !== 0)) {
      fpu.push();
      fpu.copyReg(0, 1);
    }
    return;
  }
  if (a.k === K_DENORMAL && fpu.signal(FSW_DE)) return;
  const x = a.v;
  if (Math.abs(x) >= TRIG_LIMIT) {
    fpu.sw |= FSW_C2;
    return;
  }
  fpu.sw &= ~FSW_C2;
  const zero = a.k === K_ZERO || a.k === K_DENORMAL;
  switch (op.ext) {
    case TRIG_SIN:
      setInexact(fpu, 0, zero ? x : Math.sin(x), zero);
      break;
    case TRIG_COS:
      setInexact(fpu, 0, zero ? 1 : Math.cos(x), zero);
      break;
    case TRIG_TAN:
      setInexact(fpu, 0, zero ? x : Math.tan(x), zero);
      fpu.push();
      fpu.setDouble(0, 1);
      break;
    default:
      setInexact(fpu, 0, zero ? x : Math.sin(x), zero);
      fpu.push();
      fpu.setDouble(0, zero ? 1 : Math.cos(x));
      break;
  }
}

/** FPATAN: ST(1) = arctan(ST(1) / ST(0)) in the quadrant of (ST(0), ST(1)), then pop. */
export function fpatan(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!binaryOperands(fpu)) return;
  if (isNaNKind(a.k) || isNaNKind(b.k)) {
    propagateNaN(fpu, 1, b, a);
    if (!fpu.suppressed) fpu.pop();
    return;
  }
  if ((a.k === K_DENORMAL || b.k === K_DENORMAL) && fpu.signal(FSW_DE)) return;
  const r = Math.atan2(b.v, a.v);
  setInexact(fpu, 1, r, b.k === K_ZERO && !isNegative(a.v));
  fpu.pop();
}

/** ST(0) and ST(1) into `a` and `b`; on an empty one a stack underflow (masked: ST(1) = indefinite, popped). */
function binaryOperands(fpu: Fpu): boolean {
  if (!fpu.isEmpty(0) && !fpu.isEmpty(1)) {
    regOperand(fpu, 0, a);
    regOperand(fpu, 1, b);
    return true;
  }
  if (fpu.underflow()) {
    fpu.setRaw(fpu.phys(1), INDEFINITE_SE, INDEFINITE_HI, 0);
    fpu.pop();
  }
  return false;
}

/** F2XM1: ST(0) = 2^ST(0) − 1 (defined for −1 ≤ ST(0) ≤ 1). */
export function f2xm1(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!unaryOperand(fpu)) return;
  if (isNaNKind(a.k)) return propagateNaN(fpu, 0, a, null);
  if (a.k === K_ZERO) return;
  if (a.k === K_INF) {
    fpu.setDouble(0, a.v > 0 ? Infinity : -1);
    return;
  }
  if (a.k === K_DENORMAL && fpu.signal(FSW_DE)) return;
  const x = a.v;
  setInexact(fpu, 0, x === 1 ? 1 : x === -1 ? -0.5 : Math.expm1(x * Math.LN2), x === 1 || x === -1);
}

/** FYL2X (`ext` 0): ST(1) = ST(1) × log2(ST(0)); FYL2XP1 (`ext` 1): ST(1) × log2(ST(0) + 1). Then pop. */
export function fyl2x(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!binaryOperands(fpu)) return;
  if (isNaNKind(a.k) || isNaNKind(b.k)) {
    propagateNaN(fpu, 1, a, b);
    if (!fpu.suppressed) fpu.pop();
    return;
  }
  const x = a.v;
  const y = b.v;
  const plusOne = op.ext === 1;
  if (!plusOne && (a.k === K_ZERO || a.k === K_DENORMAL) && b.k !== K_ZERO && b.k !== K_INF) {
    // log2(0) = −∞: divide by zero
    if (fpu.signal(FSW_ZE)) return;
    fpu.setDouble(1, isNegative(y) ? Infinity : -Infinity);
    fpu.pop();
    return;
  }
  if ((a.k === K_DENORMAL || b.k === K_DENORMAL) && fpu.signal(FSW_DE)) return;
  const l = plusOne ? Math.log1p(x) / Math.LN2 : Math.log2(x);
  const r = y * l;
  if (r !== r || (!plusOne && x < 0) || (plusOne && x < -1)) {
    invalidResult(fpu, 1);
    if (!fpu.suppressed) fpu.pop();
    return;
  }
  const exact = l === 0 || b.k === K_ZERO || a.k === K_INF || b.k === K_INF || (!plusOne && Number.isInteger(l));
  setInexact(fpu, 1, r, exact);
  fpu.pop();
}
