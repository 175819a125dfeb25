import { describe, expect, it } from 'vitest';
import { fpuMachine, st, X } from '../fpu/fpu-test-machine.js';
import { FSW_C1, FSW_ES, FSW_IE, FSW_OE, FSW_PE, FSW_ZE } from '../fpu/fpu.js';

const next = (x: number): number => {
  const b = new Float64Array([x]);
  const u = new BigUint64Array(b.buffer);
  u[0] += x >= 0 ? 1n : -1n;
  return b[0];
};
const prev = (x: number): number => -next(-x);

/** Runs `op` (a memory-operand instruction on offset 8) on ST(0) = a, m64 = b under control word `cw`. */
function arith(op: (off: number) => number[], a: number, b: number, cw = 0x037f): { r: number; sw: number } {
  const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld64(0), ...op(8), ...X.fnstswAx, ...X.fstp64(16)]);
  m.u16(64, cw);
  m.f64(0, a);
  m.f64(8, b);
  m.run();
  return { r: m.f64(16), sw: m.cpu.getState().eax & 0xffff };
}

describe('x87 arithmetic', () => {
  it('rounds +, −, ×, ÷ as RC says (PE set, C1 = rounded up)', () => {
    const third = 1 / 3;
    const rn = arith(X.fdiv64, 1, 3, 0x037f);
    const rd = arith(X.fdiv64, 1, 3, 0x077f);
    const ru = arith(X.fdiv64, 1, 3, 0x0b7f);
    const rz = arith(X.fdiv64, 1, 3, 0x0f7f);
    expect([rn.r, rd.r, ru.r, rz.r]).toEqual([third, third, next(third), third]);
    expect(ru.sw & (FSW_PE | FSW_C1)).toBe(FSW_PE | FSW_C1);
    expect(rd.sw & (FSW_PE | FSW_C1)).toBe(FSW_PE);
    expect(arith(X.fadd64, 0.1, 0.2, 0x077f).r).toBe(prev(0.1 + 0.2));
    expect(arith(X.fadd64, -0.1, -0.2, 0x0f7f).r).toBe(-prev(0.1 + 0.2));
    expect(arith(X.fmul64, 0.1, 3, 0x0b7f).r).toBe(0.30000000000000004);
    expect(arith(X.fmul64, 0.1, 3, 0x077f).r).toBe(0.3);
    expect(arith(X.fsub64, 1, 1e-30, 0x077f).r).toBe(prev(1));
    const exact = arith(X.fadd64, 1.5, 2.25);
    expect([exact.r, exact.sw & FSW_PE]).toEqual([3.75, 0]);
  });

  it('an exact zero sum is +0, or −0 when rounding down', () => {
    expect(Object.is(arith(X.fsub64, 2, 2).r, 0)).toBe(true);
    expect(Object.is(arith(X.fsub64, 2, 2, 0x077f).r, -0)).toBe(true);
    expect(Object.is(arith(X.fadd64, -0, -0).r, -0)).toBe(true);
  });

  it('precision control single rounds results to 24 bits', () => {
    expect(arith(X.fdiv64, 1, 3, 0x007f).r).toBe(Math.fround(1 / 3));
    expect(arith(X.fdiv64, 1, 3, 0x0c7f).r).toBe(0.333333313465118408203125);
  });

  it('masked divide by zero gives a signed infinity and ZE; invalid operations give the indefinite', () => {
    const z = arith(X.fdiv64, -1, 0);
    expect([z.r, z.sw & 0x3f]).toEqual([-Infinity, FSW_ZE]);
    const inv = arith(X.fdiv64, 0, 0);
    expect(Number.isNaN(inv.r)).toBe(true);
    expect(inv.sw & 0x3f).toBe(FSW_IE);
    expect(arith(X.fsub64, Infinity, Infinity).sw & FSW_IE).toBe(FSW_IE);
    expect(arith(X.fmul64, Infinity, 0).sw & FSW_IE).toBe(FSW_IE);
    expect(arith(X.fadd64, Infinity, -5).r).toBe(Infinity);
  });

  it('an unmasked exception leaves the destination and sets ES and B', () => {
    const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld64(0), ...X.fdiv64(8), ...X.fnstswAx]);
    m.u16(64, 0x037b); // ZE unmasked
    m.f64(0, 7);
    m.f64(8, 0);
    m.run();
    expect(st(m, 0)).toBe(7);
    expect(m.cpu.getState().eax & 0xffff & (FSW_ES | 0x8000 | FSW_ZE)).toBe(FSW_ES | 0x8000 | FSW_ZE);
  });

  it('a popping form with an unmasked exception neither writes nor pops', () => {
    // FDIVP ST(1), ST(0) (DE F9): ST(1) = ST(1) / ST(0) = 1 / 0
    const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld1, ...X.fldz, 0xde, 0xf9, ...X.fnstswAx]);
    m.u16(64, 0x037b); // ZE unmasked
    m.run();
    expect(m.cpu.fpu.top).toBe(6);
    expect([st(m, 0), st(m, 1)]).toEqual([0, 1]);
    expect(m.cpu.getState().eax & (FSW_ES | FSW_ZE)).toBe(FSW_ES | FSW_ZE);
  });

  it('overflow beyond the double range: OE and PE, infinity or the largest double by RC', () => {
    const o = arith(X.fmul64, 1e300, 1e300);
    expect([o.r, o.sw & (FSW_OE | FSW_PE)]).toEqual([Infinity, FSW_OE | FSW_PE]);
    expect(arith(X.fmul64, 1e300, 1e300, 0x0f7f).r).toBe(Number.MAX_VALUE);
  });

  it('NaN operands: QNaNs propagate, SNaNs are invalid and quieted, the larger significand wins', () => {
    const m = fpuMachine([...X.fninit, ...X.fld64(0), ...X.fadd64(8), ...X.fstp64(16), ...X.fld64(24), ...X.fadd64(0), ...X.fstp64(32), ...X.fnstswAx]);
    m.u32(0, 0x456);
    m.u32(4, 0x7ff00000); // SNaN
    m.u32(8, 0x123);
    m.u32(12, 0x7ff80000); // QNaN
    m.f64(24, 1);
    m.run();
    expect([m.u32(20), m.u32(16)]).toEqual([0x7ff80000, 0x456]);
    expect([m.u32(36), m.u32(32)]).toEqual([0x7ff80000, 0x456]);
    expect(m.cpu.getState().eax & FSW_IE).toBe(FSW_IE);
  });

  it('register forms, reverse forms and pops', () => {
    const m = fpuMachine([...X.fninit, ...X.fld64(0), ...X.fld64(8), ...X.fsubSt0(1), ...X.fstSt(2), ...X.faddp(1), ...X.fstp64(16), ...X.fnstswAx]);
    m.f64(0, 10);
    m.f64(8, 4);
    m.run();
    // ST0 = 4 - 10 = -6; ST1 = 10 + (-6) = 4 after FADDP
    expect(m.f64(16)).toBe(4);
    expect((m.cpu.getState().eax >> 11) & 7).toBe(0);
  });

  it('FSQRT rounds by RC; the square root of a negative number is invalid', () => {
    expect(arith(() => X.fsqrt, 2, 0).r).toBe(Math.SQRT2);
    expect(arith(() => X.fsqrt, 2, 0, 0x077f).r).toBe(prev(Math.SQRT2));
    expect(arith(() => X.fsqrt, 2.25, 0).r).toBe(1.5);
    const neg = arith(() => X.fsqrt, -4, 0);
    expect([Number.isNaN(neg.r), neg.sw & FSW_IE]).toEqual([true, FSW_IE]);
    expect(Object.is(arith(() => X.fsqrt, -0, 0).r, -0)).toBe(true);
  });

  it('FRNDINT rounds by RC on the full 64-bit significand', () => {
    const r = (x: number, rc: number): number => arith(() => X.frndint, x, 0, 0x037f | (rc << 10)).r;
    expect([r(2.5, 0), r(2.5, 1), r(2.5, 2), r(2.5, 3)]).toEqual([2, 2, 3, 2]);
    expect([r(-2.5, 0), r(-2.5, 1), r(-2.5, 2), r(-2.5, 3)]).toEqual([-2, -3, -2, -2]);
    expect(Object.is(r(-0.25, 0), -0)).toBe(true);
    expect(r(2 ** 60 + 256, 0)).toBe(2 ** 60 + 256);
    const m = fpuMachine([...X.fninit, ...X.fld80(0), ...X.frndint, ...X.fstp80(16)]);
    m.x80(0, [0x403d, 0xffffffff, 0xffffffff]); // 2^63 - 0.5
    m.run();
    expect(m.x80(16)).toEqual([0x403e, 0x80000000, 0]);
  });

  it('FSCALE and FXTRACT work on the 80-bit exponent exactly', () => {
    const m = fpuMachine([...X.fninit, ...X.fld64(0), ...X.fld80(16), ...X.fscale, ...X.fstp80(32), ...X.fld80(16), ...X.fxtract, ...X.fstp80(48), ...X.fstp64(64)]);
    m.f64(0, -3);
    m.x80(16, [0xc000, 0xc90fdaa2, 0x2168c235]); // -pi
    m.run();
    expect(m.x80(32)).toEqual([0xbffd, 0xc90fdaa2, 0x2168c235]);
    expect(m.x80(48)).toEqual([0xbfff, 0xc90fdaa2, 0x2168c235]);
    expect(m.f64(64)).toBe(1);
  });

  it('FXTRACT of zero: ZE, significand 0 and exponent −∞', () => {
    const m = fpuMachine([...X.fninit, ...X.fldz, ...X.fxtract, ...X.fstp64(0), ...X.fstp64(8), ...X.fnstswAx]);
    m.run();
    expect([m.f64(0), m.f64(8)]).toEqual([0, -Infinity]);
    expect(m.cpu.getState().eax & FSW_ZE).toBe(FSW_ZE);
  });

  it('FPREM truncates and FPREM1 rounds the quotient; C0, C3, C1 hold its low bits', () => {
    const rem = (x: number, y: number, op: number[]): [number, number, number?] => {
      const m = fpuMachine([...X.fninit, ...X.fld64(8), ...X.fld64(0), ...op, ...X.fnstswAx, ...X.fstp64(16)]);
      m.f64(0, x);
      m.f64(8, y);
      m.run();
      const sw = m.cpu.getState().eax;
      const q = (((sw >> 8) & 1) << 2) | (((sw >> 14) & 1) << 1) | ((sw >> 9) & 1);
      return (sw & 0x400) !== 0 ? [m.f64(16), q, 1] : [m.f64(16), q];
    };
    expect(rem(10, 3, X.fprem)).toEqual([1, 3]);
    expect(rem(11, 3, X.fprem)).toEqual([2, 3]);
    expect(rem(11, 3, X.fprem1)).toEqual([-1, 4]);
    expect(rem(-11, 3, X.fprem1)).toEqual([1, 4]);
    expect(rem(Math.PI, 1.5, X.fprem)).toEqual([Math.PI % 1.5, 2]);
    expect(rem(1e300, 7, X.fprem)[2]).toBe(1); // partial: C2 set, more steps needed
  });

  it('FPREM reduces huge operands in steps of C2 = 1 until done', () => {
    const code = [...X.fninit, ...X.fld64(8), ...X.fld64(0)];
    // loop: FPREM; FNSTSW AX; SAHF; JP loop
    code.push(...X.fprem, ...X.fnstswAx, 0x9e, 0x7a, 0xf9);
    const m = fpuMachine([...code, ...X.fstp64(16)]);
    m.f64(0, 1e300);
    m.f64(8, 7);
    m.run(100_000);
    expect(m.f64(16)).toBe(1e300 % 7);
    expect(1e300 % 7).not.toBe(0);
  });
});
