import { describe, expect, it } from 'vitest';
import {
  classify,
  Ext80,
  fromDouble,
  fromInt64,
  intFits,
  intResult,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_QNAN,
  K_SNAN,
  K_UNSUPPORTED,
  K_ZERO,
  RC_CHOP,
  RC_DOWN,
  RC_NEAREST,
  RC_UP,
  toDouble,
  toInt64,
} from './float80.js';

const hex = (e: Ext80): string => `${e.se.toString(16)}:${e.hi.toString(16).padStart(8, '0')}${e.lo.toString(16).padStart(8, '0')}`;

describe('80-bit extended format', () => {
  it('converts doubles exactly, including double denormals (normal in 80 bits) and signed zeros', () => {
    const e = new Ext80();
    expect(hex(fromDouble(1, e))).toBe('3fff:8000000000000000');
    expect(hex(fromDouble(-2.5, e))).toBe('c000:a000000000000000');
    expect(hex(fromDouble(Math.PI, e))).toBe('4000:c90fdaa22168c000');
    expect(hex(fromDouble(5e-324, e))).toBe(`${(16383 - 1074).toString(16)}:8000000000000000`);
    expect(hex(fromDouble(-0, e))).toBe('8000:0000000000000000');
    expect(hex(fromDouble(-Infinity, e))).toBe('ffff:8000000000000000');
    for (const x of [1, -2.5, Math.PI, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3, -1e-300]) {
      fromDouble(x, e);
      expect(toDouble(e.se, e.hi, e.lo)).toBe(x);
    }
  });

  it('rounds 64-bit significands to the nearest double, ties to even', () => {
    // 1 + 2^-53 (a tie between 1 and 1 + 2^-52): to even, 1
    expect(toDouble(0x3fff, 0x80000000, 0x400)).toBe(1);
    // 1 + 2^-52 + 2^-53: a tie, to even = 1 + 2^-51
    expect(toDouble(0x3fff, 0x80000000, 0xc00)).toBe(1 + 2 ** -51);
    // just above the tie rounds up
    expect(toDouble(0x3fff, 0x80000000, 0x401)).toBe(1 + 2 ** -52);
    // beyond the double range
    expect(toDouble(0x7ffe, 0xffffffff, 0xffffffff)).toBe(Infinity);
    // an 80-bit denormal is far below the double range
    expect(Object.is(toDouble(0x8000, 0, 1), -0)).toBe(true);
    // into double denormals: one rounding at the denormal's precision
    expect(toDouble(16383 - 1074, 0x80000000, 0)).toBe(5e-324);
    expect(toDouble(16383 - 1075, 0xc0000000, 0)).toBe(5e-324);
  });

  it('classifies every encoding, with unnormals and pseudo-NaNs unsupported', () => {
    expect(classify(0x3fff, 0x80000000, 0)).toBe(K_NORMAL);
    expect(classify(0x3fff, 0x40000000, 0)).toBe(K_UNSUPPORTED); // unnormal
    expect(classify(0x7fff, 0x00000000, 1)).toBe(K_UNSUPPORTED); // pseudo-NaN
    expect(classify(0x7fff, 0x00000000, 0)).toBe(K_UNSUPPORTED); // pseudo-infinity
    expect(classify(0x7fff, 0x80000000, 0)).toBe(K_INF);
    expect(classify(0xffff, 0xc0000000, 0)).toBe(K_QNAN);
    expect(classify(0x7fff, 0xa0000000, 0)).toBe(K_SNAN);
    expect(classify(0x0000, 0x80000000, 0)).toBe(K_DENORMAL); // pseudo-denormal
    expect(classify(0x8000, 0, 1)).toBe(K_DENORMAL);
    expect(classify(0x8000, 0, 0)).toBe(K_ZERO);
  });

  it('converts to 64-bit integers under each rounding mode', () => {
    const e = new Ext80();
    const cases: [number, number, number, number, number][] = [
      // value, nearest, down, up, chop
      [2.5, 2, 2, 3, 2],
      [-2.5, -2, -3, -2, -2],
      [3.5, 4, 3, 4, 3],
      [-0.25, 0, -1, 0, 0],
      [1.75, 2, 1, 2, 1],
    ];
    for (const [x, ...want] of cases) {
      [RC_NEAREST, RC_DOWN, RC_UP, RC_CHOP].forEach((rc, i) => {
        fromDouble(x, e);
        toInt64(e.se, e.hi, e.lo, rc);
        const v = (intResult.hi * 2 ** 32 + intResult.lo) * (intResult.neg ? -1 : 1);
        expect(v + 0, `${x} rc=${rc}`).toBe(want[i]);
        expect(intResult.inexact).toBe(true);
      });
    }
  });

  it('converts 64-bit integers exactly and checks the integer ranges', () => {
    const e = new Ext80();
    expect(hex(fromInt64(false, 0x7fffffff, 0xffffffff, e))).toBe('403d:fffffffffffffffe');
    expect(hex(fromInt64(true, 0x80000000, 0, e))).toBe('c03e:8000000000000000');
    toInt64(0xc03e, 0x80000000, 0, RC_NEAREST);
    expect(intFits(64)).toBe(true);
    toInt64(0x403e, 0x80000000, 0, RC_NEAREST);
    expect(intFits(64)).toBe(false);
    fromDouble(32767.5, e);
    toInt64(e.se, e.hi, e.lo, RC_UP);
    expect(intFits(16)).toBe(false);
    fromDouble(-32768.4, e);
    toInt64(e.se, e.hi, e.lo, RC_NEAREST);
    expect(intFits(16)).toBe(true);
  });
});
