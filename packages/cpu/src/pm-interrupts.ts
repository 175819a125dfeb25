/**
 * Interrupt and exception delivery in protected mode through the IDT (Intel SDM vol. 3A, 6.10-6.13),
 * and IRET back. Implemented: 16- and 32-bit interrupt and trap gates to a code segment at the
 * current privilege level (or a conforming one) or to an inner level with the stack switch through
 * the TSS, with the error code pushed for the exceptions that have one; IRET to the same or an outer
 * level; task gates (task-switch.ts) and delivery from v86 mode (v86.ts). IRET with NT set returns to
 * the previous task, IRETD at CPL 0 with VM in the popped EFLAGS enters v86 mode.
 */
import { CS, DS, ES, FS, GP, GS, SS, SSF, type CpuCore } from './cpu.js';
import {
  ATTR_DB,
  DESC_CODE,
  DESC_DC,
  DESC_PRESENT,
  DESC_RW,
  DESC_S,
  SEL_RPL,
  descDpl,
  descLimit,
  fetchDescriptor,
  readSystem16,
  readSystem32,
} from './descriptors.js';
import { IF, IOPL, NT, RF, TF, VIF, VIP, VM, readFlags, writeFlags } from './flags.js';

import { NP, fillCache, loadCsProtected } from './segment-load.js';
import { interruptViaTaskGate, iretTaskReturn } from './task-switch.js';
import { interruptFromV86, iretInV86, iretToV86 } from './v86.js';

/** Gate types (descriptor byte 5, low 5 bits, S = 0). */
const GATE_TASK = 0x05;
const GATE_INT16 = 0x06;
const GATE_TRAP16 = 0x07;
const GATE_INT32 = 0x0e;
const GATE_TRAP32 = 0x0f;
/** Error code bits (6.13): EXT (external event), IDT (the index names an IDT entry). */
const ERR_EXT = 1;
const ERR_IDT = 2;

/**
 * Delivers `vector` through the IDT with `returnEip` pushed; `errorCode` < 0 pushes none. `soft`
 * is INT n / INT3 / INTO, whose gate DPL must be at least CPL. Faults while delivering are raised
 * as guest faults (the caller escalates them to #DF and shutdown).
 */
export function interruptProtected(cpu: CpuCore, vector: number, returnEip: number, errorCode: number, soft: boolean): void {
  const ext = soft ? 0 : ERR_EXT;
  const idtCode = (vector << 3) | ERR_IDT | ext;
  if ((vector << 3) + 7 > cpu.idtrLimit) cpu.raise(GP, idtCode);
  const addr = (cpu.idtrBase + (vector << 3)) | 0;
  const lo = readSystem32(cpu, addr);
  const hi = readSystem32(cpu, (addr + 4) | 0);
  const type = (hi >>> 8) & 0x1f;
  if (type !== GATE_INT16 && type !== GATE_TRAP16 && type !== GATE_INT32 && type !== GATE_TRAP32 && type !== GATE_TASK) cpu.raise(GP, idtCode);
  if (soft && descDpl(hi) < cpu.cpl) cpu.raise(GP, idtCode);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, idtCode);
  const sel = lo >>> 16;
  if (type === GATE_TASK) {
    interruptViaTaskGate(cpu, sel, returnEip, errorCode, ext);
    return;
  }
  const gate32 = (type & 8) !== 0;
  const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;

  const selCode = (sel & ~SEL_RPL) | ext;
  if ((sel & ~SEL_RPL) === 0 && (sel & 4) === 0) cpu.raise(GP, ext);
  if (!fetchDescriptor(cpu, sel)) cpu.raise(GP, selCode);
  const chi = cpu.descHi;
  const ctype = (chi >>> 8) & 0x1f;
  const dpl = descDpl(chi);
  if ((ctype & (DESC_S | DESC_CODE)) !== (DESC_S | DESC_CODE) || dpl > cpu.cpl) cpu.raise(GP, selCode);
  if ((chi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, selCode);
  if ((cpu.flags & VM) !== 0) {
    // From v86 mode only to a non-conforming ring-0 segment (6.12.1.2).
    if ((ctype & DESC_DC) !== 0 || dpl !== 0) cpu.raise(GP, selCode);
    if (offset >>> 0 > descLimit(cpu.descLo, chi)) cpu.raise(GP, ext);
    interruptFromV86(cpu, sel, offset, type, returnEip, errorCode, ext);
    return;
  }
  if (offset >>> 0 > descLimit(cpu.descLo, chi)) cpu.raise(GP, ext);
  if ((ctype & DESC_DC) === 0 && dpl < cpu.cpl) {
    interruptToInner(cpu, sel, offset, dpl, type, returnEip, errorCode, ext);
    return;
  }

  const flags = readFlags(cpu);
  const csSel = cpu.segSel[CS];
  const sp = cpu.regs[4];
  try {
    if (gate32) {
      cpu.push32(flags);
      cpu.push32(csSel);
      cpu.push32(returnEip);
      if (errorCode >= 0) cpu.push32(errorCode);
    } else {
      cpu.push16(flags);
      cpu.push16(csSel);
      cpu.push16(returnEip);
      if (errorCode >= 0) cpu.push16(errorCode);
    }
  } catch (e) {
    cpu.regs[4] = sp;
    throw e;
  }
  // The target was checked above; this loads the cache (CPL unchanged) and EIP.
  loadCsProtected(cpu, (sel & ~SEL_RPL) | cpu.cpl, offset, false);
  cpu.flags = flags & ~(TF | NT | RF | VM | ((type & 1) === 0 ? IF : 0));
  cpu.lazy = 0;
  cpu.halted = false;
}

