/**
 * Hardware task switches (Intel SDM vol. 3A, chapter 7): far JMP and CALL to a TSS descriptor or a
 * task gate, interrupts and exceptions through a task gate in the IDT, and IRET with EFLAGS.NT set
 * (return to the task in the back link). 16- and 32-bit TSSs.
 *
 * The switch follows 7.3: the new TSS descriptor is checked (#GP, or #TS for IRET; #NP; #TS for a
 * short limit) and the new TSS read in full before anything changes, so a fault up to there is taken
 * in the old task. Then the old task's state is saved, the busy bits and NT/back link are updated per
 * kind of switch, TR, CR0.TS, CR3, LDTR, EFLAGS, EIP, the general registers and the segment selectors
 * are loaded (the commit point), and the segments are checked in the order of table 7-1. A fault
 * after the commit point is delivered in the context of the new task, returning to its first
 * instruction. The TSS T (debug trap) bit is ignored.
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
  SEL_TI,
  descBase,
  descDpl,
  descLimit,
  fetchDescriptor,
  markAccessed,
  writeSystem8,
} from './descriptors.js';
import { NT, VIF, VIP, VM, readFlags, writeFlags } from './flags.js';
import { PF, writeCr3 } from './paging.js';
import { TS, interruptProtected } from './pm-interrupts.js';
import { NP, fillCache } from './segment-load.js';
import {
  TSS16_FLAGS,
  TSS16_IP,
  TSS16_LDT,
  TSS16_MIN_LIMIT,
  TSS16_REGS,
  TSS16_SEGS,
  TSS32_CR3,
  TSS32_EFLAGS,
  TSS32_EIP,
  TSS32_LDT,
  TSS32_MIN_LIMIT,
  TSS32_REGS,
  TSS32_SEGS,
  readSystem16,
  readSystem32,
  writeSystem16,
  writeSystem32,
} from './tss-memory.js';
import { enterV86 } from './v86.js';

/** What started a switch: it decides busy bits, NT and the back link (7.3, table 7-2). */
export const TASK_JMP = 0;
export const TASK_CALL = 1;
export const TASK_IRET = 2;
/** An interrupt or exception through a task gate: like CALL. */
export const TASK_INT = 3;

/** System descriptor types (byte 5, low 5 bits with S = 0). */
const TYPE_TSS16 = 0x01;
const TYPE_TSS16_BUSY = 0x03;
const TYPE_TASK_GATE = 0x05;
const TYPE_TSS32 = 0x09;
const TYPE_TSS32_BUSY = 0x0b;
const TSS_BUSY = 0x02;
const TYPE_LDT = 0x02;
const CR0_TS = 0x08;

/** The new task's state, read before the commit point (no allocation per switch). */
const incoming = {
  eip: 0,
  eflags: 0,
  cr3: 0,
  ldt: 0,
};
const incomingRegs = new Int32Array(8);
const incomingSegs = new Uint16Array(6);

/**
 * Far JMP (`isCall` false) or CALL to `sel`: when it names a TSS descriptor or a task gate, performs
 * the task switch and returns true; otherwise returns false (a code segment or a call gate).
 * `returnEip` is the address after the instruction, saved in the old TSS.
 */
export function viaTask(cpu: CpuCore, sel: number, isCall: boolean, returnEip: number): boolean {
  if ((sel & ~SEL_RPL) === 0 && (sel & SEL_TI) === 0) return false;
  if (!fetchDescriptor(cpu, sel)) return false;
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  const kind = isCall ? TASK_CALL : TASK_JMP;
  const code = sel & ~SEL_RPL;
  const dpl = descDpl(hi);
  if (type === TYPE_TASK_GATE) {
    if (dpl < cpu.cpl || dpl < (sel & SEL_RPL)) cpu.raise(GP, code);
    if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
    switchTask(cpu, cpu.descLo >>> 16, kind, returnEip, -1, 0);
    return true;
  }
  if (type !== TYPE_TSS16 && type !== TYPE_TSS32 && type !== TYPE_TSS16_BUSY && type !== TYPE_TSS32_BUSY) return false;
  // A TSS descriptor only counts in the GDT, and needs DPL >= CPL and RPL.
  if ((sel & SEL_TI) !== 0 || dpl < cpu.cpl || dpl < (sel & SEL_RPL)) cpu.raise(GP, code);
  switchTask(cpu, sel, kind, returnEip, -1, 0);
  return true;
}

