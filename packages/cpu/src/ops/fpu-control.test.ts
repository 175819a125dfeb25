import { describe, expect, it } from 'vitest';
import { fpuMachine, handlerAt, st, X, type FpuMachine } from '../fpu/fpu-test-machine.js';
import { FSW_ES, FSW_ZE } from '../fpu/fpu.js';

const CR0_P6 = 0x60000010;
const CR0_MP = 2;
const CR0_EM = 4;
const CR0_TS = 8;
const CR0_NE = 0x20;

/** The IP pushed by the last exception (real mode: IP, CS, FLAGS on the stack). */
const pushedIp = (m: FpuMachine): number => m.mem.read16((0x2000 << 4) + m.cpu.getState().esp);

describe('x87 control instructions and exceptions', () => {
  it('FNINIT sets FCW 037F, FSW 0, every tag empty; reset gives FCW 0040 and tag 5555', () => {
    const m = fpuMachine([...X.fnstcw(0), ...X.fnstenv(16), ...X.fninit, ...X.fnstcw(2), ...X.fnstenv(32)]);
    m.run();
    expect([m.u16(0), m.u16(16 + 4)]).toEqual([0x0040, 0x5555]);
    expect([m.u16(2), m.u16(32 + 2), m.u16(32 + 4)]).toEqual([0x037f, 0, 0xffff]);
  });

  it('FLDCW keeps bit 6 set and unmasking a raised flag makes it pending', () => {
    const m = fpuMachine([...X.fninit, ...X.fld1, ...X.fdiv64(0), ...X.fldcw(8), ...X.fnstcw(10), ...X.fnstswAx]);
    m.u16(8, 0x0f3b);
    m.run();
    expect(m.u16(10)).toBe(0x0f7b);
    expect(m.cpu.getState().eax & (FSW_ES | FSW_ZE | 0x8000)).toBe(FSW_ES | FSW_ZE | 0x8000);
  });

  it('#NM: CR0.EM or CR0.TS for x87 instructions; WAIT only with TS and MP', () => {
    const nm = (cr0: number, code: number[]): number => {
      const m = fpuMachine(code);
      handlerAt(m, 7, 0x300);
      m.cpu.setState({ cr0 });
      m.run();
      return m.cpu.getState().eip === 0x301 ? pushedIp(m) : -1;
    };
    expect(nm(CR0_P6 | CR0_EM, [0x90, ...X.fnstswAx])).toBe(1);
    expect(nm(CR0_P6 | CR0_TS, [0x90, ...X.fld1])).toBe(1);
    expect(nm(CR0_P6 | CR0_TS, X.fwait)).toBe(-1);
    expect(nm(CR0_P6 | CR0_TS | CR0_MP, X.fwait)).toBe(0);
    expect(nm(CR0_P6 | CR0_EM, X.fwait)).toBe(-1);
  });

  it('#MF (CR0.NE = 1) at the next waiting instruction, not at FNSTSW', () => {
    const code = [...X.fninit, ...X.fldcw(8), ...X.fld1, ...X.fdiv64(0), ...X.fnstswAx, ...X.fld1];
    const m = fpuMachine(code);
    m.u16(8, 0x037b);
    handlerAt(m, 16, 0x300);
    m.cpu.setState({ cr0: CR0_P6 | CR0_NE });
    m.run();
    expect(m.cpu.getState().eip).toBe(0x301);
    expect(pushedIp(m)).toBe(code.length - 2);
    expect(m.cpu.getState().eax & 0xffff).toBe(0xb884);
    expect(st(m, 0)).toBe(1); // the unmasked ZE left the destination
  });

  it('FERR# (CR0.NE = 0): asserted at the waiting instruction, which is held until the interrupt handler clears it', () => {
    let irq = false;
    const levels: boolean[] = [];
    const m = fpuMachine(
      [0xfb, ...X.fninit, ...X.fldcw(8), ...X.fld1, ...X.fdiv64(0), ...X.fld64(16), ...X.fstp64(24)],
      'p6',
      { acknowledge: () => (irq ? ((irq = false), 0x75) : -1) },
    );
    m.cpu.fpu.onFerr = (level) => {
      levels.push(level);
      if (level) irq = true;
    };
    m.u16(8, 0x037b);
    m.f64(16, 42);
    m.mem.write16(0x75 * 4, 0x400);
    m.mem.write16(0x75 * 4 + 2, 0x1000);
    [0xdb, 0xe2, 0xcf].forEach((b, i) => m.mem.write8((0x1000 << 4) + 0x400 + i, b)); // FNCLEX; IRET
    m.run();
    expect(levels).toEqual([true, false]);
    expect(m.f64(24)).toBe(42);
    expect(m.cpu.fpu.statusWord() & FSW_ES).toBe(0);
  });

  it('FERR# with nothing clearing it: the instruction goes on after one hold (IGNNE#)', () => {
    const m = fpuMachine([...X.fninit, ...X.fldcw(8), ...X.fld1, ...X.fdiv64(0), ...X.fld64(16), ...X.fstp64(24)]);
    const levels: boolean[] = [];
    m.cpu.fpu.onFerr = (level) => levels.push(level);
    m.u16(8, 0x037b);
    m.f64(16, 7);
    m.run();
    expect(levels).toEqual([true]);
    expect(m.f64(24)).toBe(7);
  });

  it('FNSTENV / FLDENV in the real-mode 16- and 32-bit layouts (linear pointers, FOP)', () => {
    const m = fpuMachine([...X.fninit, ...X.fld64(0x20), ...X.fnstenv(0x100), ...X.o32(X.fnstenv(0x200)), ...X.fninit, ...X.fldenv(0x100), ...X.fnstcw(0x300)]);
    m.f64(0x20, 1.5);
    m.run();
    const ip = 0x10000 + 2; // CS = 0x1000, FLD at offset 2
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => m.u16(0x100 + i * 2))).toEqual([0x037f, 0x3800, 0x3fff, ip & 0xffff, ((ip >>> 16) << 12) | 0x506, 0x0020, 0x3000]);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => m.u32(0x200 + i * 4))).toEqual([0x037f, 0x3800, 0x3fff, ip & 0xffff, ((ip >>> 16) << 12) | 0x506, 0x0020, 0x3000]);
    // FNSTENV masks every exception afterwards; FLDENV brought back TOP and the tags
    expect(m.u16(0x300)).toBe(0x037f);
    expect(m.cpu.fpu.top).toBe(7);
    expect(m.cpu.fpu.isEmpty(0)).toBe(false);
  });

  it('FNSTENV / FNSAVE in the protected-mode layouts: offsets, selectors and FOP', () => {
    const m = fpuMachine([...X.fninit, ...X.fld64(0x20), ...X.fnstenv(0x100), ...X.o32(X.fnstenv(0x200)), ...X.o32(X.fnsave(0x300))]);
    m.f64(0x20, 1.5);
    m.cpu.setState({
      cr0: 0x60000011,
      cs: { selector: 0x08, base: 0x10000, limit: 0xffff, attributes: 0x9b },
      ds: { selector: 0x10, base: 0x30000, limit: 0xffff, attributes: 0x93 },
      ss: { selector: 0x10, base: 0x20000, limit: 0xffff, attributes: 0x93 },
    });
    m.run();
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => m.u16(0x100 + i * 2))).toEqual([0x037f, 0x3800, 0x3fff, 2, 0x08, 0x20, 0x10]);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => m.u32(0x200 + i * 4))).toEqual([0x037f, 0x3800, 0x3fff, 2, (0x506 << 16) | 0x08, 0x20, 0x10]);
    expect(m.u32(0x300 + 16)).toBe((0x506 << 16) | 0x08);
    expect(m.x80(0x300 + 28)).toEqual([0x3fff, 0xc0000000, 0]);
  });

  for (const [name, o32, regs] of [['16-bit', false, 14], ['32-bit', true, 28]] as const) {
    it(`FNSAVE / FRSTOR (${name}): 80-bit registers in ST order, FNINIT after saving, exact restore`, () => {
      const wrap = (b: number[]): number[] => (o32 ? X.o32(b) : b);
      const m = fpuMachine([...X.fninit, ...X.fld80(0), ...X.fldpi, ...X.fld64(16), ...wrap(X.fnsave(0x100)), ...X.fnstcw(0x300), ...X.fld1, ...wrap(X.frstor(0x100)), ...X.fstp80(0x400), ...X.fstp80(0x410), ...X.fstp80(0x420)]);
      m.x80(0, [0x7fff, 0xa0000000, 0x1234]);
      m.f64(16, 0.1);
      m.run();
      expect(m.u16(0x100)).toBe(0x037f);
      expect(m.u16(0x100 + (o32 ? 4 : 2)) >> 11).toBe(5); // TOP
      expect(m.x80(0x100 + regs + 10)).toEqual([0x4000, 0xc90fdaa2, 0x2168c235]);
      expect(m.x80(0x100 + regs + 20)).toEqual([0x7fff, 0xa0000000, 0x1234]);
      expect(m.u16(0x300)).toBe(0x037f);
      expect(m.x80(0x400)).toEqual([0x3ffb, 0xcccccccc, 0xccccd000]);
      expect(m.x80(0x410)).toEqual([0x4000, 0xc90fdaa2, 0x2168c235]);
      expect(m.x80(0x420)).toEqual([0x7fff, 0xa0000000, 0x1234]);
    });
  }

  it('FRSTOR that faults part-way changes nothing', () => {
    const m = fpuMachine([...X.fninit, ...X.fldpi, ...X.frstor(0xfff0)]);
    handlerAt(m, 13, 0x300);
    m.run();
    expect(m.cpu.getState().eip).toBe(0x301);
    expect([m.cpu.fpu.top, st(m, 0), m.cpu.fpu.cw]).toEqual([7, Math.PI, 0x037f]);
  });

  it('FXSAVE / FXRSTOR: the 512-byte layout with the abridged tag; alignment and MXCSR checks', () => {
    const m = fpuMachine([...X.fninit, ...X.fld80(0), ...X.fldz, ...X.fxsave(0x200), ...X.fninit, ...X.fxrstor(0x200), ...X.fstp80(0x400), ...X.fstp80(0x410), ...X.fnstenv(0x500)]);
    m.x80(0, [0x0000, 0, 1]);
    m.run();
    expect([m.u16(0x200), m.u16(0x202), m.u8(0x204), m.u16(0x206)]).toEqual([0x037f, 0x3000, 0xc0, 0x1ee]);
    expect([m.u32(0x208), m.u16(0x20c), m.u32(0x210), m.u16(0x214)]).toEqual([6, 0x1000, 0, 0x3000]);
    expect([m.u32(0x218), m.u32(0x21c)]).toEqual([0x1f80, 0xffbf]);
    expect(m.x80(0x220)).toEqual([0, 0, 0]);
    expect(m.x80(0x230)).toEqual([0, 0, 1]);
    expect(m.x80(0x400)).toEqual([0, 0, 0]);
    expect(m.x80(0x410)).toEqual([0, 0, 1]);
    expect(m.u16(0x504)).toBe(0xffff);

    const bad = fpuMachine([...X.fxsave(0x208)]);
    handlerAt(bad, 13, 0x300);
    bad.run();
    expect(bad.cpu.getState().eip).toBe(0x301);
    const badMxcsr = fpuMachine([...X.fninit, ...X.fldpi, ...X.fxrstor(0x200)]);
    badMxcsr.u32(0x218, 0x10000);
    handlerAt(badMxcsr, 13, 0x300);
    badMxcsr.run();
    expect(badMxcsr.cpu.getState().eip).toBe(0x301);
    expect(st(badMxcsr, 0)).toBe(Math.PI);
  });

  it('models without a coprocessor (8086, 286) execute ESC as no-ops; the 386 has the unit', () => {
    for (const [model, top] of [['8086', 0], ['286', 0], ['386', 7]] as const) {
      const m = fpuMachine([...X.fninit, ...X.fld1], model);
      m.run();
      expect(m.cpu.fpu.top, model).toBe(top);
    }
  });
});
