import { describe, expect, it } from 'vitest';
import { CpuError } from '../errors.js';
import { fpuMachine, X } from './fpu-test-machine.js';
import { Ext80, fromDouble } from './float80.js';
import type { FpuState } from './state.js';

describe('FPU state in the CPU state API', () => {
  it('reports the words, the 80-bit registers, the pointers and MXCSR', () => {
    const m = fpuMachine([...X.fninit, ...X.fld80(0), ...X.fld64(16)]);
    m.x80(0, [0x7fff, 0xa0000000, 0x1234]);
    m.f64(16, -2.5);
    m.run();
    const s = m.cpu.getState().fpu;
    expect([s.controlWord, s.statusWord, s.tagWord]).toEqual([0x037f, 0x3000, 0x8fff]);
    expect(s.registers[7]).toEqual({ signExponent: 0x7fff, significandHigh: 0xa0000000, significandLow: 0x1234 });
    expect(s.registers[6]).toEqual({ signExponent: 0xc000, significandHigh: 0xa0000000, significandLow: 0 });
    expect([s.instructionPointer, s.instructionSelector, s.lastOpcode, s.dataPointer, s.dataSelector, s.mxcsr]).toEqual([6, 0x1000, 0x506, 16, 0x3000, 0x1f80]);
  });

  it('round-trips through setState into another CPU, all 80 bits', () => {
    const a = fpuMachine([...X.fninit, ...X.fld80(0), ...X.fldpi, ...X.fld1, ...X.faddSt0(1)]);
    a.x80(0, [0x3fff, 0x40000000, 0x1]); // an unnormal
    a.run();
    const saved: FpuState = a.cpu.getState().fpu;
    const b = fpuMachine([...X.fstp80(0), ...X.fstp80(16), ...X.fstp80(32), ...X.fnstswAx]);
    b.cpu.setState({ fpu: saved });
    expect(b.cpu.getState().fpu).toEqual(saved);
    b.run();
    const sum = fromDouble(1 + Math.PI, new Ext80());
    expect(b.x80(0)).toEqual([sum.se, sum.hi, sum.lo]);
    expect(b.x80(16)).toEqual([0x4000, 0xc90fdaa2, 0x2168c235]);
    expect(b.x80(32)).toEqual([0x3fff, 0x40000000, 0x1]);
  });

  it('rejects bad fields with InvalidState and changes nothing', () => {
    const m = fpuMachine([]);
    const before = m.cpu.getState();
    const bad: unknown[] = [
      { registers: [] },
      { registers: Array.from({ length: 8 }, () => ({ signExponent: 0x10000, significandHigh: 0, significandLow: 0 })) },
      { controlWord: 0x8000 },
      { mxcsr: 0x10000 },
      { lastOpcode: 0x800 },
      { statusWord: -1 },
      'x87',
    ];
    for (const fpu of bad) {
      expect(() => m.cpu.setState({ eax: 5, fpu } as never)).toThrow(CpuError);
      expect(m.cpu.getState()).toEqual(before);
    }
  });

  it('a restored pending exception is reported at the next waiting instruction', () => {
    const m = fpuMachine([...X.fld1]);
    m.cpu.setState({ cr0: 0x60000030, fpu: { controlWord: 0x037b, statusWord: 0x0004, tagWord: 0xffff } });
    m.mem.write16(16 * 4, 0x300);
    m.mem.write16(16 * 4 + 2, 0x1000);
    m.mem.write8(0x10300, 0xf4);
    m.run();
    expect(m.cpu.getState().eip).toBe(0x301);
  });
});
