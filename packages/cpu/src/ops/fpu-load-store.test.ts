import { describe, expect, it } from 'vitest';
import { fpuMachine, handlerAt, st, X } from '../fpu/fpu-test-machine.js';
import { FSW_C1, FSW_IE, FSW_PE, FSW_SF } from '../fpu/fpu.js';

const cw = (rc: number): number => 0x037f | (rc << 10);

describe('x87 loads and stores', () => {
  it('round-trips odd 80-bit values through FLD m80 / FSTP m80 bit for bit', () => {
    const values: [number, number, number][] = [
      [0x0000, 0x00000000, 0x00000001], // denormal
      [0x0000, 0x80000000, 0x00000000], // pseudo-denormal
      [0x3fff, 0x40000000, 0x12345678], // unnormal
      [0x7fff, 0xa0000000, 0x12345678], // SNaN with payload
      [0xffff, 0xc1230000, 0xdeadbeef], // QNaN with payload
      [0x7fff, 0x00000000, 0x00000005], // pseudo-NaN
      [0x7ffe, 0xffffffff, 0xffffffff], // largest finite (beyond the double range)
      [0x4000, 0xc90fdaa2, 0x2168c235], // pi to 64 bits
      [0x8000, 0x00000000, 0x00000000], // -0
    ];
    for (const v of values) {
      const m = fpuMachine([...X.fninit, ...X.fld80(0), ...X.fld(0), ...X.fstp80(16), ...X.fstp80(32), ...X.fnstswAx]);
      m.x80(0, v);
      m.run();
      expect(m.x80(16)).toEqual(v);
      expect(m.x80(32)).toEqual(v);
      expect(m.cpu.getState().eax & 0xffff).toBe(0); // no exception, TOP back to 0
    }
  });

  it('loads singles and doubles exactly; an SNaN is invalid and quieted; a denormal raises DE', () => {
    const m = fpuMachine([...X.fninit, ...X.fld64(0), ...X.fstp80(16), ...X.fld32(8), ...X.fstp80(32), ...X.fnstswAx]);
    m.u32(0, 0x00000456);
    m.u32(4, 0x7ff00000); // double SNaN
    m.u32(8, 0x00000003); // single denormal
    m.run();
    expect(m.x80(16)).toEqual([0x7fff, 0xc0000000, 0x0022b000]);
    expect(m.x80(32)).toEqual([0x3f6b, 0xc0000000, 0]);
    expect(m.cpu.getState().eax & 0x3f).toBe(FSW_IE | 2);
  });

  it('stores doubles and singles rounded by RC from all 64 bits, with PE and C1', () => {
    // 1 + 2^-60: inexact as a double; up rounds to 1 + 2^-52
    const results: number[] = [];
    for (let rc = 0; rc < 4; rc++) {
      const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld80(0), ...X.fst64(16), ...X.fstp32(24), ...X.fnstswAx]);
      m.u16(64, cw(rc));
      m.x80(0, [0x3fff, 0x80000000, 0x00000010]);
      m.run();
      results.push(m.f64(16), m.f32(24));
      expect(m.cpu.getState().eax & FSW_PE).toBe(FSW_PE);
    }
    expect(results).toEqual([1, 1, 1, 1, 1 + 2 ** -52, 1 + 2 ** -23, 1, 1]);
  });

  it('overflows on a store by RC: infinity or the largest finite value, OE and PE', () => {
    const out: number[] = [];
    for (let rc = 0; rc < 4; rc++) {
      const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld64(0), ...X.fchs, ...X.fstp32(16), ...X.fnstswAx]);
      m.u16(64, cw(rc));
      m.f64(0, 1e300);
      m.run();
      out.push(m.f32(16));
      expect(m.cpu.getState().eax & 0x28).toBe(0x28);
    }
    const maxSingle = (2 - 2 ** -23) * 2 ** 127;
    expect(out).toEqual([-Infinity, -Infinity, -maxSingle, -maxSingle]);
  });

  it('FILD m64 / FISTP m64 keep every bit of 64-bit integers', () => {
    const m = fpuMachine([...X.fninit, ...X.fild64(0), ...X.fistp64(8), ...X.fild64(16), ...X.fistp64(24), ...X.fild16(32), ...X.fistp32(40)]);
    m.u32(0, 0xffffffff);
    m.u32(4, 0x7fffffff);
    m.u32(16, 0x00000001);
    m.u32(20, 0x80000000); // -2^63 + 1
    m.u16(32, 0x8000);
    m.run();
    expect([m.u32(8), m.u32(12)]).toEqual([0xffffffff, 0x7fffffff]);
    expect([m.u32(24), m.u32(28)]).toEqual([0x00000001, 0x80000000]);
    expect(m.u32(40)).toBe(0xffff8000);
  });

  it('FIST rounds by RC; out-of-range values store the integer indefinite with IE', () => {
    const inputs = [2.5, -2.5, 3.5, -0.5, 1.75, -1.25];
    const want = [
      [2, -2, 4, 0, 2, -1],
      [2, -3, 3, -1, 1, -2],
      [3, -2, 4, 0, 2, -1],
      [2, -2, 3, 0, 1, -1],
    ];
    for (let rc = 0; rc < 4; rc++) {
      for (let i = 0; i < inputs.length; i++) {
        const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld64(0), ...X.fistp16(8), ...X.fnstswAx]);
        m.u16(64, cw(rc));
        m.f64(0, inputs[i]);
        m.run();
        expect((m.u16(8) << 16) >> 16, `rc=${rc} x=${inputs[i]}`).toBe(want[rc][i] + 0);
        expect(m.cpu.getState().eax & FSW_PE).toBe(FSW_PE);
      }
    }
    const m = fpuMachine([...X.fninit, ...X.fld64(0), ...X.fist16(8), ...X.fist32(16), ...X.fistp64(24), ...X.fnstswAx]);
    m.f64(0, 40000);
    m.run();
    expect(m.u16(8)).toBe(0x8000);
    expect(m.u32(16)).toBe(40000);
    expect(m.u32(24)).toBe(40000);
    expect(m.cpu.getState().eax & FSW_IE).toBe(FSW_IE);
  });

  it('FBLD / FBSTP: 18 packed digits, rounding by RC, the BCD indefinite when out of range', () => {
    const m = fpuMachine([...X.fninit, ...X.fbld(0), ...X.fbstp(16), ...X.fld64(32), ...X.fbstp(48), ...X.fld64(40), ...X.fbstp(64), ...X.fnstswAx]);
    [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80].forEach((b, i) => m.u8(i, b));
    m.f64(32, -1234.5);
    m.f64(40, 1e19);
    m.run();
    expect(m.x80(16)).toEqual([0x8012, 0x34567890, 0x12345678]);
    expect(m.x80(48)).toEqual([0x8000, 0, 0x1234]);
    expect(m.x80(64)).toEqual([0xffff, 0xc0000000, 0]);
    expect(m.cpu.getState().eax & (FSW_IE | FSW_PE)).toBe(FSW_IE | FSW_PE);
  });

  it('loads the constants with the last bit set by RC', () => {
    const got: number[][] = [];
    for (let rc = 0; rc < 4; rc++) {
      const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fldpi, ...X.fstp80(0), ...X.fldl2t, ...X.fstp80(16), ...X.fldl2e, ...X.fstp80(32)]);
      m.u16(64, cw(rc));
      m.run();
      got.push([m.x80(0)[2], m.x80(16)[2], m.x80(32)[2]]);
    }
    expect(got).toEqual([
      [0x2168c235, 0xcd1b8afe, 0x5c17f0bc],
      [0x2168c234, 0xcd1b8afe, 0x5c17f0bb],
      [0x2168c235, 0xcd1b8aff, 0x5c17f0bc],
      [0x2168c234, 0xcd1b8afe, 0x5c17f0bb],
    ]);
  });
});

