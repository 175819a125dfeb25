/**
 * Virtual-8086 mode (Intel SDM vol. 3A, chapter 20): protected mode with EFLAGS.VM set. Segments are
 * real-mode style (base = selector × 16, limit FFFFh), the code runs at CPL 3 under paging, and the
 * IOPL-sensitive instructions (CLI, STI, PUSHF, POPF, INT n, IRET) raise #GP(0) unless IOPL is 3.
 * Entered by IRETD at CPL 0 with VM in the popped EFLAGS or by a task switch to a TSS with VM set;
 * left by an interrupt or exception, through a 32-bit gate to a ring-0 handler.
 *
 * CR4.VME (the interrupt redirection bitmap, VIF/VIP) is not offered: with or without CR4.VME, v86
 * mode behaves as on a processor without the extensions.
 */
import { CS, DS, ES, ESP, FS, GP, GS, SS, type CpuCore } from './cpu.js';
import { IOPL, NT, RF, TF, VIF, VIP, VM, IF, readFlags, writeFlags } from './flags.js';
import { SEL_RPL, readSystem16, readSystem32 } from './descriptors.js';
import { TS, loadStackFor, restoreStack, saveStack } from './pm-interrupts.js';
import { loadCsProtected } from './segment-load.js';
import { virtualIret } from './vme.js';

/** Access rights of every segment in v86 mode: present, DPL 3, writable data, accessed. */
export const V86_SEG_ATTR = 0xf3;

/** True while EFLAGS.VM is set (protected mode is implied: VM cannot be set otherwise). */
export function inV86(cpu: CpuCore): boolean {
  return (cpu.flags & VM) !== 0;
}

/** IOPL as a number 0-3. */
export function iopl(cpu: CpuCore): number {
  return (cpu.flags >>> 12) & 3;
}

/** Loads one segment register the v86 way (also the cache: limit FFFFh, DPL 3 data). */
export function loadSegV86(cpu: CpuCore, seg: number, sel: number): void {
  cpu.segSel[seg] = sel & 0xffff;
  cpu.segBase[seg] = (sel & 0xffff) << 4;
  cpu.segLimit[seg] = 0xffff;
  cpu.segAttr[seg] = V86_SEG_ATTR;
  cpu.refreshSegAccess(seg);
}

/** After EFLAGS.VM was set: the six segments given, CPL 3, 16-bit code and stack. */
export function enterV86(cpu: CpuCore, es: number, cs: number, ss: number, ds: number, fs: number, gs: number): void {
  loadSegV86(cpu, ES, es);
  loadSegV86(cpu, CS, cs);
  loadSegV86(cpu, SS, ss);
  loadSegV86(cpu, DS, ds);
  loadSegV86(cpu, FS, fs);
  loadSegV86(cpu, GS, gs);
  cpu.setCpl(3);
  cpu.setCodeSize(0xffff);
  cpu.stack32 = false;
}

/**
 * IRETD at CPL 0 with VM set in the popped EFLAGS (EIP, CS and EFLAGS already popped): pops ESP, SS,
 * ES, DS, FS, GS (32 bits each, the high words ignored) and resumes the v86 task.
 */
export function iretToV86(cpu: CpuCore, eip: number, cs: number, flags: number): void {
  const esp = cpu.pop32();
  const ss = cpu.pop32();
  const es = cpu.pop32();
  const ds = cpu.pop32();
  const fs = cpu.pop32();
  const gs = cpu.pop32();
  // RF is not kept (there are no instruction breakpoints to resume past), as IRETD elsewhere.
  writeFlags(cpu, flags | VM, cpu.model.flagsWritable | VM | (cpu.model.generation >= 5 ? VIF | VIP : 0));
  enterV86(cpu, es, cs, ss, ds, fs, gs);
  cpu.regs[ESP] = esp;
  cpu.eip = eip & 0xffff;
}

/**
 * IRET/IRETD in v86 mode: with IOPL 3 it pops like real mode (VM and IOPL keep their values), with a
 * lower IOPL it is #GP(0) (20.2.7).
 */
