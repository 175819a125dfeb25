import { Code } from '@tsvm/x86-decoder';
import { BR, CS, ECX, GP, OFV } from '../cpu.js';
import { VM, condition, getOF, getZF, writeFlags } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { iretProtected, returnToOuter } from '../pm-interrupts.js';
import { viaCallGate } from '../call-gates.js';
import { loadCsProtected } from '../segment-load.js';
import { viaTask } from '../task-switch.js';
import { CR4_VME, redirectedInt } from '../vme.js';
import { getReg } from './regs.js';

/** The operand-size mask a near branch target is truncated to. */
function ipMask(op: Op): number {
  return op.msb === 31 ? -1 : 0xffff;
}

/** JMP rel8/16/32. */
export function jmpRel(cpu: Cpu, op: Op): void {
  cpu.eip = (cpu.eip + op.rel) & ipMask(op);
}
/** Jcc rel: `ext` = condition. */
export function jcc(cpu: Cpu, op: Op): void {
  if (condition(cpu, op.ext)) cpu.eip = (cpu.eip + op.rel) & ipMask(op);
}
/** JCXZ/JECXZ: the count register's width is the address size. */
export function jcxz(cpu: Cpu, op: Op): void {
  if ((cpu.regs[ECX] & op.amask) === 0) cpu.eip = (cpu.eip + op.rel) & ipMask(op);
}
/** LOOP (`ext` 0), LOOPE (1), LOOPNE (2). */
export function loop(cpu: Cpu, op: Op): void {
  let c: number;
  if (op.amask === 0xffff) {
    c = (cpu.r16[ECX << 1] - 1) & 0xffff;
    cpu.r16[ECX << 1] = c;
  } else {
    c = (cpu.regs[ECX] - 1) | 0;
    cpu.regs[ECX] = c;
  }
  if (c === 0) return;
  if (op.ext === 1 && getZF(cpu) === 0) return;
  if (op.ext === 2 && getZF(cpu) !== 0) return;
  cpu.eip = (cpu.eip + op.rel) & ipMask(op);
}
/** JMP r/m (near, absolute). */
export function jmpNearR(cpu: Cpu, op: Op): void {
  cpu.eip = getReg(cpu, op.m, op.msb) & ipMask(op);
}
export function jmpNearM(cpu: Cpu, op: Op): void {
  cpu.eip = cpu.rd(op.seg, ea(cpu, op), op.msb) & ipMask(op);
}

function pushIp(cpu: Cpu, op: Op): void {
  if (op.msb === 31) cpu.push32(cpu.eip);
  else cpu.push16(cpu.eip);
}

/** CALL rel. */
export function callRel(cpu: Cpu, op: Op): void {
  pushIp(cpu, op);
  cpu.eip = (cpu.eip + op.rel) & ipMask(op);
}
export function callNearR(cpu: Cpu, op: Op): void {
  const target = getReg(cpu, op.m, op.msb) & ipMask(op);
  pushIp(cpu, op);
  cpu.eip = target;
}
export function callNearM(cpu: Cpu, op: Op): void {
  const target = cpu.rd(op.seg, ea(cpu, op), op.msb) & ipMask(op);
  pushIp(cpu, op);
  cpu.eip = target;
}

/** Far transfers in real mode: CS = selector (base = selector * 16), EIP = offset. */
function farJump(cpu: Cpu, sel: number, off: number, op: Op, returning = false): void {
  if (cpu.protectedMode) {
    if (!returning && (viaTask(cpu, sel, false, cpu.eip) || viaCallGate(cpu, sel, false, 0))) return;
    loadCsProtected(cpu, sel, off & ipMask(op), returning);
    return;
  }
  cpu.loadSegReal(CS, sel);
  cpu.eip = off & ipMask(op);
}

/** JMP ptr16:16/32: selector in `ext`, offset in `imm`. */
export function jmpFarImm(cpu: Cpu, op: Op): void {
  farJump(cpu, op.ext, op.imm, op);
}
/** JMP m16:16/32. */
export function jmpFarM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const target = cpu.rd(op.seg, off, op.msb);
  const sel = cpu.rd16(op.seg, (off + (op.msb === 31 ? 4 : 2)) & op.amask);
  farJump(cpu, sel, target, op);
}

