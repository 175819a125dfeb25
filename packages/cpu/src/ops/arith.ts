import { getCF, lazyAdd, lazyResult, lazySub, SIZE_MASK } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';

/** ALU operations in the order of the 00-3F opcode rows and of ModR/M reg in 80-83. */
export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;
/** TEST: AND without writing the result. */
export const ALU_TEST = 8;

/** Computes `a OP b` at size `msb`, records the flags, returns the masked result. */
export function alu(cpu: Cpu, kind: number, a: number, b: number, msb: number): number {
  const mask = SIZE_MASK[msb];
  let r: number;
  switch (kind) {
    case ALU_ADD:
      r = (a + b) | 0;
      lazyAdd(cpu, a, b, r, msb);
      break;
    case ALU_OR:
      r = a | b;
      lazyResult(cpu, r, msb, 0, 0, 0);
      break;
    case ALU_ADC:
      r = (a + b + getCF(cpu)) | 0;
      lazyAdd(cpu, a, b, r, msb);
      break;
    case ALU_SBB:
      r = (a - b - getCF(cpu)) | 0;
      lazySub(cpu, a, b, r, msb);
      break;
    case ALU_AND:
    case ALU_TEST:
      r = a & b;
      lazyResult(cpu, r, msb, 0, 0, 0);
      break;
    case ALU_SUB:
    case ALU_CMP:
      r = (a - b) | 0;
      lazySub(cpu, a, b, r, msb);
      break;
    default:
      r = a ^ b;
      lazyResult(cpu, r, msb, 0, 0, 0);
      break;
  }
  return r & mask;
}

const writesBack = (kind: number): boolean => kind < ALU_CMP;

/** ALU r/m, reg — register form. `ext` = ALU operation. */
export function aluRmRegR(cpu: Cpu, op: Op): void {
  const r = alu(cpu, op.ext, getReg(cpu, op.m, op.msb), getReg(cpu, op.r, op.msb), op.msb);
  if (writesBack(op.ext)) setReg(cpu, op.m, r, op.msb);
}

export function aluRmRegM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const r = alu(cpu, op.ext, cpu.rd(op.seg, off, op.msb), getReg(cpu, op.r, op.msb), op.msb);
  if (writesBack(op.ext)) cpu.wr(op.seg, off, r, op.msb);
}

/** ALU reg, r/m. */
export function aluRegRmR(cpu: Cpu, op: Op): void {
  const r = alu(cpu, op.ext, getReg(cpu, op.r, op.msb), getReg(cpu, op.m, op.msb), op.msb);
  if (writesBack(op.ext)) setReg(cpu, op.r, r, op.msb);
}

export function aluRegRmM(cpu: Cpu, op: Op): void {
  const r = alu(cpu, op.ext, getReg(cpu, op.r, op.msb), cpu.rd(op.seg, ea(cpu, op), op.msb), op.msb);
  if (writesBack(op.ext)) setReg(cpu, op.r, r, op.msb);
}

/** ALU r/m, imm (also AL/AX/EAX, imm with m = 0). */
export function aluRmImmR(cpu: Cpu, op: Op): void {
  const r = alu(cpu, op.ext, getReg(cpu, op.m, op.msb), op.imm & SIZE_MASK[op.msb], op.msb);
  if (writesBack(op.ext)) setReg(cpu, op.m, r, op.msb);
}

export function aluRmImmM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const r = alu(cpu, op.ext, cpu.rd(op.seg, off, op.msb), op.imm & SIZE_MASK[op.msb], op.msb);
  if (writesBack(op.ext)) cpu.wr(op.seg, off, r, op.msb);
}

/** INC/DEC keep CF: the carry vector's sign-bit carry is replaced by the old CF (OF kept right). */
function incdec(cpu: Cpu, a: number, dec: boolean, msb: number): number {
  const cf = getCF(cpu);
  const r = dec ? (a - 1) | 0 : (a + 1) | 0;
  if (dec) lazySub(cpu, a, 1, r, msb);
  else lazyAdd(cpu, a, 1, r, msb);
  const cv = cpu.lfCv;
  const of = ((cv >>> msb) ^ (cv >>> (msb - 1))) & 1;
  cpu.lfCv = (cv & ~(3 << (msb - 1))) | (cf << msb) | ((cf ^ of) << (msb - 1));
  return r & SIZE_MASK[msb];
}

/** INC/DEC r/m (`ext` 0 = INC, 1 = DEC); also the 40-4F register forms. */
export function incDecR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, incdec(cpu, getReg(cpu, op.m, op.msb), op.ext !== 0, op.msb), op.msb);
}

export function incDecM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  cpu.wr(op.seg, off, incdec(cpu, cpu.rd(op.seg, off, op.msb), op.ext !== 0, op.msb), op.msb);
}

export function negR(cpu: Cpu, op: Op): void {
  const a = getReg(cpu, op.m, op.msb);
  const r = (0 - a) | 0;
  lazySub(cpu, 0, a, r, op.msb);
  setReg(cpu, op.m, r & SIZE_MASK[op.msb], op.msb);
}

export function negM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const a = cpu.rd(op.seg, off, op.msb);
  const r = (0 - a) | 0;
  lazySub(cpu, 0, a, r, op.msb);
  cpu.wr(op.seg, off, r & SIZE_MASK[op.msb], op.msb);
}

export function notR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, ~getReg(cpu, op.m, op.msb), op.msb);
}

export function notM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  cpu.wr(op.seg, off, ~cpu.rd(op.seg, off, op.msb), op.msb);
}