describe('x87 register stack', () => {
  it('stack overflow: IE, SF and C1 = 1; masked, the indefinite is pushed', () => {
    const code = [...X.fninit];
    for (let i = 0; i < 9; i++) code.push(...X.fld1);
    const m = fpuMachine([...code, ...X.fnstswAx, ...X.fstp80(0)]);
    m.run();
    const sw = m.cpu.getState().eax & 0xffff;
    expect(sw & (FSW_IE | FSW_SF | FSW_C1)).toBe(FSW_IE | FSW_SF | FSW_C1);
    expect((sw >> 11) & 7).toBe(7); // the ninth push wrapped onto R7 again
    expect(m.x80(0)).toEqual([0xffff, 0xc0000000, 0]);
  });

  it('stack underflow: IE, SF and C1 = 0; the masked result is the indefinite', () => {
    const m = fpuMachine([...X.fninit, ...X.fld1, ...X.faddSt0(3), ...X.fnstswAx, ...X.fstp80(0)]);
    m.run();
    const sw = m.cpu.getState().eax & 0xffff;
    expect(sw & (FSW_IE | FSW_SF | FSW_C1)).toBe(FSW_IE | FSW_SF);
    expect(m.x80(0)).toEqual([0xffff, 0xc0000000, 0]);
  });

  it('an unmasked stack fault leaves TOP and the registers as they were', () => {
    const code = [...X.fninit, ...X.fldcw(64)];
    for (let i = 0; i < 9; i++) code.push(...X.fld1);
    const m = fpuMachine([...code, ...X.fnstswAx]);
    m.u16(64, 0x037e); // IE unmasked
    m.run();
    const sw = m.cpu.getState().eax & 0xffff;
    expect((sw >> 11) & 7).toBe(0);
    expect(sw & 0x80).toBe(0x80); // ES
    expect(st(m, 0)).toBe(1);
  });

  it('FXCH, FLD ST(i), FST ST(i), FFREE, FINCSTP/FDECSTP', () => {
    const m = fpuMachine([...X.fninit, ...X.fld1, ...X.fldpi, ...X.fxch(1), ...X.fld(1), ...X.fstSt(2), ...X.ffree(1), ...X.fincstp, ...X.fdecstp]);
    m.run();
    const fpu = m.cpu.fpu;
    expect([st(m, 0), st(m, 2)]).toEqual([Math.PI, Math.PI]);
    expect(fpu.isEmpty(1)).toBe(true);
    expect(fpu.tagWord()).toBe(0b00_11_00_11_11_11_11_11);
  });

  it('FCMOVcc copies ST(i) when the flags say so', () => {
    const m = fpuMachine([...X.fninit, ...X.fld1, ...X.fldz, ...X.stc, ...X.fcmovnb(1), ...X.fstp64(0), ...X.fldz, ...X.fcmovb(1), ...X.fstp64(8)]);
    m.run();
    expect([m.f64(0), m.f64(8)]).toEqual([0, 1]);
  });

  it('stores that fault (segment limit) change neither the stack nor the status', () => {
    for (const store of [X.fstp64(0xfffc), X.fstp32(0xfffe), X.fistp16(0xffff), X.fstp80(0xfff8), X.fbstp(0xfff8)]) {
      const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fldpi, ...X.fld64(0), ...store]);
      m.u16(64, 0x037f);
      m.f64(0, 1 / 3);
      handlerAt(m, 13, 0x300);
      m.run();
      expect(m.cpu.getState().eip).toBe(0x301);
      expect([m.cpu.fpu.top, m.cpu.fpu.statusWord(), st(m, 0)]).toEqual([6, 0x3000, 1 / 3]);
    }
  });

  it('an unmasked overflow or underflow on a memory store leaves memory unchanged', () => {
    for (const [value, cw] of [[1e300, 0x0377], [1e-300, 0x036f]]) {
      const m = fpuMachine([...X.fninit, ...X.fldcw(64), ...X.fld64(0), ...X.fstp32(16), ...X.fnstswAx]);
      m.u16(64, cw);
      m.f64(0, value);
      m.u32(16, 0x12345678);
      m.run();
      expect(m.u32(16)).toBe(0x12345678);
      expect(m.cpu.getState().eax & 0x80).toBe(0x80);
    }
  });

  it('a load that faults changes nothing (TOP, tags, status)', () => {
    const m = fpuMachine([...X.fninit, ...X.fld1, ...X.fld80(0xfffe)]);
    handlerAt(m, 13, 0x300);
    m.run();
    expect(m.cpu.getState().eip).toBe(0x301);
    expect(m.cpu.fpu.top).toBe(7);
    expect(m.cpu.fpu.statusWord()).toBe(0x3800);
  });
});
