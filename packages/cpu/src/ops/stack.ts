import { CS, ESP, EBP, SS, UD } from '../cpu.js';
import { virtualPopf, virtualPushf } from '../vme.js';
import { IF, IOPL, readFlags, writeFlags, RF, VM } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';
import { loadSeg } from './data.js';

function push(cpu: Cpu, v: number, msb: number): void {
  if (msb === 31) cpu.push32(v);
  else cpu.push16(v);
}
function pop(cpu: Cpu, msb: number): number {
  return msb === 31 ? cpu.pop32() : cpu.pop16();
}

/** PUSH reg (50+r, FF /6 register form). PUSH SP pushes the decremented SP on the 8086. */
export function pushReg(cpu: Cpu, op: Op): void {
  if (op.m === ESP && op.msb === 15 && cpu.model.pushSpDecremented) {
    cpu.push16((cpu.r16[ESP << 1] - 2) & 0xffff);
    return;
  }
  push(cpu, getReg(cpu, op.m, op.msb), op.msb);
}
export function pushMem(cpu: Cpu, op: Op): void {
  push(cpu, cpu.rd(op.seg, ea(cpu, op), op.msb), op.msb);
}
export function pushImm(cpu: Cpu, op: Op): void {
  push(cpu, op.imm, op.msb);
}
/** PUSH Sreg (`ext`); a 32-bit push writes the selector zero-extended. */
export function pushSeg(cpu: Cpu, op: Op): void {
  push(cpu, cpu.segSel[op.ext], op.msb);
}

/** POP reg. POP SP/ESP leaves the popped value in SP. */
export function popReg(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, pop(cpu, op.msb), op.msb);
}
/** POP m: the address is computed after SP is incremented (Intel SDM, POP). */
export function popMem(cpu: Cpu, op: Op): void {
  const sp = cpu.regs[ESP];
  const v = pop(cpu, op.msb);
  try {
    cpu.wr(op.seg, ea(cpu, op), v, op.msb);
  } catch (e) {
    cpu.regs[ESP] = sp;
    throw e;
  }
}
/** POP Sreg (`ext`). POP CS (0F) exists only on the 8086. */
export function popSeg(cpu: Cpu, op: Op): void {
  if (op.ext === CS && cpu.model.generation !== 0) {
    cpu.exception(UD);
    return;
  }
  const sp = cpu.regs[ESP];
  const v = op.msb === 31 ? cpu.pop32() & 0xffff : cpu.pop16();
  const popped = cpu.regs[ESP];
  cpu.regs[ESP] = sp; // a load that faults leaves ESP as it was
  loadSeg(cpu, op.ext, v);
  cpu.regs[ESP] = popped;
}

/** PUSHA/PUSHAD. */
export function pusha(cpu: Cpu, op: Op): void {
  const sp = getReg(cpu, ESP, op.msb);
  for (let i = 0; i < 8; i++) push(cpu, i === ESP ? sp : getReg(cpu, i, op.msb), op.msb);
}
/** POPA/POPAD: the saved SP is skipped. */
export function popa(cpu: Cpu, op: Op): void {
  for (let i = 7; i >= 0; i--) {
    const v = pop(cpu, op.msb);
    if (i !== ESP) setReg(cpu, i, v, op.msb);
  }
}

/** v86 mode below IOPL 3: PUSHF and POPF fault with #GP(0) or, under CR4.VME, use VIF (vme.ts). */
function v86BelowIopl3(cpu: Cpu): boolean {
  return (cpu.flags & VM) !== 0 && (cpu.flags & IOPL) !== IOPL;
}

/** PUSHF/PUSHFD: VM and RF are pushed as 0. */
export function pushf(cpu: Cpu, op: Op): void {
  if (v86BelowIopl3(cpu)) {
    virtualPushf(cpu, op.msb === 31);
    return;
  }
  const f = readFlags(cpu);
  if (op.msb === 31) cpu.push32(f & ~(VM | RF));
  else cpu.push16(f);
}
/** POPF/POPFD: the model decides which bits software can change (real mode runs at CPL 0). */
export function popf(cpu: Cpu, op: Op): void {
  if (v86BelowIopl3(cpu)) {
    virtualPopf(cpu, op.msb === 31);
    return;
  }
  const v = pop(cpu, op.msb);
  let mask = op.msb === 15 ? cpu.model.flagsWritable & 0xffff : cpu.model.flagsWritable;
  // Protected mode: IOPL only at CPL 0, IF only at CPL <= IOPL; both silently kept otherwise.
  if (cpu.cpl !== 0) mask &= cpu.cpl > ((readFlags(cpu) >>> 12) & 3) ? ~(IOPL | IF) : ~IOPL;
  writeFlags(cpu, v, mask);
}

/** ENTER imm16, imm8. */
export function enter(cpu: Cpu, op: Op): void {
  const size = op.msb === 31 ? 4 : 2;
  const level = op.imm2 & 31;
  push(cpu, getReg(cpu, EBP, op.msb), op.msb);
  const frame = cpu.stack32 ? cpu.regs[ESP] : cpu.r16[ESP << 1];
  if (level > 0) {
    let bp = cpu.stack32 ? cpu.regs[EBP] : cpu.r16[EBP << 1];
    for (let i = 1; i < level; i++) {
      bp = cpu.stack32 ? (bp - size) | 0 : (bp - size) & 0xffff;
      push(cpu, cpu.rd(SS, bp, op.msb), op.msb);
    }
    push(cpu, frame, op.msb);
  }
  setReg(cpu, EBP, frame, op.msb);
  if (cpu.stack32) cpu.regs[ESP] = (cpu.regs[ESP] - (op.imm & 0xffff)) | 0;
  else cpu.r16[ESP << 1] = cpu.r16[ESP << 1] - (op.imm & 0xffff);
}

/** LEAVE: (E)SP = (E)BP, pop (E)BP. */
export function leave(cpu: Cpu, op: Op): void {
  if (cpu.stack32) cpu.regs[ESP] = cpu.regs[EBP]!;
  else cpu.r16[ESP << 1] = cpu.r16[EBP << 1]!;
  setReg(cpu, EBP, pop(cpu, op.msb), op.msb);
}

