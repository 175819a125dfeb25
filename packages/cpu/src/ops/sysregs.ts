import { GP } from '../cpu.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { writeCr0, writeCr3, writeCr4 } from '../paging.js';
import { getReg, setReg } from './regs.js';

/** CR0 bits (Intel SDM vol. 3A, 2.5). */
const CR0_PE = 1 << 0;
const CR0_TS = 1 << 3;
/** LMSW writes PE, MP, EM, TS and cannot clear PE. */
const MSW_BITS = 0xf;

/** Instructions only CPL 0 may execute (#GP(0) otherwise; CPL is 0 in real mode). */
function privileged(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(GP, 0);
}

/** LGDT/LIDT m16&32 (`ext` 0 = GDTR, 1 = IDTR): with a 16-bit operand only 24 bits of base load. */
export function lgdt(cpu: Cpu, op: Op): void {
  privileged(cpu);
  const off = ea(cpu, op);
  const limit = cpu.rd16(op.seg, off);
  let base = cpu.rd32(op.seg, (off + 2) & op.amask);
  if (op.msb !== 31) base &= 0xffffff;
  if (op.ext === 0) {
    cpu.gdtrBase = base;
    cpu.gdtrLimit = limit;
  } else {
    cpu.idtrBase = base;
    cpu.idtrLimit = limit;
  }
}

/** SGDT/SIDT m (`ext` 0 / 1): the 286 stores FFh as the base's top byte; later CPUs store 0 with a 16-bit operand. */
export function sgdt(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  let base = op.ext === 0 ? cpu.gdtrBase : cpu.idtrBase;
  if (op.msb !== 31) base = (base & 0xffffff) | (cpu.model.generation === 2 ? 0xff000000 : 0);
  cpu.wr16(op.seg, off, op.ext === 0 ? cpu.gdtrLimit : cpu.idtrLimit);
  cpu.wr32(op.seg, (off + 2) & op.amask, base);
}

/** SMSW r/m: the low word of CR0 (all of CR0 into a 32-bit register). */
export function smswR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, cpu.cr0, op.msb);
}
export function smswM(cpu: Cpu, op: Op): void {
  cpu.wr16(op.seg, ea(cpu, op), cpu.cr0);
}

function lmsw(cpu: Cpu, v: number): void {
  privileged(cpu);
  writeCr0(cpu, (cpu.cr0 & ~MSW_BITS) | (v & MSW_BITS) | (cpu.cr0 & CR0_PE));
}
export function lmswR(cpu: Cpu, op: Op): void {
  lmsw(cpu, getReg(cpu, op.m, 15));
}
export function lmswM(cpu: Cpu, op: Op): void {
  lmsw(cpu, cpu.rd16(op.seg, ea(cpu, op)));
}

/** CLTS: clear CR0.TS. */
export function clts(cpu: Cpu): void {
  privileged(cpu);
  cpu.cr0 &= ~CR0_TS;
}

/** MOV r32, CRn / DRn (`imm2` 0 = control, 1 = debug; register number in `ext`). */
export function movFromSys(cpu: Cpu, op: Op): void {
  privileged(cpu);
  let v = 0;
  if (op.imm2 !== 0) v = cpu.dr[op.ext & 7] ?? 0;
  else if (op.ext === 0) v = cpu.cr0;
  else if (op.ext === 2) v = cpu.cr2;
  else if (op.ext === 3) v = cpu.cr3;
  else if (op.ext === 4) v = cpu.cr4;
  cpu.regs[op.m] = v;
}

/** MOV CRn / DRn, r32. */
export function movToSys(cpu: Cpu, op: Op): void {
  privileged(cpu);
  const v = cpu.regs[op.m];
  if (op.imm2 !== 0) cpu.dr[op.ext & 7] = v;
  else if (op.ext === 0) writeCr0(cpu, v);
  else if (op.ext === 2) cpu.cr2 = v;
  else if (op.ext === 3) writeCr3(cpu, v);
  else if (op.ext === 4) writeCr4(cpu, v);
}