/** #TS (6.15, interrupt 10). */
export const TS = 10;

/** The SS saved and restored around a stack switch that may fault half-way. */
interface SavedStack {
  sel: number;
  base: number;
  limit: number;
  attr: number;
  esp: number;
  stack32: boolean;
  cpl: number;
}
const saved: SavedStack = { sel: 0, base: 0, limit: 0, attr: 0, esp: 0, stack32: false, cpl: 0 };

export function saveStack(cpu: CpuCore): void {
  saved.sel = cpu.segSel[SS];
  saved.base = cpu.segBase[SS];
  saved.limit = cpu.segLimit[SS];
  saved.attr = cpu.segAttr[SS];
  saved.esp = cpu.regs[4];
  saved.stack32 = cpu.stack32;
  saved.cpl = cpu.cpl;
}
export function restoreStack(cpu: CpuCore): void {
  cpu.segSel[SS] = saved.sel;
  cpu.segBase[SS] = saved.base;
  cpu.segLimit[SS] = saved.limit;
  cpu.segAttr[SS] = saved.attr;
  cpu.refreshSegAccess(SS);
  cpu.regs[4] = saved.esp;
  cpu.stack32 = saved.stack32;
  cpu.setCpl(saved.cpl);
}

/**
 * Checks the stack segment `sel` for privilege level `cpl` (6.12.1: RPL = DPL = CPL, writable data,
 * present) and loads it; `gpVector` is #TS for a TSS stack, #GP for an IRET's.
 */
export function loadStackFor(cpu: CpuCore, sel: number, cpl: number, gpVector: number, ext: number): void {
  const code = (sel & ~SEL_RPL) | ext;
  if ((sel & ~SEL_RPL) === 0 && (sel & 4) === 0) cpu.raise(gpVector, ext);
  if (!fetchDescriptor(cpu, sel)) cpu.raise(gpVector, code);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  if ((sel & SEL_RPL) !== cpl || descDpl(hi) !== cpl || (type & (DESC_S | DESC_CODE | DESC_RW)) !== (DESC_S | DESC_RW)) cpu.raise(gpVector, code);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(SSF, code);
  fillCache(cpu, SS, sel);
  cpu.stack32 = (cpu.segAttr[SS] & ATTR_DB) !== 0;
}

/**
 * Delivery to a more privileged non-conforming code segment (6.12.1): the new SS:ESP come from the
 * TSS for the target level, the old SS:ESP are pushed on the new stack before EFLAGS, CS, EIP.
 */
function interruptToInner(cpu: CpuCore, sel: number, offset: number, dpl: number, type: number, returnEip: number, errorCode: number, ext: number): void {
  const tss32 = cpu.tr32;
  const at = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
  if (at + (tss32 ? 5 : 3) > cpu.trLimit) cpu.raise(TS, (cpu.tr & ~SEL_RPL) | ext);
  const newEsp = tss32 ? readSystem32(cpu, (cpu.trBase + at) | 0) : readSystem16(cpu, (cpu.trBase + at) | 0);
  const newSs = readSystem16(cpu, (cpu.trBase + at + (tss32 ? 4 : 2)) | 0);
  const flags = readFlags(cpu);
  const oldSs = cpu.segSel[SS];
  const oldEsp = cpu.regs[4];
  const csSel = cpu.segSel[CS];
  saveStack(cpu);
  try {
    loadStackFor(cpu, newSs, dpl, TS, ext);
    cpu.regs[4] = cpu.stack32 ? newEsp : (cpu.regs[4] & ~0xffff) | (newEsp & 0xffff);
    cpu.setCpl(dpl);
    const gate32 = (type & 8) !== 0;
    if (gate32) {
      cpu.push32(oldSs);
      cpu.push32(oldEsp);
      cpu.push32(flags);
      cpu.push32(csSel);
      cpu.push32(returnEip);
      if (errorCode >= 0) cpu.push32(errorCode);
    } else {
      cpu.push16(oldSs);
      cpu.push16(oldEsp);
      cpu.push16(flags);
      cpu.push16(csSel);
      cpu.push16(returnEip);
      if (errorCode >= 0) cpu.push16(errorCode);
    }
    loadCsProtected(cpu, (sel & ~SEL_RPL) | dpl, offset, false);
  } catch (e) {
    restoreStack(cpu);
    throw e;
  }
  cpu.flags = flags & ~(TF | NT | RF | VM | ((type & 1) === 0 ? IF : 0));
  cpu.lazy = 0;
  cpu.halted = false;
}

