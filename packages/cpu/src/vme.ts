/**
 * The virtual-8086 mode extensions and protected-mode virtual interrupts (Intel SDM vol. 3A, 20.3 and
 * 20.4): with CR4.VME set, v86 code below IOPL 3 runs CLI, STI, PUSHF, POPF and IRET against the
 * virtual interrupt flag (VIF) instead of faulting, and INT n consults the interrupt redirection
 * bitmap (the 32 bytes below the I/O map base of the 32-bit TSS) to run the 8086 handler through the
 * IVT at linear 0 without leaving v86 mode. With CR4.PVI set, CLI and STI at CPL 3 in protected mode
 * below IOPL change VIF. STI, POPF and IRET fault with #GP(0) when they would enable interrupts while
 * VIP is set, or set TF, so the monitor can deliver the pending interrupt.
 *
 * The callers handle the ordinary cases (CPL <= IOPL, v86 mode with IOPL 3); these functions run only
 * when those fail, and raise #GP(0) when neither extension applies.
 */
import { CS, ESP, GP, type CpuCore } from './cpu.js';
import { readSystem16 } from './descriptors.js';
import { IF, IOPL, TF, VIF, VIP, VM, readFlags, writeFlags } from './flags.js';
import { TSS32_IOMAP } from './tss-memory.js';
import { loadSegV86 } from './v86.js';

/** CR4 bits (SDM vol. 3A, 2.5). */
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
/** TR types of a 32-bit TSS (available or busy). */
const TSS32_TYPE_MASK = 0x1d;
const TSS32_TYPE = 0x09;

/** True when CLI/STI below IOPL act on VIF: v86 mode with VME, or CPL 3 with PVI. */
function virtualIf(cpu: CpuCore): boolean {
  if ((cpu.flags & VM) !== 0) return (cpu.cr4 & CR4_VME) !== 0;
  return cpu.cpl === 3 && (cpu.cr4 & CR4_PVI) !== 0;
}

/** CLI below IOPL: VIF = 0, or #GP(0). */
export function virtualCli(cpu: CpuCore): void {
  if (!virtualIf(cpu)) cpu.raise(GP, 0);
  cpu.flags &= ~VIF;
}

/** STI below IOPL: VIF = 1 unless an interrupt is pending (VIP), or #GP(0). */
export function virtualSti(cpu: CpuCore): void {
  if (!virtualIf(cpu) || (cpu.flags & VIP) !== 0) cpu.raise(GP, 0);
  cpu.flags |= VIF;
}

/** v86 mode below IOPL 3 with VME: the 16-bit forms of PUSHF, POPF and IRET use VIF (32-bit: #GP). */
function requireVme16(cpu: CpuCore, op32: boolean): void {
  if ((cpu.cr4 & CR4_VME) === 0 || op32) cpu.raise(GP, 0);
}

/** The FLAGS image v86 code sees below IOPL 3: IF is VIF, IOPL reads 3. */
function virtualFlagsImage(cpu: CpuCore): number {
  const f = readFlags(cpu) & 0xffff;
  return (f & ~IF) | ((cpu.flags & VIF) !== 0 ? IF : 0) | IOPL;
}

/** Takes a FLAGS image popped below IOPL 3: #GP(0) for TF or for IF with VIP; IF goes to VIF. */
function takeFlagsImage(cpu: CpuCore, image: number): void {
  if ((image & TF) !== 0 || ((image & IF) !== 0 && (cpu.flags & VIP) !== 0)) cpu.raise(GP, 0);
  writeFlags(cpu, image, cpu.model.flagsWritable & 0xffff & ~(IF | IOPL));
  cpu.flags = (cpu.flags & ~VIF) | ((image & IF) !== 0 ? VIF : 0);
}

/** PUSHF in v86 mode below IOPL 3. */
export function virtualPushf(cpu: CpuCore, op32: boolean): void {
  requireVme16(cpu, op32);
  cpu.push16(virtualFlagsImage(cpu));
}

/** POPF in v86 mode below IOPL 3 (the stack is left as it was when it faults). */
export function virtualPopf(cpu: CpuCore, op32: boolean): void {
  requireVme16(cpu, op32);
  takeFlagsImage(cpu, cpu.peek16(0));
  cpu.pop16();
}

/** IRET in v86 mode below IOPL 3: pops IP, CS and FLAGS, the flags checked first. */
export function virtualIret(cpu: CpuCore, op32: boolean): void {
  requireVme16(cpu, op32);
  const image = cpu.peek16(4);
  const ip = cpu.peek16(0);
  const cs = cpu.peek16(2);
  takeFlagsImage(cpu, image);
  cpu.regs[ESP] = (cpu.regs[ESP] & ~0xffff) | ((cpu.regs[ESP] + 6) & 0xffff);
  loadSegV86(cpu, CS, cs);
  cpu.eip = ip;
}

/**
 * INT n in v86 mode with VME (20.3.3): when the vector's bit in the redirection bitmap is clear, the
 * 8086 handler runs through the IVT at linear 0 (FLAGS, CS, IP pushed; below IOPL 3 the image has
 * VIF as IF and VIF is cleared, at IOPL 3 IF is cleared) and this returns true. A set bit returns
 * false: the caller faults below IOPL 3 or goes through the IDT.
 */
export function redirectedInt(cpu: CpuCore, vector: number, returnIp: number): boolean {
  if ((cpu.trAttr & TSS32_TYPE_MASK) !== TSS32_TYPE) cpu.raise(GP, 0);
  const mapBase = readSystem16(cpu, (cpu.trBase + TSS32_IOMAP) | 0);
  const at = mapBase - 32 + (vector >>> 3);
  if (at < 0 || at > cpu.trLimit) cpu.raise(GP, 0);
  if (((readSystem16(cpu, (cpu.trBase + at) | 0) >>> (vector & 7)) & 1) !== 0) return false;
  const belowIopl3 = (cpu.flags & IOPL) !== IOPL;
  const image = belowIopl3 ? virtualFlagsImage(cpu) : readFlags(cpu) & 0xffff;
  // The IVT entry is read as v86 code would read linear memory (paging applies, at CPL 3).
  const entry = vector << 2;
  const ip = cpu.mem.read16((entry & cpu.addrMask) >>> 0);
  const cs = cpu.mem.read16(((entry + 2) & cpu.addrMask) >>> 0);
  const sp = cpu.regs[ESP];
  try {
    cpu.push16(image);
    cpu.push16(cpu.segSel[CS]);
    cpu.push16(returnIp);
  } catch (e) {
    cpu.regs[ESP] = sp;
    throw e;
  }
  cpu.flags &= ~(TF | (belowIopl3 ? VIF : IF)); // not arithmetic flags: lazy state unaffected
  loadSegV86(cpu, CS, cs);
  cpu.eip = ip;
  return true;
}