/** An interrupt or exception through a task gate in the IDT (the gate already checked). */
export function interruptViaTaskGate(cpu: CpuCore, tssSel: number, returnEip: number, errorCode: number, ext: number): void {
  switchTask(cpu, tssSel, TASK_INT, returnEip, errorCode, ext);
}

/** IRET with NT set: back to the task whose selector is in the current TSS's back link. */
export function iretTaskReturn(cpu: CpuCore, returnEip: number): void {
  const link = readSystem16(cpu, cpu.trBase | 0);
  switchTask(cpu, link, TASK_IRET, returnEip, -1, 0);
}

/**
 * Switches to the task of TSS selector `tssSel`. `errorCode` >= 0 is pushed on the new task's stack
 * (exceptions through a task gate); `ext` is the EXT bit of error codes (1 for hardware events).
 */
export function switchTask(cpu: CpuCore, tssSel: number, kind: number, returnEip: number, errorCode: number, ext: number): void {
  const selVector = kind === TASK_IRET ? TS : GP;
  const code = (tssSel & ~SEL_RPL) | ext;
  if ((tssSel & SEL_TI) !== 0 || (tssSel & ~SEL_RPL) === 0) cpu.raise(selVector, code);
  if (!fetchDescriptor(cpu, tssSel)) cpu.raise(selVector, code);
  const lo = cpu.descLo;
  let hi = cpu.descHi;
  const descAddr = cpu.descAddr;
  const type = (hi >>> 8) & 0x1f;
  if (type !== TYPE_TSS16 && type !== TYPE_TSS32 && type !== TYPE_TSS16_BUSY && type !== TYPE_TSS32_BUSY) cpu.raise(selVector, code);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
  const busy = (type & TSS_BUSY) !== 0;
  if (kind === TASK_IRET ? !busy : busy) cpu.raise(selVector, code);
  const new32 = (type & 8) !== 0;
  const base = descBase(lo, hi);
  const limit = descLimit(lo, hi);
  if (limit < (new32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT)) cpu.raise(TS, code);

  readIncoming(cpu, base, new32);

  // Save the outgoing task (faults here are still the old task's).
  let oldFlags = readFlags(cpu);
  if (kind === TASK_IRET) oldFlags &= ~NT;
  saveOutgoing(cpu, returnEip, oldFlags);
  if (kind === TASK_JMP || kind === TASK_IRET) setBusy(cpu, cpu.tr, false);
  if (kind === TASK_CALL || kind === TASK_INT) {
    writeSystem16(cpu, base, cpu.tr);
    incoming.eflags |= NT;
  }
  if (kind !== TASK_IRET) {
    hi |= TSS_BUSY << 8;
    writeSystem8(cpu, (descAddr + 5) | 0, (hi >>> 8) & 0xff);
  }

  // Commit: from here on the state is the new task's and faults are delivered in it.
  cpu.tr = tssSel;
  cpu.trBase = base;
  cpu.trLimit = limit;
  cpu.trAttr = (hi >>> 8) & 0xff;
  cpu.cr0 |= CR0_TS;
  try {
    loadIncoming(cpu, new32);
    if (errorCode >= 0) {
      if (new32) cpu.push32(errorCode);
      else cpu.push16(errorCode);
    }
    if (cpu.eip >>> 0 > cpu.segLimit[CS]) cpu.raise(GP, ext);
  } catch (e) {
    if (e !== cpu.fault) throw e;
    cpu.opEip = cpu.eip;
    const vector = cpu.fault.vector;
    const err = cpu.fault.errorCode;
    interruptProtected(cpu, vector, cpu.eip, err >= 0 && vector !== PF ? err | ext : err, false);
  }
  cpu.halted = false;
}

