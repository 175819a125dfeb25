/**
 * The x87 80-bit extended format (Intel SDM vol. 1, 4.2.2 and 8.2): a sign bit and 15-bit biased
 * exponent (`se`), and a 64-bit significand with an explicit integer bit, held as two unsigned
 * 32-bit halves (`hi`, `lo`). Conversions to and from doubles and integers are exact where the
 * target can represent the value and otherwise rounded as the rounding-control field says; nothing
 * here allocates (results go to a caller-owned `Ext80` or to the `round` record below).
 */

/** An 80-bit value: sign and biased exponent, significand high and low halves (unsigned). */
export class Ext80 {
  se = 0;
  hi = 0;
  lo = 0;

  set(se: number, hi: number, lo: number): this {
    this.se = se & 0xffff;
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  copy(o: Ext80): this {
    return this.set(o.se, o.hi, o.lo);
  }
}

export const EXP_BIAS = 16383;
export const EXP_MAX = 0x7fff;
const J_BIT = 0x80000000;
const QUIET_BIT = 0x40000000;

/** Rounding-control field values (FCW bits 10-11). */
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_CHOP = 3;

/** What a value is, as FXAM and the operand checks see it. */
export const K_NORMAL = 0;
export const K_ZERO = 1;
export const K_INF = 2;
export const K_QNAN = 3;
export const K_SNAN = 4;
/** Unnormals, pseudo-NaNs and pseudo-infinities: invalid operands on the 387 and later. */
export const K_UNSUPPORTED = 5;
/** Exponent 0 with a non-zero significand (denormals and pseudo-denormals). */
export const K_DENORMAL = 6;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const TWO32 = 4294967296;
const TWO64 = TWO32 * TWO32;

/** 2^n for any integer n a double can hold (0 below 2^-1074, Infinity above 2^1023), exactly. */
export function pow2(n: number): number {
  if (n > 1023) return Infinity;
  if (n >= -1022) {
    u32[0] = 0;
    u32[1] = (n + 1023) << 20;
    return f64[0];
  }
  if (n < -1074) return 0;
  return pow2(n + 64) * pow2(-64);
}

/** The kind of an 80-bit value. */
export function classify(se: number, hi: number, lo: number): number {
  const e = se & EXP_MAX;
  const j = (hi & J_BIT) !== 0;
  if (e === EXP_MAX) {
    if (!j) return K_UNSUPPORTED;
    if ((hi & 0x7fffffff) === 0 && lo === 0) return K_INF;
    return (hi & QUIET_BIT) !== 0 ? K_QNAN : K_SNAN;
  }
  if (e === 0) return hi === 0 && lo === 0 ? K_ZERO : K_DENORMAL;
  return j ? K_NORMAL : K_UNSUPPORTED;
}

/** The kind of a double (as an 80-bit value it is never denormal or unsupported; NaNs are quiet). */
export function classifyDouble(x: number): number {
  if (x === 0) return K_ZERO;
  if (x !== x) return K_QNAN;
  if (x === Infinity || x === -Infinity) return K_INF;
  return K_NORMAL;
}

/** Writes the exact 80-bit form of double `x` to `out` (NaN payloads kept in the top bits). */
export function fromDouble(x: number, out: Ext80): Ext80 {
  f64[0] = x;
  const lo32 = u32[0];
  const hi32 = u32[1];
  const sign = (hi32 >>> 31) << 15;
  const e = (hi32 >>> 20) & 0x7ff;
  const fracHi = hi32 & 0xfffff;
  if (e === 0x7ff) return out.set(sign | EXP_MAX, J_BIT | (fracHi << 11) | (lo32 >>> 21), lo32 << 11);
  if (e === 0) {
    if (fracHi === 0 && lo32 === 0) return out.set(sign, 0, 0);
    fromDouble(x * TWO64, out); // a double denormal is a normal number in 80 bits
    out.se -= 64;
    return out;
  }
  return out.set(sign | (e - 1023 + EXP_BIAS), J_BIT | (fracHi << 11) | (lo32 >>> 21), lo32 << 11);
}

/** The result of the last `roundSignificand` call (a module record, so nothing is allocated). */
export const round = {
  /** The rounded magnitude's significand as an integer (at most 2^precision). */
  m: 0,
  /** Unbiased exponent of the lowest kept bit: the value is m * 2^e. */
  e: 0,
  inexact: false,
  /** The magnitude was rounded up (the x87's C1 after an inexact result). */
  up: false,
  /** Tiny before rounding (below the format's smallest normal). */
  tiny: false,
  /** The rounded value exceeds the format's largest finite value. */
  overflow: false,
};

/**
 * Rounds the finite, non-zero 80-bit magnitude (hi, lo) * 2^(exp - 63) — `exp` unbiased, the
 * significand need not be normalized — to `precision` bits with exponents in [emin, emax] (gradual
 * underflow below emin), the way rounding control `rc` says for a value of sign `neg`. The result
 * is in `round`.
 */
export function roundSignificand(neg: boolean, exp: number, hi: number, lo: number, rc: number, precision: number, emin: number, emax: number): void {
  // Normalize so the leading one is bit 63.
  if (hi === 0) {
    hi = lo;
    lo = 0;
    exp -= 32;
  }
  const lz = Math.clz32(hi);
  if (lz !== 0) {
    hi = ((hi << lz) | (lo >>> (32 - lz))) >>> 0;
    lo = (lo << lz) >>> 0;
    exp -= lz;
  }
  round.tiny = exp < emin;
  // Bits to drop from the 64: fewer kept bits below emin (gradual underflow).
  let k = 64 - precision + (exp < emin ? emin - exp : 0);
  if (k > 65) k = 65;
  let kept: number;
  let restGtHalf: boolean;
  let restEqHalf: boolean;
  let restZero: boolean;
  if (k < 32) {
    kept = hi * pow2(32 - k) + (lo >>> k);
    const rest = k === 0 ? 0 : lo & ((1 << k) - 1) >>> 0;
    const half = k === 0 ? 1 : 2 ** (k - 1);
    restGtHalf = k !== 0 && rest > half;
    restEqHalf = k !== 0 && rest === half;
    restZero = rest === 0;
  } else if (k === 32) {
    kept = hi;
    restGtHalf = lo > J_BIT;
    restEqHalf = lo === J_BIT;
    restZero = lo === 0;
  } else if (k < 64) {
    const j = k - 32;
    kept = hi >>> j;
    const restHi = (hi & ((1 << j) - 1)) >>> 0;
    const halfHi = 2 ** (j - 1);
    restGtHalf = restHi > halfHi || (restHi === halfHi && lo !== 0);
    restEqHalf = restHi === halfHi && lo === 0;
    restZero = restHi === 0 && lo === 0;
  } else if (k === 64) {
    kept = 0;
    restGtHalf = hi > J_BIT || (hi === J_BIT && lo !== 0);
    restEqHalf = hi === J_BIT && lo === 0;
    restZero = false;
  } else {
    kept = 0;
    restGtHalf = false;
    restEqHalf = false;
    restZero = false;
  }
  let up: boolean;
  switch (rc) {
    case RC_NEAREST: up = restGtHalf || (restEqHalf && kept % 2 === 1); break;
    case RC_DOWN: up = neg && !restZero; break;
    case RC_UP: up = !neg && !restZero; break;
    default: up = false; break;
  }
  round.inexact = !restZero;
  round.up = up;
  round.m = up ? kept + 1 : kept;
  round.e = exp - 63 + k;
  // The largest finite value is (2^precision - 1) * 2^(emax - precision + 1).
  const top = round.m >= 2 ** precision ? round.e + precision : round.e + precision - 1;
  round.overflow = round.m !== 0 && top > emax;
}

/** Precision and exponent range of the formats values are rounded to. */
export const DOUBLE_FORMAT = { precision: 53, emin: -1022, emax: 1023 } as const;
export const SINGLE_FORMAT = { precision: 24, emin: -126, emax: 127 } as const;

/** The largest finite value of a format (for overflow under directed rounding). */
export function maxFinite(precision: number, emax: number): number {
  return (2 - pow2(1 - precision)) * pow2(emax);
}

/**
 * The double nearest an 80-bit value (round to nearest even; unsupported encodings give NaN, values
 * beyond the double range give ±Infinity, 80-bit denormals give ±0). Used for register arithmetic.
 */
export function toDouble(se: number, hi: number, lo: number): number {
  const neg = (se & 0x8000) !== 0;
  const e = se & EXP_MAX;
  if (e === EXP_MAX) {
    if ((hi & J_BIT) === 0) return NaN;
    if ((hi & 0x7fffffff) === 0 && lo === 0) return neg ? -Infinity : Infinity;
    return NaN;
  }
  if (hi === 0 && lo === 0) return neg ? -0 : 0;
  if (e !== 0 && (hi & J_BIT) === 0) return NaN;
  roundSignificand(neg, (e === 0 ? 1 : e) - EXP_BIAS, hi, lo, RC_NEAREST, 53, -1022, 1023);
  if (round.overflow) return neg ? -Infinity : Infinity;
  return roundedValue(neg);
}

/** The rounded value of the last `roundSignificand` call as a double, with its sign. */
export function roundedValue(neg: boolean): number {
  let v: number;
  if (round.e >= -1074) v = round.m * pow2(round.e);
  else v = round.m * pow2(round.e + 64) * pow2(-64);
  return neg ? -v : v;
}

/**
 * Integer conversion of an 80-bit finite value under rounding control: the result's magnitude is
 * in `intResult` (hi, lo halves) with `neg`; `inexact`/`up` say what rounding did; `big` is set
 * when the magnitude does not fit in 64 bits.
 */
export const intResult = { hi: 0, lo: 0, neg: false, inexact: false, up: false, big: false };

export function toInt64(se: number, hi: number, lo: number, rc: number): void {
  const neg = (se & 0x8000) !== 0;
  const e = se & EXP_MAX;
  intResult.neg = neg;
  intResult.big = false;
  if (hi === 0 && lo === 0) {
    intResult.hi = 0;
    intResult.lo = 0;
    intResult.inexact = false;
    intResult.up = false;
    return;
  }
  const shift = 63 - (e - EXP_BIAS); // bits below the binary point
  if (shift <= 0) {
    // 2^63 and up: an integer already; only −2^63 (shift 0) fits a signed 64-bit integer
    intResult.big = shift < 0;
    intResult.hi = hi;
    intResult.lo = lo;
    intResult.inexact = false;
    intResult.up = false;
    return;
  }
  let kHi: number;
  let kLo: number;
  let gt: boolean;
  let eq: boolean;
  let zero: boolean;
  if (shift >= 66) {
    kHi = 0;
    kLo = 0;
    gt = false;
    eq = false;
    zero = false;
  } else if (shift >= 64) {
    kHi = 0;
    kLo = 0;
    if (shift === 64) {
      gt = hi > J_BIT || (hi === J_BIT && lo !== 0);
      eq = hi === J_BIT && lo === 0;
    } else {
      gt = false;
      eq = false;
    }
    zero = false;
  } else if (shift >= 32) {
    const j = shift - 32;
    kHi = 0;
    kLo = j === 0 ? hi : hi >>> j;
    const restHi = j === 0 ? 0 : (hi & ((1 << j) - 1)) >>> 0;
    if (j === 0) {
      gt = lo > J_BIT;
      eq = lo === J_BIT;
    } else {
      const halfHi = 2 ** (j - 1);
      gt = restHi > halfHi || (restHi === halfHi && lo !== 0);
      eq = restHi === halfHi && lo === 0;
    }
    zero = restHi === 0 && lo === 0;
  } else {
    kHi = hi >>> shift;
    kLo = ((hi << (32 - shift)) | (lo >>> shift)) >>> 0;
    const rest = (lo & ((1 << shift) - 1)) >>> 0;
    const half = 2 ** (shift - 1);
    gt = rest > half;
    eq = rest === half;
    zero = rest === 0;
  }
  let up: boolean;
  switch (rc) {
    case RC_NEAREST: up = gt || (eq && (kLo & 1) === 1); break;
    case RC_DOWN: up = neg && !zero; break;
    case RC_UP: up = !neg && !zero; break;
    default: up = false; break;
  }
  if (up) {
    kLo = (kLo + 1) >>> 0;
    if (kLo === 0) kHi = (kHi + 1) >>> 0;
    if (kHi === 0 && kLo === 0) intResult.big = true;
  }
  intResult.hi = kHi;
  intResult.lo = kLo;
  intResult.inexact = !zero;
  intResult.up = up;
}

/** True when the magnitude in `intResult` fits a signed integer of `bits` (16, 32 or 64). */
export function intFits(bits: number): boolean {
  const { hi, lo, neg, big } = intResult;
  if (big) return false;
  if (bits === 64) return hi < J_BIT || (neg && hi === J_BIT && lo === 0);
  if (hi !== 0) return false;
  const limit = bits === 32 ? J_BIT : 0x8000;
  return lo < limit || (neg && lo === limit);
}

/** The 80-bit value of the signed 64-bit integer with magnitude (hi, lo) and sign `neg`, exactly. */
export function fromInt64(neg: boolean, hi: number, lo: number, out: Ext80): Ext80 {
  hi >>>= 0;
  lo >>>= 0;
  const sign = neg ? 0x8000 : 0;
  if (hi === 0 && lo === 0) return out.set(sign, 0, 0);
  let exp = EXP_BIAS + 63;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    exp -= 32;
  }
  const lz = Math.clz32(hi);
  if (lz !== 0) {
    hi = (hi << lz) | (lo >>> (32 - lz));
    lo <<= lz;
    exp -= lz;
  }
  return out.set(sign | exp, hi, lo);
}

/** Two's complement negation of a 64-bit value held as halves, into `negResult`. */
export function neg64(hi: number, lo: number): void {
  negResult.lo = (~lo + 1) >>> 0;
  negResult.hi = (~hi + (negResult.lo === 0 ? 1 : 0)) >>> 0;
}
export const negResult = { hi: 0, lo: 0 };

/** The integer value of a double known to fit 53 bits, split into 32-bit halves. */
export function splitU53(v: number): void {
  negResult.hi = Math.floor(v / TWO32) >>> 0;
  negResult.lo = (v - negResult.hi * TWO32) >>> 0;
}

/** The QNaN indefinite: sign 1, exponent all ones, significand C000000000000000. */
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_HI = 0xc0000000;
