import type { InterruptSource } from '../bus.js';
import { DATA_SEG, testMachine, type TestMachine } from '../test-machine.js';

/** Test support: a real-mode machine whose data segment (DS = 0x3000) is read and written by offset. */
export interface FpuMachine extends TestMachine {
  /** Runs until HLT (at most `max` instructions). */
  run(max?: number): void;
  f64(off: number, v?: number): number;
  f32(off: number, v?: number): number;
  u8(off: number, v?: number): number;
  u16(off: number, v?: number): number;
  u32(off: number, v?: number): number;
  /** An 80-bit value as [sign/exponent, significand high, significand low]. */
  x80(off: number, v?: [number, number, number]): [number, number, number];
}

const DATA = DATA_SEG << 4;
const view = new DataView(new ArrayBuffer(8));

export function fpuMachine(code: number[], model: 'p6' | '386' | '286' | '8086' = 'p6', interrupts?: InterruptSource): FpuMachine {
  const m = testMachine(model, [...code, 0xf4], interrupts);
  const { mem, cpu } = m;
  const bytes = (off: number, n: number, v?: number[]): number[] => {
    if (v !== undefined) v.forEach((b, i) => mem.write8(DATA + off + i, b));
    return Array.from({ length: n }, (_, i) => mem.read8(DATA + off + i));
  };
  const num = (off: number, n: number, get: () => number, set: (x: number) => void, v?: number): number => {
    if (v !== undefined) {
      set(v);
      bytes(off, n, Array.from({ length: n }, (_, i) => view.getUint8(i)));
    }
    bytes(off, n).forEach((b, i) => view.setUint8(i, b));
    return get();
  };
  return {
    ...m,
    run(max = 10_000): void {
      for (let i = 0; i < max && cpu.run(1) !== 'halt'; i++);
    },
    f64: (off, v) => num(off, 8, () => view.getFloat64(0, true), (x) => view.setFloat64(0, x, true), v),
    f32: (off, v) => num(off, 4, () => view.getFloat32(0, true), (x) => view.setFloat32(0, x, true), v),
    u8: (off, v) => num(off, 1, () => view.getUint8(0), (x) => view.setUint8(0, x), v),
    u16: (off, v) => num(off, 2, () => view.getUint16(0, true), (x) => view.setUint16(0, x, true), v),
    u32: (off, v) => num(off, 4, () => view.getUint32(0, true), (x) => view.setUint32(0, x >>> 0, true), v),
    x80(off, v) {
      if (v !== undefined) {
        this.u32(off, v[2]);
        this.u32(off + 4, v[1]);
        this.u16(off + 8, v[0]);
      }
      return [this.u16(off + 8), this.u32(off + 4), this.u32(off)];
    },
  };
}

/** ModR/M bytes for a [disp16] operand in 16-bit code: opcode byte, reg field, offset. */
export function mem16(opcode: number, reg: number, off: number): number[] {
  return [opcode, (reg << 3) | 6, off & 0xff, off >>> 8];
}