function readIncoming(cpu: CpuCore, base: number, new32: boolean): void {
  if (new32) {
    incoming.cr3 = readSystem32(cpu, (base + TSS32_CR3) | 0);
    incoming.eip = readSystem32(cpu, (base + TSS32_EIP) | 0);
    incoming.eflags = readSystem32(cpu, (base + TSS32_EFLAGS) | 0);
    for (let i = 0; i < 8; i++) incomingRegs[i] = readSystem32(cpu, (base + TSS32_REGS + i * 4) | 0);
    for (let i = 0; i < 6; i++) incomingSegs[i] = readSystem16(cpu, (base + TSS32_SEGS + i * 4) | 0);
    incoming.ldt = readSystem16(cpu, (base + TSS32_LDT) | 0);
  } else {
    incoming.eip = readSystem16(cpu, (base + TSS16_IP) | 0);
    incoming.eflags = readSystem16(cpu, (base + TSS16_FLAGS) | 0);
    // A 16-bit TSS holds the low halves; the high halves of the registers keep their values.
    for (let i = 0; i < 8; i++) incomingRegs[i] = (cpu.regs[i] & ~0xffff) | readSystem16(cpu, (base + TSS16_REGS + i * 2) | 0);
    for (let i = 0; i < 4; i++) incomingSegs[i] = readSystem16(cpu, (base + TSS16_SEGS + i * 2) | 0);
    incomingSegs[FS] = 0;
    incomingSegs[GS] = 0;
    incoming.ldt = readSystem16(cpu, (base + TSS16_LDT) | 0);
  }
}

function saveOutgoing(cpu: CpuCore, eip: number, flags: number): void {
  const base = cpu.trBase;
  if (cpu.tr32) {
    writeSystem32(cpu, (base + TSS32_EIP) | 0, eip);
    writeSystem32(cpu, (base + TSS32_EFLAGS) | 0, flags);
    for (let i = 0; i < 8; i++) writeSystem32(cpu, (base + TSS32_REGS + i * 4) | 0, cpu.regs[i]);
    for (let i = 0; i < 6; i++) writeSystem16(cpu, (base + TSS32_SEGS + i * 4) | 0, cpu.segSel[i]);
  } else {
    writeSystem16(cpu, (base + TSS16_IP) | 0, eip);
    writeSystem16(cpu, (base + TSS16_FLAGS) | 0, flags);
    for (let i = 0; i < 8; i++) writeSystem16(cpu, (base + TSS16_REGS + i * 2) | 0, cpu.regs[i]);
    for (let i = 0; i < 4; i++) writeSystem16(cpu, (base + TSS16_SEGS + i * 2) | 0, cpu.segSel[i]);
  }
}

/** Sets or clears the busy bit of the GDT's TSS descriptor `sel`. */
function setBusy(cpu: CpuCore, sel: number, on: boolean): void {
  if (!fetchDescriptor(cpu, sel)) return;
  const b5 = (cpu.descHi >>> 8) & 0xff;
  writeSystem8(cpu, (cpu.descAddr + 5) | 0, on ? b5 | TSS_BUSY : b5 & ~TSS_BUSY);
}

/** Clears a segment register's cache: it holds its selector but is unusable until checked. */
function unchecked(cpu: CpuCore, seg: number, sel: number): void {
  cpu.segSel[seg] = sel;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0;
  cpu.segAttr[seg] = 0;
  cpu.refreshSegAccess(seg);
}

/** Loads the new task's registers, then checks and loads LDTR and the segments (table 7-1). */
function loadIncoming(cpu: CpuCore, new32: boolean): void {
  if (new32) writeCr3(cpu, incoming.cr3); // with paging off too: the Mmu keeps it for when PG is set
  cpu.eip = incoming.eip;
  // RF is not kept (no instruction breakpoints yet), as IRETD does not keep it. A 16-bit TSS has no
  // VM bit: its task runs in protected mode even when the old one was a v86 task.
  const mask = new32 ? cpu.model.flagsWritable | VM | (cpu.model.generation >= 5 ? VIF | VIP : 0) : (cpu.model.flagsWritable & 0xffff) | VM;
  writeFlags(cpu, incoming.eflags, mask);
  cpu.regs.set(incomingRegs);
  cpu.ldtr = incoming.ldt;
  cpu.ldtrBase = 0;
  cpu.ldtrLimit = 0;
  for (let i = 0; i < 6; i++) unchecked(cpu, i, incomingSegs[i]);
  const sel = incomingSegs;
  cpu.setCpl((cpu.flags & VM) !== 0 ? 3 : sel[CS] & SEL_RPL);
  loadTaskLdt(cpu, incoming.ldt);
  if ((cpu.flags & VM) !== 0) {
    enterV86(cpu, sel[ES], sel[CS], sel[SS], sel[DS], sel[FS], sel[GS]);
    return;
  }
  const csPresent = checkTaskCs(cpu, sel[CS]);
  loadTaskSs(cpu, sel[SS]);
  if (!csPresent) cpu.raise(NP, sel[CS] & ~SEL_RPL);
  // CS was checked above; load its cache now.
  fetchDescriptor(cpu, sel[CS]);
  markAccessed(cpu);
  fillCache(cpu, CS, sel[CS]);
  cpu.setCodeSize((cpu.segAttr[CS] & ATTR_DB) !== 0 ? -1 : 0xffff);
  loadTaskData(cpu, ES, sel[ES]);
  loadTaskData(cpu, DS, sel[DS]);
  loadTaskData(cpu, FS, sel[FS]);
  loadTaskData(cpu, GS, sel[GS]);
}