/**
 * IRET/IRETD in protected mode to the same or an outer privilege level: pops EIP, CS, EFLAGS; IOPL changes
 * only at CPL 0, IF only when CPL <= IOPL (6.12.1, IRET in vol. 2A).
 */
export function iretProtected(cpu: CpuCore, op32: boolean): void {
  if ((cpu.flags & VM) !== 0) {
    iretInV86(cpu, op32);
    return;
  }
  if ((cpu.flags & NT) !== 0) {
    iretTaskReturn(cpu, cpu.eip);
    return;
  }
  const sp = cpu.regs[4];
  try {
    const eip = op32 ? cpu.pop32() : cpu.pop16();
    const sel = op32 ? cpu.pop32() & 0xffff : cpu.pop16();
    const f = op32 ? cpu.pop32() : cpu.pop16();
    if (op32 && (f & VM) !== 0 && cpu.cpl === 0) {
      iretToV86(cpu, eip, sel, f);
      return;
    }
    const iopl = (readFlags(cpu) & IOPL) >>> 12;
    let mask = (op32 ? cpu.model.flagsWritable : cpu.model.flagsWritable & 0xffff) & ~VM;
    if (cpu.cpl !== 0) mask &= ~IOPL;
    else if (op32 && cpu.model.generation >= 5) mask |= VIF | VIP;
    if (cpu.cpl > iopl) mask &= ~IF;
    const rpl = sel & SEL_RPL;
    if (rpl < cpu.cpl) cpu.raise(GP, sel & ~SEL_RPL);
    if (rpl === cpu.cpl) {
      loadCsProtected(cpu, sel, eip, true);
    } else {
      returnToOuter(cpu, sel, eip, rpl, op32);
    }
    writeFlags(cpu, f, mask);
  } catch (e) {
    cpu.regs[4] = sp;
    throw e;
  }
}

/** Data segment registers a return to an outer level must not keep (5.8.6). */
const DATA_SEGS = [ES, DS, FS, GS];

/** RET imm16: drops `bytes` of parameters from the current stack. */
function releaseStack(cpu: CpuCore, bytes: number): void {
  if (cpu.stack32) cpu.regs[4] = (cpu.regs[4] + bytes) | 0;
  else cpu.r16[8] = cpu.r16[8] + bytes;
}

/**
 * IRET or RETF to a less privileged level: SS:ESP are popped too and checked for the new CPL, and data
 * segments the outer level may not use (DPL < CPL, unless conforming code) become null.
 */
export function returnToOuter(cpu: CpuCore, sel: number, eip: number, rpl: number, op32: boolean, release = 0): void {
  if (release !== 0) releaseStack(cpu, release);
  const newEsp = op32 ? cpu.pop32() : cpu.pop16();
  const newSs = op32 ? cpu.pop32() & 0xffff : cpu.pop16();
  saveStack(cpu);
  try {
    cpu.setCpl(rpl); // the CS checks below compare against the level returned to
    loadCsProtected(cpu, sel, eip, true);
    loadStackFor(cpu, newSs, rpl, GP, 0);
  } catch (e) {
    restoreStack(cpu);
    throw e;
  }
  cpu.regs[4] = cpu.stack32 ? newEsp : (cpu.regs[4] & ~0xffff) | (newEsp & 0xffff);
  if (release !== 0) releaseStack(cpu, release);
  for (const seg of DATA_SEGS) {
    const attr = cpu.segAttr[seg];
    const conformingCode = (attr & (DESC_CODE | DESC_DC)) === (DESC_CODE | DESC_DC);
    if (!conformingCode && ((attr >>> 5) & 3) < rpl) {
      cpu.segSel[seg] = 0;
      cpu.segAttr[seg] = 0;
      cpu.segBase[seg] = 0;
      cpu.segLimit[seg] = 0;
      cpu.refreshSegAccess(seg);
    }
  }
}
