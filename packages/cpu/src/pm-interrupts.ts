/**
 * Interrupt and exception delivery in protected mode through the IDT (Intel SDM vol. 3A, 6.10-6.13),
 * and IRET back. Implemented: 16- and 32-bit interrupt and trap gates to a code segment at the
 * current privilege level (or a conforming one), with the error code pushed for the exceptions that
 * have one. Not yet: task gates, the inter-privilege stack switch through the TSS, IRET to an outer
 * level or with NT set; those raise #GP.
 */
import { CS, GP, type CpuCore } from './cpu.js';
import { DESC_CODE, DESC_DC, DESC_PRESENT, DESC_S, descDpl, descLimit, fetchDescriptor, readSystem32, SEL_RPL } from './descriptors.js';
import { IF, IOPL, NT, RF, TF, VM, readFlags, writeFlags } from './flags.js';

import { NP, loadCsProtected } from './segment-load.js';

/** Gate types (descriptor byte 5, low 5 bits, S = 0). */
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
  if (type !== GATE_INT16 && type !== GATE_TRAP16 && type !== GATE_INT32 && type !== GATE_TRAP32) cpu.raise(GP, idtCode);
  if (soft && descDpl(hi) < cpu.cpl) cpu.raise(GP, idtCode);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, idtCode);
  const sel = lo >>> 16;
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
  // An inner privilege level needs the TSS stack switch (not implemented yet).
  if ((ctype & DESC_DC) === 0 && dpl < cpu.cpl) cpu.raise(GP, selCode);
  if (offset >>> 0 > descLimit(cpu.descLo, chi)) cpu.raise(GP, ext);

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

/**
 * IRET/IRETD in protected mode to the same privilege level: pops EIP, CS, EFLAGS; IOPL changes
 * only at CPL 0, IF only when CPL <= IOPL (6.12.1, IRET in vol. 2A).
 */
export function iretProtected(cpu: CpuCore, op32: boolean): void {
  if ((readFlags(cpu) & NT) !== 0) cpu.raise(GP, 0); // task return: not yet
  const sp = cpu.regs[4];
  try {
    const eip = op32 ? cpu.pop32() : cpu.pop16();
    const sel = op32 ? cpu.pop32() & 0xffff : cpu.pop16();
    const f = op32 ? cpu.pop32() : cpu.pop16();
    if ((sel & SEL_RPL) !== cpu.cpl) cpu.raise(GP, sel & ~SEL_RPL); // outer level: not yet
    loadCsProtected(cpu, sel, eip, true);
    const iopl = (readFlags(cpu) & IOPL) >>> 12;
    let mask = (op32 ? cpu.model.flagsWritable : cpu.model.flagsWritable & 0xffff) & ~VM;
    if (cpu.cpl !== 0) mask &= ~IOPL;
    if (cpu.cpl > iopl) mask &= ~IF;
    writeFlags(cpu, f, mask);
  } catch (e) {
    cpu.regs[4] = sp;
    throw e;
  }
}


