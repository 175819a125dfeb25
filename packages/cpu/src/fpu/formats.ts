import type { Operand } from './arith.js';
import {
  classify,
  DOUBLE_FORMAT,
  EXP_BIAS,
  EXP_MAX,
  type Ext80,
  fromDouble,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_QNAN,
  K_SNAN,
  K_UNSUPPORTED,
  K_ZERO,
  round,
  roundedValue,
  roundSignificand,
  SINGLE_FORMAT,
} from './float80.js';
import { type Fpu, FSW_C1, FSW_DE, FSW_IE, FSW_OE, FSW_PE, FSW_UE } from './fpu.js';
import { overflowResult } from './rounding.js';

const f32 = new Float32Array(1);
const f32u = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const f64u = new Uint32Array(f64.buffer);

/**
 * Decodes a single-precision value into `o`. NaNs keep their payload in `o.x` (an SNaN stays
 * signaling: the caller raises IE). Returns true when the value is a denormal (the caller raises DE).
 */
export function singleOperand(bits: number, o: Operand): boolean {
  const e = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (e === 0xff && frac !== 0) {
    o.x.set(((bits >>> 31) << 15) | EXP_MAX, 0x80000000 | (frac << 8), 0);
    o.k = (frac & 0x400000) !== 0 ? K_QNAN : K_SNAN;
    o.v = NaN;
    return false;
  }
  f32u[0] = bits;
  o.v = f32[0];
  o.k = e === 0xff ? K_INF : e === 0 && frac === 0 ? K_ZERO : K_NORMAL;
  return e === 0 && frac !== 0;
}

/** Decodes a double-precision value (low and high halves) into `o`; see `singleOperand`. */
export function doubleOperand(lo: number, hi: number, o: Operand): boolean {
  const e = (hi >>> 20) & 0x7ff;
  const fracHi = hi & 0xfffff;
  if (e === 0x7ff && (fracHi !== 0 || lo !== 0)) {
    o.x.set(((hi >>> 31) << 15) | EXP_MAX, 0x80000000 | (fracHi << 11) | (lo >>> 21), lo << 11);
    o.k = (fracHi & 0x80000) !== 0 ? K_QNAN : K_SNAN;
    o.v = NaN;
    return false;
  }
  f64u[0] = lo;
  f64u[1] = hi;
  o.v = f64[0];
  o.k = e === 0x7ff ? K_INF : e === 0 && fracHi === 0 && lo === 0 ? K_ZERO : K_NORMAL;
  return e === 0 && (fracHi !== 0 || lo !== 0);
}

/**
 * Loads a memory floating-point operand into a register (FLD m32/m64): an SNaN raises IE and is
 * quieted, a denormal raises DE. Returns false when an unmasked exception suppresses the load.
 */
export function loadConverted(fpu: Fpu, o: Operand, denormal: boolean, out: Ext80): boolean {
  if (o.k === K_SNAN) {
    if (fpu.signal(FSW_IE)) return false;
    o.x.hi |= 0x40000000;
  }
  if (denormal && fpu.signal(FSW_DE)) return false;
  if (o.k === K_SNAN || o.k === K_QNAN) out.copy(o.x);
  else fromDouble(o.v, out);
  return true;
}

/** The encoded result of `encodeFloat` (bits of a single, or low/high halves of a double). */
export const encoded = { lo: 0, hi: 0 };

/**
 * Converts an 80-bit register value to single (`single` true) or double precision for FST/FSTP,
 * rounding as RC says and raising IE (SNaN, unsupported), DE, OE, UE and PE with C1. Returns false
 * when an unmasked exception forbids the store (memory is then left unchanged).
 */
export function encodeFloat(fpu: Fpu, v: Ext80, single: boolean): boolean {
  const k = classify(v.se, v.hi, v.lo);
  const neg = (v.se & 0x8000) !== 0;
  fpu.sw &= ~FSW_C1;
  let value: number;
  switch (k) {
    case K_ZERO:
      value = neg ? -0 : 0;
      break;
    case K_INF:
      value = neg ? -Infinity : Infinity;
      break;
    case K_UNSUPPORTED:
      if (fpu.signal(FSW_IE)) return false;
      encodeNaN(single, 1, 0xc0000000, 0);
      return true;
    case K_QNAN:
    case K_SNAN:
      if (k === K_SNAN && fpu.signal(FSW_IE)) return false;
      encodeNaN(single, neg ? 1 : 0, v.hi | 0x40000000, v.lo);
      return true;
    default: {
      if (k === K_DENORMAL && fpu.signal(FSW_DE)) return false;
      const fmt = single ? SINGLE_FORMAT : DOUBLE_FORMAT;
      const rc = fpu.rc();
      const exp = (k === K_DENORMAL ? 1 : v.se & EXP_MAX) - EXP_BIAS;
      roundSignificand(neg, exp, v.hi, v.lo, rc, fmt.precision, fmt.emin, fmt.emax);
      if (round.overflow) {
        if (fpu.signal(FSW_OE | FSW_PE)) return false;
        value = overflowResult(fpu, neg, rc, fmt.precision, fmt.emax);
        break;
      }
      if (round.tiny && round.inexact && fpu.signal(FSW_UE)) return false;
      if (round.inexact) {
        fpu.signal(FSW_PE);
        if (round.up) fpu.sw |= FSW_C1;
      }
      value = roundedValue(neg);
      break;
    }
  }
  if (single) {
    f32[0] = value;
    encoded.lo = f32u[0];
  } else {
    f64[0] = value;
    encoded.lo = f64u[0];
    encoded.hi = f64u[1];
  }
  return true;
}

function encodeNaN(single: boolean, sign: number, hi: number, lo: number): void {
  if (single) {
    encoded.lo = ((sign << 31) | 0x7f800000 | ((hi >>> 8) & 0x7fffff)) >>> 0;
  } else {
    encoded.hi = ((sign << 31) | 0x7ff00000 | ((hi >>> 11) & 0xfffff)) >>> 0;
    encoded.lo = ((hi << 21) | (lo >>> 11)) >>> 0;
  }
}
