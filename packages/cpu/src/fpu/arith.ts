import { Ext80, INDEFINITE_HI, INDEFINITE_SE, K_DENORMAL, K_INF, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO } from './float80.js';
import { type Fpu, FSW_DE, FSW_IE, FSW_ZE } from './fpu.js';
import { finish, productError, sumError } from './rounding.js';

/** Arithmetic selectors: the ModR/M reg field of D8/DC/DA/DE. */
export const OP_ADD = 0;
export const OP_MUL = 1;
export const OP_SUB = 4;
export const OP_SUBR = 5;
export const OP_DIV = 6;
export const OP_DIVR = 7;

/** An operand: its double, its kind (`K_*`) and, for NaNs and unsupported encodings, its 80 bits. */
export class Operand {
  v = 0;
  k = 0;
  readonly x = new Ext80();
}

/** Loads ST(i) into `o` (the caller has checked that it is not empty). */
export function regOperand(fpu: Fpu, i: number, o: Operand): Operand {
  const p = fpu.phys(i);
  o.v = fpu.val[p];
  o.k = fpu.kind[p];
  if (o.k === K_QNAN || o.k === K_SNAN || o.k === K_UNSUPPORTED) fpu.readPhys(p, o.x);
  return o;
}

/** True for kinds that take the special-operand path (NaNs, unsupported encodings). */
export function isNaNKind(k: number): boolean {
  return k === K_QNAN || k === K_SNAN || k === K_UNSUPPORTED;
}

/**
 * NaN operands (SDM vol. 1, 4.8.3.5, table 4-7): an unsupported encoding is invalid and gives the
 * QNaN indefinite; an SNaN is invalid and is quieted; of two NaNs the one with the larger significand
 * wins, except that a QNaN beats an SNaN. Writes ST(dst) unless IE is unmasked. Returns nothing.
 */
export function propagateNaN(fpu: Fpu, dst: number, a: Operand, b: Operand | null): void {
  const ka = a.k;
  const kb = b === null ? K_ZERO : b.k;
  let invalid = ka === K_SNAN || kb === K_SNAN || ka === K_UNSUPPORTED || kb === K_UNSUPPORTED;
  if (ka === K_DENORMAL || kb === K_DENORMAL) invalid = fpu.signal(FSW_DE) || invalid;
  const unmasked = invalid && fpu.signal(FSW_IE);
  if (unmasked) return;
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) {
    fpu.setRaw(fpu.phys(dst), INDEFINITE_SE, INDEFINITE_HI, 0);
    return;
  }
  let pick: Ext80;
  const aNaN = ka === K_QNAN || ka === K_SNAN;
  const bNaN = b !== null && (kb === K_QNAN || kb === K_SNAN);
  if (aNaN && bNaN && b !== null) {
    if (ka === K_QNAN && kb === K_SNAN) pick = a.x;
    else if (ka === K_SNAN && kb === K_QNAN) pick = b.x;
    else pick = largerSignificand(a.x, b.x);
  } else pick = aNaN || b === null ? a.x : b.x;
  fpu.setRaw(fpu.phys(dst), pick.se, pick.hi | 0x40000000, pick.lo);
}

function largerSignificand(a: Ext80, b: Ext80): Ext80 {
  const ah = a.hi | 0x40000000;
  const bh = b.hi | 0x40000000;
  if (ah !== bh) return (ah >>> 0) > (bh >>> 0) ? a : b;
  if (a.lo !== b.lo) return a.lo > b.lo ? a : b;
  return (a.se & 0x8000) === 0 ? a : b;
}

/** Writes the masked invalid-operation response (the QNaN indefinite) unless IE is unmasked. */
export function invalidResult(fpu: Fpu, dst: number): void {
  if (!fpu.signal(FSW_IE)) fpu.setRaw(fpu.phys(dst), INDEFINITE_SE, INDEFINITE_HI, 0);
}

/**
 * ST(dst) = a op b for the basic operations (`OP_*`; reverse forms are passed as the caller's
 * operands already swapped), with the x87's invalid-operation, denormal, divide-by-zero, overflow
 * and precision rules and rounding control.
 */
export function binop(fpu: Fpu, kind: number, dst: number, a: Operand, b: Operand): void {
  if (kind === OP_SUBR || kind === OP_DIVR) {
    binop(fpu, kind - 1, dst, b, a);
    return;
  }
  const ka = a.k;
  const kb = b.k;
  if (isNaNKind(ka) || isNaNKind(kb)) {
    propagateNaN(fpu, dst, a, b);
    return;
  }
  const x = a.v;
  const y = b.v;
  const aInf = ka === K_INF;
  const bInf = kb === K_INF;
  // Invalid operations: ∞ − ∞, 0 × ∞, 0 / 0, ∞ / ∞.
  switch (kind) {
    case OP_ADD:
      if (aInf && bInf && x !== y) return invalidResult(fpu, dst);
      break;
    case OP_SUB:
      if (aInf && bInf && x === y) return invalidResult(fpu, dst);
      break;
    case OP_MUL:
      if ((aInf && (kb === K_ZERO || kb === K_DENORMAL)) || (bInf && (ka === K_ZERO || ka === K_DENORMAL))) return invalidResult(fpu, dst);
      break;
    default:
      if ((aInf && bInf) || ((ka === K_ZERO || ka === K_DENORMAL) && (kb === K_ZERO || kb === K_DENORMAL))) return invalidResult(fpu, dst);
      break;
  }
  if ((ka === K_DENORMAL || kb === K_DENORMAL) && fpu.signal(FSW_DE)) return;
  if (kind === OP_DIV && (kb === K_ZERO || kb === K_DENORMAL) && !aInf) {
    if (fpu.signal(FSW_ZE)) return;
    fpu.setDouble(dst, isNegative(x) !== isNegative(y) ? -Infinity : Infinity);
    return;
  }
  const finite = !aInf && !bInf;
  let r: number;
  let err = 0;
  switch (kind) {
    case OP_ADD:
      r = x + y;
      if (finite) err = sumError(x, y, r);
      break;
    case OP_SUB:
      r = x - y;
      if (finite) err = sumError(x, -y, r);
      break;
    case OP_MUL:
      r = x * y;
      if (finite && r !== 0) err = productError(x, y, r);
      else if (finite && x !== 0 && y !== 0) err = (x > 0) === (y > 0) ? 1e-300 : -1e-300;
      break;
    default: {
      r = x / y;
      if (finite && r !== 0 && r !== Infinity && r !== -Infinity) {
        const p = r * y;
        const rem = x - p - productError(r, y, p);
        err = rem === 0 ? 0 : (rem > 0) === (y > 0) ? 1 : -1;
      } else if (finite && r === 0 && x !== 0) err = (x > 0) === (y > 0) ? 1e-300 : -1e-300;
      break;
    }
  }
  if (r === 0 && err === 0 && (kind === OP_ADD || kind === OP_SUB) && fpu.rc() === 1) {
    // An exact zero sum of opposite-signed operands is −0 when rounding down (SDM vol. 1, 4.8.3.6).
    const ySign = kind === OP_SUB ? !isNegative(y) : isNegative(y);
    if (isNegative(x) !== ySign) r = -0;
  }
  fpu.setDouble(dst, finish(fpu, r, err, finite));
}

/** True for negative values including −0. */
export function isNegative(x: number): boolean {
  return x < 0 || (x === 0 && 1 / x < 0);
}
