/**
 * Segment register loads in protected mode (Intel SDM vol. 3A, 5.5-5.8): the type, privilege and
 * presence checks with their selector error codes, then the hidden cache. Control transfers here
 * are to code segments of the current privilege level (conforming or not); gates and privilege
 * changes are refused with #GP until they are implemented.
 */
import { CS, GP, SS, SSF, type CpuCore } from './cpu.js';
import {
  ATTR_DB,
  DESC_CODE,
  DESC_DC,
  DESC_PRESENT,
  DESC_RW,
  DESC_S,
  SEL_RPL,
  descAttr,
  descBase,
  descDpl,
  descLimit,
  descriptorOrGp,
  markAccessed,
} from './descriptors.js';

/** #NP (6.15, interrupt 11). */
export const NP = 11;

export function fillCache(cpu: CpuCore, seg: number, sel: number): void {
  const lo = cpu.descLo;
  const hi = cpu.descHi;
  cpu.segSel[seg] = sel;
  cpu.segBase[seg] = descBase(lo, hi);
  cpu.segLimit[seg] = descLimit(lo, hi);
  cpu.segAttr[seg] = descAttr(hi);
  cpu.refreshSegAccess(seg);
}

/** MOV/POP/LxS to SS, DS, ES, FS or GS in protected mode. */
export function loadDataSegProtected(cpu: CpuCore, seg: number, sel: number): void {
  const cpl = cpu.cpl;
  const code = sel & ~SEL_RPL;
  if ((sel & ~SEL_RPL) === 0 && (sel & 4) === 0) {
    if (seg === SS) cpu.raise(GP, 0);
    // A null selector loads: using the segment faults (#GP(0): its cache is marked not present).
    cpu.segSel[seg] = sel;
    cpu.segBase[seg] = 0;
    cpu.segLimit[seg] = 0;
    cpu.segAttr[seg] = 0;
    cpu.refreshSegAccess(seg);
    return;
  }
  descriptorOrGp(cpu, sel);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  const dpl = descDpl(hi);
  const rpl = sel & SEL_RPL;
  if ((type & DESC_S) === 0) cpu.raise(GP, code);
  if (seg === SS) {
    if (rpl !== cpl || dpl !== cpl || (type & DESC_CODE) !== 0 || (type & DESC_RW) === 0) cpu.raise(GP, code);
    if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(SSF, code);
  } else {
    if ((type & (DESC_CODE | DESC_RW)) === DESC_CODE) cpu.raise(GP, code); // execute-only code
    const conformingCode = (type & (DESC_CODE | DESC_DC)) === (DESC_CODE | DESC_DC);
    if (!conformingCode && dpl < Math.max(cpl, rpl)) cpu.raise(GP, code);
    if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
  }
  markAccessed(cpu);
  fillCache(cpu, seg, sel);
  if (seg === SS) cpu.stack32 = (cpu.segAttr[SS] & ATTR_DB) !== 0;
}

/**
 * Far JMP/CALL/RET to `sel:off` in protected mode, same privilege only: a non-conforming segment
 * needs RPL <= CPL and DPL = CPL, a conforming one DPL <= CPL; CPL is unchanged and becomes the
 * RPL of CS. `off` is checked against the new limit (#GP(0)).
 */
export function loadCsProtected(cpu: CpuCore, sel: number, off: number, returning: boolean): void {
  const code = sel & ~SEL_RPL;
  if (code === 0 && (sel & 4) === 0) cpu.raise(GP, 0);
  descriptorOrGp(cpu, sel);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  const dpl = descDpl(hi);
  const rpl = sel & SEL_RPL;
  const cpl = cpu.cpl;
  if ((type & (DESC_S | DESC_CODE)) !== (DESC_S | DESC_CODE)) cpu.raise(GP, code); // gates, TSS: not yet
  if (returning) {
    if (rpl !== cpl) cpu.raise(GP, code); // a return to an outer level: not yet
    if ((type & DESC_DC) !== 0 ? dpl > rpl : dpl !== rpl) cpu.raise(GP, code);
  } else if ((type & DESC_DC) !== 0) {
    if (dpl > cpl) cpu.raise(GP, code);
  } else if (rpl > cpl || dpl !== cpl) {
    cpu.raise(GP, code);
  }
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
  if (off >>> 0 > descLimit(cpu.descLo, hi)) cpu.raise(GP, 0);
  markAccessed(cpu);
  fillCache(cpu, CS, (sel & ~SEL_RPL) | cpl);
  cpu.setCodeSize((cpu.segAttr[CS] & ATTR_DB) !== 0 ? -1 : 0xffff);
  cpu.eip = off & cpu.ipMask;
}