export function iretInV86(cpu: CpuCore, op32: boolean): void {
  if (iopl(cpu) < 3) {
    virtualIret(cpu, op32); // VIF under CR4.VME, else #GP(0)
    return;
  }
  const sp = cpu.regs[ESP];
  const eip = op32 ? cpu.pop32() : cpu.pop16();
  const cs = op32 ? cpu.pop32() & 0xffff : cpu.pop16();
  const flags = op32 ? cpu.pop32() : cpu.pop16();
  if (eip >>> 0 > 0xffff) {
    cpu.regs[ESP] = sp;
    cpu.raise(GP, 0);
  }
  loadSegV86(cpu, CS, cs);
  cpu.eip = eip;
  const mask = (op32 ? cpu.model.flagsWritable : cpu.model.flagsWritable & 0xffff) & ~(IOPL | VM);
  writeFlags(cpu, flags, mask);
}

/**
 * An interrupt or exception in v86 mode through an interrupt or trap gate (6.12.1.2, 20.3.1.1): the
 * handler's code segment must be non-conforming with DPL 0 (checked by the caller). Switches to the
 * ring-0 stack from the TSS and pushes GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP (and the error code)
 * in the gate's size, then clears VM, TF, RF, NT (and IF for an interrupt gate) and nulls the data
 * segment registers.
 */
export function interruptFromV86(cpu: CpuCore, sel: number, offset: number, gateType: number, returnEip: number, errorCode: number, ext: number): void {
  const tss32 = cpu.tr32;
  const at = tss32 ? 4 : 2;
  if (at + (tss32 ? 5 : 3) > cpu.trLimit) cpu.raise(TS, (cpu.tr & ~SEL_RPL) | ext);
  const newEsp = tss32 ? readSystem32(cpu, (cpu.trBase + at) | 0) : readSystem16(cpu, (cpu.trBase + at) | 0);
  const newSs = readSystem16(cpu, (cpu.trBase + at + (tss32 ? 4 : 2)) | 0);
  const flags = readFlags(cpu);
  const oldSs = cpu.segSel[SS];
  const oldEsp = cpu.regs[ESP];
  const csSel = cpu.segSel[CS];
  const gate32 = (gateType & 8) !== 0;
  saveStack(cpu);
  try {
    cpu.setCpl(0);
    loadStackFor(cpu, newSs, 0, TS, ext);
    cpu.regs[ESP] = cpu.stack32 ? newEsp : (cpu.regs[ESP] & ~0xffff) | (newEsp & 0xffff);
    const push = gate32 ? pushWide : pushNarrow;
    push(cpu, cpu.segSel[GS]);
    push(cpu, cpu.segSel[FS]);
    push(cpu, cpu.segSel[DS]);
    push(cpu, cpu.segSel[ES]);
    push(cpu, oldSs);
    push(cpu, oldEsp);
    push(cpu, flags);
    push(cpu, csSel);
    push(cpu, returnEip);
    if (errorCode >= 0) push(cpu, errorCode);
    loadCsProtected(cpu, sel & ~SEL_RPL, offset, false);
  } catch (e) {
    restoreStack(cpu);
    loadSegV86(cpu, CS, csSel);
    cpu.setCodeSize(0xffff);
    throw e;
  }
  nullSeg(cpu, ES);
  nullSeg(cpu, DS);
  nullSeg(cpu, FS);
  nullSeg(cpu, GS);
  cpu.flags = flags & ~(VM | TF | RF | NT | ((gateType & 1) === 0 ? IF : 0));
  cpu.lazy = 0;
  cpu.halted = false;
}

function nullSeg(cpu: CpuCore, seg: number): void {
  cpu.segSel[seg] = 0;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0;
  cpu.segAttr[seg] = 0;
  cpu.refreshSegAccess(seg);
}

function pushWide(cpu: CpuCore, v: number): void {
  cpu.push32(v);
}
function pushNarrow(cpu: CpuCore, v: number): void {
  cpu.push16(v);
}
