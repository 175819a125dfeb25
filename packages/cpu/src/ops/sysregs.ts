import { GP, UD } from '../cpu.js';
import { CR4_DE } from '../models.js';
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

/**
 * The control register a MOV may name: CR0, CR2, CR3, and CR4 on models that have it; CR1, CR5-CR7
 * (and CR4 before the Pentium) are #UD. Debug registers 4 and 5 alias DR6 and DR7, or are #UD with
 * CR4.DE (SDM vol. 3B, 17.2.2).
 */
function sysRegister(cpu: Cpu, op: Op): number {
  const n = op.ext & 7;
  if (op.imm2 !== 0) {
    if (n === 4 || n === 5) {
      if ((cpu.cr4 & CR4_DE) !== 0) cpu.raise(UD);
      return n + 2;
    }
    return n;
  }
  if (n === 1 || n > 4 || (n === 4 && !cpu.model.hasCr4)) cpu.raise(UD);
  return n;
}

/** MOV r32, CRn / DRn (`imm2` 0 = control, 1 = debug; register number in `ext`). */
export function movFromSys(cpu: Cpu, op: Op): void {
  privileged(cpu);
  const n = sysRegister(cpu, op);
  let v: number;
  if (op.imm2 !== 0) v = cpu.dr[n];
  else if (n === 0) v = cpu.cr0;
  else if (n === 2) v = cpu.cr2;
  else if (n === 3) v = cpu.cr3;
  else v = cpu.cr4;
  cpu.regs[op.m] = v;
}

/** MOV CRn / DRn, r32. A CR4 bit the model does not support is #GP(0) (SDM vol. 3A, 2.5). */
export function movToSys(cpu: Cpu, op: Op): void {
  privileged(cpu);
  const n = sysRegister(cpu, op);
  const v = cpu.regs[op.m];
  if (op.imm2 !== 0) cpu.dr[n] = v;
  else if (n === 0) writeCr0(cpu, v);
  else if (n === 2) cpu.cr2 = v;
  else if (n === 3) writeCr3(cpu, v);
  else {
    if ((v & ~cpu.model.cr4Writable) !== 0) cpu.raise(GP, 0);
    writeCr4(cpu, v);
  }
}

/** INVD, WBINVD: caches are not modelled, so only the privilege check remains. */
export function invalidateCaches(cpu: Cpu): void {
  privileged(cpu);
}

/** UD2: the architecturally undefined instruction. */
export function ud2(cpu: Cpu): void {
  cpu.raise(UD);
}