/** LDTR from the new TSS: null, or an LDT descriptor in the GDT that is present; else #TS(LDT). */
function loadTaskLdt(cpu: CpuCore, sel: number): void {
  if ((sel & ~SEL_RPL) === 0) return;
  const code = sel & ~SEL_RPL;
  if ((sel & SEL_TI) !== 0 || !fetchDescriptor(cpu, sel)) cpu.raise(TS, code);
  const hi = cpu.descHi;
  if (((hi >>> 8) & 0x1f) !== TYPE_LDT || (hi & (DESC_PRESENT << 8)) === 0) cpu.raise(TS, code);
  cpu.ldtrBase = descBase(cpu.descLo, hi);
  cpu.ldtrLimit = descLimit(cpu.descLo, hi);
}

/** CS: a code segment whose DPL matches its RPL (conforming: DPL <= RPL), else #TS. Returns presence. */
function checkTaskCs(cpu: CpuCore, sel: number): boolean {
  const code = sel & ~SEL_RPL;
  if (code === 0 && (sel & SEL_TI) === 0) cpu.raise(TS, 0);
  if (!fetchDescriptor(cpu, sel)) cpu.raise(TS, code);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  if ((type & (DESC_S | DESC_CODE)) !== (DESC_S | DESC_CODE)) cpu.raise(TS, code);
  const dpl = descDpl(hi);
  const rpl = sel & SEL_RPL;
  if ((type & DESC_DC) !== 0 ? dpl > rpl : dpl !== rpl) cpu.raise(TS, code);
  return (hi & (DESC_PRESENT << 8)) !== 0;
}

/** SS: writable data with RPL = DPL = CPL (#TS), present (#SS). */
function loadTaskSs(cpu: CpuCore, sel: number): void {
  const code = sel & ~SEL_RPL;
  if (code === 0 && (sel & SEL_TI) === 0) cpu.raise(TS, 0);
  if (!fetchDescriptor(cpu, sel)) cpu.raise(TS, code);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  if ((type & (DESC_S | DESC_CODE | DESC_RW)) !== (DESC_S | DESC_RW)) cpu.raise(TS, code);
  if ((sel & SEL_RPL) !== cpu.cpl || descDpl(hi) !== cpu.cpl) cpu.raise(TS, code);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(SSF, code);
  markAccessed(cpu);
  fillCache(cpu, SS, sel);
  cpu.stack32 = (cpu.segAttr[SS] & ATTR_DB) !== 0;
}

/** DS, ES, FS, GS: null, or readable with DPL >= CPL and RPL unless conforming code (#TS); present (#NP). */
function loadTaskData(cpu: CpuCore, seg: number, sel: number): void {
  const code = sel & ~SEL_RPL;
  if (code === 0 && (sel & SEL_TI) === 0) return;
  if (!fetchDescriptor(cpu, sel)) cpu.raise(TS, code);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  if ((type & DESC_S) === 0 || (type & (DESC_CODE | DESC_RW)) === DESC_CODE) cpu.raise(TS, code);
  const conformingCode = (type & (DESC_CODE | DESC_DC)) === (DESC_CODE | DESC_DC);
  const dpl = descDpl(hi);
  if (!conformingCode && (dpl < cpu.cpl || dpl < (sel & SEL_RPL))) cpu.raise(TS, code);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
  markAccessed(cpu);
  fillCache(cpu, seg, sel);
}
