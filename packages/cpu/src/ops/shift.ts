import { CF, getCF, lazyResult, materializeFlags, OF, SIZE_MASK } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ECX } from '../cpu.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';

/** Shift/rotate operations by ModR/M reg (C0, C1, D0-D3). */
export const ROL = 0;
export const ROR = 1;
export const RCL = 2;
export const RCR = 3;
export const SHL = 4;
export const SHR = 5;
/** /6: SAL on 186 and later; SETMO (set all ones) on the 8086. */
export const SAL6 = 6;
export const SAR = 7;

function setCfOf(cpu: Cpu, cf: number, of: number): void {
  materializeFlags(cpu);
  cpu.flags = (cpu.flags & ~(CF | OF)) | cf | (of << 11);
}

/**
 * Shifts or rotates `a` (masked to size `msb`) by `count` (already masked as the model does) and
 * returns the result. A count of 0 changes nothing, flags included.
 */
export function shift(cpu: Cpu, kind: number, a: number, count: number, msb: number): number {
  if (count === 0) return a;
  const n = msb + 1;
  const mask = SIZE_MASK[msb];
  let r: number;
  let cf: number;
  switch (kind) {
    case ROL: {
      const c = count % n;
      r = c === 0 ? a : ((a << c) | ((a & mask) >>> (n - c))) & mask;
      cf = r & 1;
      setCfOf(cpu, cf, ((r >>> msb) & 1) ^ cf);
      return r;
    }
    case ROR: {
      const c = count % n;
      r = c === 0 ? a : (((a & mask) >>> c) | (a << (n - c))) & mask;
      cf = (r >>> msb) & 1;
      setCfOf(cpu, cf, cf ^ ((r >>> (msb - 1)) & 1));
      return r;
    }
    case RCL: {
      const c = count % (n + 1);
      r = a;
      cf = getCF(cpu);
      for (let i = 0; i < c; i++) {
        const out = (r >>> msb) & 1;
        r = ((r << 1) | cf) & mask;
        cf = out;
      }
      setCfOf(cpu, cf, ((r >>> msb) & 1) ^ cf);
      return r;
    }
    case RCR: {
      const c = count % (n + 1);
      r = a;
      cf = getCF(cpu);
      for (let i = 0; i < c; i++) {
        const out = r & 1;
        r = (((r & mask) >>> 1) | (cf << msb)) & mask;
        cf = out;
      }
      setCfOf(cpu, cf, ((r >>> msb) ^ (r >>> (msb - 1))) & 1);
      return r;
    }
    case SHL:
    case SAL6:
      if (kind === SAL6 && cpu.model.generation === 0) {
        // SETMO/SETMOC: the 8086 decodes /6 as "set to all ones"; flags as for OR with all ones.
        lazyResult(cpu, mask, msb, 0, 0, 0);
        return mask;
      }
      r = count >= n ? 0 : (a << count) & mask;
      cf = count > n ? 0 : ((a & mask) >>> (n - count)) & 1;
      lazyResult(cpu, r, msb, cf, ((r >>> msb) & 1) ^ cf, 0);
      return r;
    case SHR:
      r = count >= n ? 0 : (a & mask) >>> count;
      cf = count > n ? 0 : ((a & mask) >>> (count - 1)) & 1;
      lazyResult(cpu, r, msb, cf, (a >>> msb) & 1, 0);
      return r;
    default: {
      const sa = (a << (31 - msb)) >> (31 - msb);
      if (count >= n) {
        r = sa < 0 ? mask : 0;
        cf = sa < 0 ? 1 : 0;
      } else {
        r = (sa >> count) & mask;
        cf = (sa >> (count - 1)) & 1;
      }
      lazyResult(cpu, r, msb, cf, 0, 0);
      return r;
    }
  }
}

function countOf(cpu: Cpu, c: number): number {
  return cpu.model.maskShiftCount ? c & 31 : c & 0xff;
}

/** Shift r/m by an immediate count (`imm`; 1 for D0/D1), `ext` = operation. */
export function shiftImmR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, shift(cpu, op.ext, getReg(cpu, op.m, op.msb), countOf(cpu, op.imm), op.msb), op.msb);
}

export function shiftImmM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const v = cpu.rd(op.seg, off, op.msb);
  cpu.wr(op.seg, off, shift(cpu, op.ext, v, countOf(cpu, op.imm), op.msb), op.msb);
}

/** Shift r/m by CL. On the 8086, /6 with CL = 0 (SETMOC) leaves the operand alone. */
export function shiftClR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, shift(cpu, op.ext, getReg(cpu, op.m, op.msb), countOf(cpu, cpu.r8[ECX << 2]), op.msb), op.msb);
}

export function shiftClM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const v = cpu.rd(op.seg, off, op.msb);
  cpu.wr(op.seg, off, shift(cpu, op.ext, v, countOf(cpu, cpu.r8[ECX << 2]), op.msb), op.msb);
}

/** SHLD/SHRD: `ext` 0 = left, 1 = right; count from `imm` (imm form) or CL. */
function doubleShift(cpu: Cpu, right: boolean, dst: number, src: number, count: number, msb: number): number {
  const c = count & 31;
  if (c === 0) return dst;
  const n = msb + 1;
  const mask = SIZE_MASK[msb];
  let r: number;
  let cf: number;
  if (n === 16) {
    // Treat dst:src (or src:dst) as one 32-bit value; counts above 16 give Intel's "undefined", here the
    // bits that keep shifting in from the 32-bit concatenation.
    if (right) {
      const wide = ((src & 0xffff) << 16) | (dst & 0xffff);
      const full = c <= 16 ? wide >>> c : ((wide >>> c) | (dst << (32 - c))) >>> 0;
      r = full & 0xffff;
      cf = (wide >>> (c - 1)) & 1;
    } else {
      const wide = ((dst & 0xffff) << 16) | (src & 0xffff);
      const full = c <= 16 ? wide << c : (wide << c) | ((src & 0xffff) << (c - 16));
      r = (full >>> 16) & 0xffff;
      cf = c <= 16 ? (dst >>> (16 - c)) & 1 : (src >>> (32 - c)) & 1;
    }
  } else if (right) {
    r = (dst >>> c) | (src << (32 - c));
    cf = (dst >>> (c - 1)) & 1;
  } else {
    r = (dst << c) | (src >>> (32 - c));
    cf = (dst >>> (32 - c)) & 1;
  }
  r &= mask;
  lazyResult(cpu, r, msb, cf, ((r ^ dst) >>> msb) & 1, 0);
  return r;
}

export function shldR(cpu: Cpu, op: Op): void {
  const count = op.ext & 2 ? cpu.r8[ECX << 2] : op.imm;
  setReg(cpu, op.m, doubleShift(cpu, (op.ext & 1) !== 0, getReg(cpu, op.m, op.msb), getReg(cpu, op.r, op.msb), count, op.msb), op.msb);
}

export function shldM(cpu: Cpu, op: Op): void {
  const count = op.ext & 2 ? cpu.r8[ECX << 2] : op.imm;
  const off = ea(cpu, op);
  const v = cpu.rd(op.seg, off, op.msb);
  cpu.wr(op.seg, off, doubleShift(cpu, (op.ext & 1) !== 0, v, getReg(cpu, op.r, op.msb), count, op.msb), op.msb);
}
