import { describe, expect, it } from 'vitest';
import { fpuMachine, X } from '../fpu/fpu-test-machine.js';
import { FSW_IE } from '../fpu/fpu.js';
import { CF, PF, ZF } from '../flags.js';

const C0 = 0x100;
const C2 = 0x400;
const C3 = 0x4000;

/** FCOM m64 / FUCOM ST(1) etc.: ST(0) = a, the other operand b; returns C3/C2/C0 and IE. */
function cc(code: (off: number) => number[], a: number, b: number): number {
  const m = fpuMachine([...X.fninit, ...X.fld64(8), ...X.fld64(0), ...code(8), ...X.fnstswAx]);
  m.f64(0, a);
  m.f64(8, b);
  m.run();
  return m.cpu.getState().eax & (C3 | C2 | C0 | FSW_IE);
}

describe('x87 compares', () => {
  it('FCOM sets C3/C2/C0 for greater, less, equal; a NaN is unordered and invalid', () => {
    expect(cc(X.fcom64, 3, 2)).toBe(0);
    expect(cc(X.fcom64, 2, 3)).toBe(C0);
    expect(cc(X.fcom64, -0, 0)).toBe(C3);
    expect(cc(X.fcom64, NaN, 1)).toBe(C3 | C2 | C0 | FSW_IE);
  });

  it('FUCOM raises IE only for SNaNs; FCOMPP pops twice', () => {
    expect(cc(() => X.fucom(1), NaN, 1)).toBe(C3 | C2 | C0);
    const m = fpuMachine([...X.fninit, ...X.fld64(0), ...X.fld1, ...X.fcompp, ...X.fnstswAx]);
    m.f64(0, 5);
    m.run();
    const sw = m.cpu.getState().eax;
    expect(sw & (C3 | C2 | C0)).toBe(C0);
    expect((sw >> 11) & 7).toBe(0);
  });

  it('FCOMI/FUCOMI set ZF, PF, CF and clear OF, SF, AF; FCOMIP pops', () => {
    const flags = (ops: number[], a: number, b: number): [number, number] => {
      const m = fpuMachine([...X.fninit, ...X.fld64(8), ...X.fld64(0), 0xb8, 0xff, 0x7f, 0x40, ...ops, 0x9c, 0x58]);
      // MOV AX, 7FFF; INC AX sets OF, SF, AF before the compare; PUSHF; POP AX
      m.f64(0, a);
      m.f64(8, b);
      m.run();
      return [m.cpu.getState().eax & (ZF | PF | CF | 0x800 | 0x80 | 0x10), m.cpu.fpu.top];
    };
    expect(flags(X.fcomi(1), 3, 2)).toEqual([0, 6]);
    expect(flags(X.fcomi(1), 2, 3)).toEqual([CF, 6]);
    expect(flags(X.fcomip(1), 2, 2)).toEqual([ZF, 7]);
    expect(flags(X.fucomi(1), NaN, 2)).toEqual([ZF | PF | CF, 6]);
  });

  it('FTST compares with +0; FICOM with an integer', () => {
    expect(cc(() => X.ftst, -1, 0)).toBe(C0);
    expect(cc(() => X.ftst, 0, 0)).toBe(C3);
    const m = fpuMachine([...X.fninit, ...X.fld1, 0xde, 0x16, 0x10, 0x00, ...X.fnstswAx]); // FICOM word [0x10]
    m.u16(0x10, 0xffff);
    m.run();
    expect(m.cpu.getState().eax & (C3 | C2 | C0)).toBe(0);
  });

  it('FXAM reports the class and the sign of ST(0)', () => {
    const fxam = (v: [number, number, number] | null): number => {
      const m = fpuMachine([...X.fninit, ...(v ? X.fld80(0) : []), ...X.fxam, ...X.fnstswAx]);
      if (v) m.x80(0, v);
      m.run();
      return m.cpu.getState().eax & 0x4700;
    };
    expect(fxam(null)).toBe(C3 | C0); // empty
    expect(fxam([0x3fff, 0x80000000, 0])).toBe(C2); // normal
    expect(fxam([0xbfff, 0x80000000, 0])).toBe(C2 | 0x200); // negative normal
    expect(fxam([0x0000, 0, 0])).toBe(C3); // zero
    expect(fxam([0x0000, 0, 1])).toBe(C3 | C2); // denormal
    expect(fxam([0x7fff, 0x80000000, 0])).toBe(C2 | C0); // infinity
    expect(fxam([0x7fff, 0xc0000000, 0])).toBe(C0); // NaN
    expect(fxam([0x3fff, 0x40000000, 0])).toBe(0); // unnormal: unsupported
  });
});
