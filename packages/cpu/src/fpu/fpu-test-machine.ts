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

export function fpuMachine(code: number[], model: 'p6' | '386' | '286' | '8086' = 'p6'): FpuMachine {
  const m = testMachine(model, [...code, 0xf4]);
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
