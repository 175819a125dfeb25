import { fromDouble, maxFinite, RC_DOWN, RC_NEAREST, RC_UP, round, roundedValue, roundSignificand, EXP_BIAS, Ext80 } from './float80.js';
import { type Fpu, FSW_C1, FSW_OE, FSW_PE } from './fpu.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp split)

/** The next double above `x` (finite x). */
export function nextUp(x: number): number {
  if (x === 0) return 5e-324;
  f64[0] = x;
  if (x > 0) {
    u32[0] = (u32[0] + 1) >>> 0;
    if (u32[0] === 0) u32[1]++;
  } else {
    if (u32[0] === 0) u32[1]--;
    u32[0] = (u32[0] - 1) >>> 0;
  }
  return f64[0];
}

/** The next double below `x` (finite x). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** The rounding error of s = a + b (exact: a + b = s + err), Knuth's TwoSum. */
export function sumError(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}

/** The rounding error of p = a * b (exact while nothing overflows or underflows), Dekker's TwoProduct. */
export function productError(a: number, b: number, p: number): number {
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const err = ah * bh - p + ah * bl + al * bh + al * bl;
  return err === err && err !== Infinity && err !== -Infinity ? err : 0;
}

const scratch = new Ext80();

/**
 * Finishes an arithmetic result: `r` is the double nearest the exact result and `err` the sign (and
 * ideally the size) of exact − r. Applies rounding control (directed modes step one unit in the last
 * place), precision control (single precision rounds again to 24 bits; double and extended keep the
 * double), and sets PE, OE and C1 (C1 = rounded up in magnitude). `finiteInputs` tells an overflow of
 * the double range apart from an infinite operand.
 */
export function finish(fpu: Fpu, r: number, err: number, finiteInputs: boolean): number {
  const rc = fpu.rc();
  fpu.sw &= ~FSW_C1;
  if (r === Infinity || r === -Infinity) {
    if (!finiteInputs) return r;
    fpu.signal(FSW_OE | FSW_PE);
    return overflowResult(fpu, r < 0, rc, 53, 1023);
  }
  if (err !== 0 && err === err) {
    let up: boolean;
    switch (rc) {
      case RC_NEAREST:
        up = r > 0 ? err < 0 : err > 0;
        break;
      case RC_DOWN:
        if (err < 0) r = nextDown(r);
        up = r < 0 && err < 0;
        break;
      case RC_UP:
        if (err > 0) r = nextUp(r);
        up = r > 0 && err > 0;
        break;
      default:
        if (r > 0 && err < 0) r = nextDown(r);
        else if (r < 0 && err > 0) r = nextUp(r);
        up = false;
        break;
    }
    fpu.signal(FSW_PE);
    if (up) fpu.sw |= FSW_C1;
  }
  if (fpu.pc() === 0 && r !== 0) r = toPrecision(fpu, r, rc, 24);
  return r;
}

/** Rounds a finite double to `precision` bits (precision control single) with the 80-bit exponent range. */
function toPrecision(fpu: Fpu, r: number, rc: number, precision: number): number {
  const e = fromDouble(r, scratch);
  roundSignificand(r < 0, (e.se & 0x7fff) - EXP_BIAS, e.hi, e.lo, rc, precision, 1 - EXP_BIAS, EXP_BIAS);
  if (!round.inexact) return r;
  fpu.signal(FSW_PE);
  if (round.up) fpu.sw |= FSW_C1;
  else fpu.sw &= ~FSW_C1;
  return roundedValue(r < 0);
}

/** The masked overflow response (SDM vol. 1, 4.9.1.4): infinity or the largest finite value by RC. */
export function overflowResult(fpu: Fpu, neg: boolean, rc: number, precision: number, emax: number): number {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
  if (toInf) {
    fpu.sw |= FSW_C1;
    return neg ? -Infinity : Infinity;
  }
  fpu.sw &= ~FSW_C1;
  const m = maxFinite(precision, emax);
  return neg ? -m : m;
}