function pushCsIp(cpu: Cpu, op: Op): void {
  if (op.msb === 31) {
    cpu.push32(cpu.segSel[CS]);
    cpu.push32(cpu.eip);
  } else {
    cpu.push16(cpu.segSel[CS]);
    cpu.push16(cpu.eip);
  }
}
/** Pushes the return address, then transfers; a fault on the target leaves ESP as it was. */
function callFar(cpu: Cpu, sel: number, off: number, op: Op): void {
  if (cpu.protectedMode && (viaTask(cpu, sel, true, cpu.eip) || viaCallGate(cpu, sel, true, cpu.eip))) return;
  const sp = cpu.regs[4];
  pushCsIp(cpu, op);
  if (!cpu.protectedMode) {
    farJump(cpu, sel, off, op);
    return;
  }
  try {
    farJump(cpu, sel, off, op);
  } catch (e) {
    cpu.regs[4] = sp;
    throw e;
  }
}
export function callFarImm(cpu: Cpu, op: Op): void {
  callFar(cpu, op.ext, op.imm, op);
}
export function callFarM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const target = cpu.rd(op.seg, off, op.msb);
  const sel = cpu.rd16(op.seg, (off + (op.msb === 31 ? 4 : 2)) & op.amask);
  callFar(cpu, sel, target, op);
}

function releaseStack(cpu: Cpu, bytes: number): void {
  if (cpu.stack32) cpu.regs[4] = (cpu.regs[4] + bytes) | 0;
  else cpu.r16[8] = cpu.r16[8] + bytes;
}

/** RET / RET imm16 (near). */
export function retNear(cpu: Cpu, op: Op): void {
  const ip = op.msb === 31 ? cpu.pop32() : cpu.pop16();
  releaseStack(cpu, op.imm & 0xffff);
  cpu.eip = ip & ipMask(op);
}
/** RETF / RETF imm16. */
export function retFar(cpu: Cpu, op: Op): void {
  const sp = cpu.regs[4];
  try {
    retFarPops(cpu, op);
  } catch (e) {
    cpu.regs[4] = sp; // a faulting return leaves the stack as it was
    throw e;
  }
}
function retFarPops(cpu: Cpu, op: Op): void {
  let ip: number;
  let sel: number;
  if (op.msb === 31) {
    ip = cpu.pop32();
    sel = cpu.pop32() & 0xffff;
  } else {
    ip = cpu.pop16();
    sel = cpu.pop16();
  }
  if (cpu.protectedMode && (sel & 3) > cpu.cpl) {
    // RETF to an outer level: the parameters go from both stacks, SS:ESP are popped in between.
    returnToOuter(cpu, sel, ip & ipMask(op), sel & 3, op.msb === 31, op.imm & 0xffff);
    return;
  }
  releaseStack(cpu, op.imm & 0xffff);
  farJump(cpu, sel, ip, op, true);
}

/** IRET/IRETD: real mode here; protected and v86 mode in pm-interrupts.ts. */
export function iret(cpu: Cpu, op: Op): void {
  if ((cpu.cr0 & 1) !== 0) {
    iretProtected(cpu, op.msb === 31);
    return;
  }
  let ip: number;
  let sel: number;
  let f: number;
  if (op.msb === 31) {
    ip = cpu.pop32();
    sel = cpu.pop32() & 0xffff;
    f = cpu.pop32();
  } else {
    ip = cpu.pop16();
    sel = cpu.pop16();
    f = cpu.pop16();
  }
  farJump(cpu, sel, ip, op);
  writeFlags(cpu, f, op.msb === 31 ? cpu.model.flagsWritable : cpu.model.flagsWritable & 0xffff);
}

/**
 * INT imm8 (`imm`), INT3 (vector 3 in `imm`). In v86 mode INT n (CD ib, not INT3) needs IOPL 3, else
 * #GP(0) (20.3.3, without the CR4.VME extensions).
 */
export function intN(cpu: Cpu, op: Op): void {
  if ((cpu.flags & VM) !== 0 && op.code === Code.Int_imm8) {
    // CR4.VME: a clear bit in the redirection bitmap runs the 8086 handler in v86 mode (vme.ts).
    if ((cpu.cr4 & CR4_VME) !== 0 && redirectedInt(cpu, op.imm & 0xff, cpu.eip)) return;
    if (((cpu.flags >>> 12) & 3) < 3) cpu.raise(GP, 0);
  }
  cpu.softwareInterrupt(op.imm & 0xff);
}
/** INTO: INT 4 when OF is set. */
export function into(cpu: Cpu): void {
  if (getOF(cpu) !== 0) cpu.softwareInterrupt(OFV);
}
/** BOUND reg, m: #BR unless lower <= reg <= upper (signed). */
export function bound(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const size = op.msb === 31 ? 4 : 2;
  const sh = 31 - op.msb;
  const idx = (getReg(cpu, op.r, op.msb) << sh) >> sh;
  const lo = (cpu.rd(op.seg, off, op.msb) << sh) >> sh;
  const hi = (cpu.rd(op.seg, (off + size) & op.amask, op.msb) << sh) >> sh;
  if (idx < lo || idx > hi) cpu.exception(BR);
}