/** Encodings used by the tests (16-bit code, [disp16] operands). */
export const X = {
  fninit: [0xdb, 0xe3],
  fnclex: [0xdb, 0xe2],
  fwait: [0x9b],
  fnstswAx: [0xdf, 0xe0],
  fldcw: (off: number) => mem16(0xd9, 5, off),
  fnstcw: (off: number) => mem16(0xd9, 7, off),
  fnstsw: (off: number) => mem16(0xdd, 7, off),
  fld32: (off: number) => mem16(0xd9, 0, off),
  fld64: (off: number) => mem16(0xdd, 0, off),
  fld80: (off: number) => mem16(0xdb, 5, off),
  fst32: (off: number) => mem16(0xd9, 2, off),
  fstp32: (off: number) => mem16(0xd9, 3, off),
  fst64: (off: number) => mem16(0xdd, 2, off),
  fstp64: (off: number) => mem16(0xdd, 3, off),
  fstp80: (off: number) => mem16(0xdb, 7, off),
  fild16: (off: number) => mem16(0xdf, 0, off),
  fild32: (off: number) => mem16(0xdb, 0, off),
  fild64: (off: number) => mem16(0xdf, 5, off),
  fist16: (off: number) => mem16(0xdf, 2, off),
  fistp16: (off: number) => mem16(0xdf, 3, off),
  fist32: (off: number) => mem16(0xdb, 2, off),
  fistp32: (off: number) => mem16(0xdb, 3, off),
  fistp64: (off: number) => mem16(0xdf, 7, off),
  fbld: (off: number) => mem16(0xdf, 4, off),
  fbstp: (off: number) => mem16(0xdf, 6, off),
  fadd64: (off: number) => mem16(0xdc, 0, off),
  fmul64: (off: number) => mem16(0xdc, 1, off),
  fsub64: (off: number) => mem16(0xdc, 4, off),
  fdiv64: (off: number) => mem16(0xdc, 6, off),
  fdivr64: (off: number) => mem16(0xdc, 7, off),
  fcom64: (off: number) => mem16(0xdc, 2, off),
  fnstenv: (off: number) => mem16(0xd9, 6, off),
  fldenv: (off: number) => mem16(0xd9, 4, off),
  fnsave: (off: number) => mem16(0xdd, 6, off),
  frstor: (off: number) => mem16(0xdd, 4, off),
  fxsave: (off: number) => [0x0f, 0xae, 0x06, off & 0xff, off >>> 8],
  fxrstor: (off: number) => [0x0f, 0xae, 0x0e, off & 0xff, off >>> 8],
  o32: (bytes: number[]) => [0x66, ...bytes],
  fld: (i: number) => [0xd9, 0xc0 + i],
  fxch: (i: number) => [0xd9, 0xc8 + i],
  fstSt: (i: number) => [0xdd, 0xd0 + i],
  fstpSt: (i: number) => [0xdd, 0xd8 + i],
  ffree: (i: number) => [0xdd, 0xc0 + i],
  faddSt0: (i: number) => [0xd8, 0xc0 + i],
  fsubSt0: (i: number) => [0xd8, 0xe0 + i],
  fdivSt0: (i: number) => [0xd8, 0xf0 + i],
  faddp: (i: number) => [0xde, 0xc0 + i],
  fcom: (i: number) => [0xd8, 0xd0 + i],
  fucom: (i: number) => [0xdd, 0xe0 + i],
  fcompp: [0xde, 0xd9],
  fcomi: (i: number) => [0xdb, 0xf0 + i],
  fucomi: (i: number) => [0xdb, 0xe8 + i],
  fcomip: (i: number) => [0xdf, 0xf0 + i],
  fcmovb: (i: number) => [0xda, 0xc0 + i],
  fcmove: (i: number) => [0xda, 0xc8 + i],
  fcmovnb: (i: number) => [0xdb, 0xc0 + i],
  fincstp: [0xd9, 0xf7],
  fdecstp: [0xd9, 0xf6],
  fchs: [0xd9, 0xe0],
  fabs: [0xd9, 0xe1],
  ftst: [0xd9, 0xe4],
  fxam: [0xd9, 0xe5],
  fld1: [0xd9, 0xe8],
  fldl2t: [0xd9, 0xe9],
  fldl2e: [0xd9, 0xea],
  fldpi: [0xd9, 0xeb],
  fldlg2: [0xd9, 0xec],
  fldln2: [0xd9, 0xed],
  fldz: [0xd9, 0xee],
  f2xm1: [0xd9, 0xf0],
  fyl2x: [0xd9, 0xf1],
  fptan: [0xd9, 0xf2],
  fpatan: [0xd9, 0xf3],
  fxtract: [0xd9, 0xf4],
  fprem1: [0xd9, 0xf5],
  fprem: [0xd9, 0xf8],
  fyl2xp1: [0xd9, 0xf9],
  fsqrt: [0xd9, 0xfa],
  fsincos: [0xd9, 0xfb],
  frndint: [0xd9, 0xfc],
  fscale: [0xd9, 0xfd],
  fsin: [0xd9, 0xfe],
  fcos: [0xd9, 0xff],
  stc: [0xf9],
  clc: [0xf8],
};

/** Sets real-mode IVT entry `vector` to CS:offset and puts a HLT there. */
export function handlerAt(m: FpuMachine, vector: number, offset: number): void {
  m.mem.write16(vector * 4, offset);
  m.mem.write16(vector * 4 + 2, 0x1000);
  m.mem.write8((0x1000 << 4) + offset, 0xf4);
}

/** ST(i) as a double. */
export function st(m: FpuMachine, i: number): number {
  return m.cpu.fpu.get(i);
}
