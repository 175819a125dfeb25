/**
 * Protected-mode system instructions: LLDT, LTR, SLDT, STR, INVLPG (Intel SDM vol. 2 and vol. 3A,
 * 7.2.4 for the TSS descriptor and the busy bit).
 */
import { GP, UD } from '../cpu.js';
import { DESC_PRESENT, DESC_S, SEL_RPL, SEL_TI, descBase, descLimit, descriptorOrGp, writeSystem8 } from '../descriptors.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { NP } from '../segment-load.js';
import { getReg, setReg } from './regs.js';

/** System descriptor types (byte 5, low 4 bits, S = 0). */
const TYPE_LDT = 0x2;
const TYPE_TSS16_AVAILABLE = 0x1;
const TYPE_TSS32_AVAILABLE = 0x9;
/** Set in a TSS type by LTR and task switches. */
const TSS_BUSY = 0x2;

/** LLDT, LTR, SLDT and STR are #UD outside protected mode; the loads need CPL 0. */
function pmOnly(cpu: Cpu, privileged: boolean): void {
  if (!cpu.protectedMode) cpu.raise(UD);
  if (privileged && cpu.cpl !== 0) cpu.raise(GP, 0);
}

/** Fetches a GDT system descriptor of type `want` (or `want2`) for `sel`, or raises #GP/#NP(selector). */
function systemDescriptor(cpu: Cpu, sel: number, want: number, want2: number): number {
  const code = sel & ~SEL_RPL;
  if ((sel & SEL_TI) !== 0) cpu.raise(GP, code);
  descriptorOrGp(cpu, sel);
  const type = (cpu.descHi >>> 8) & 0x1f;
  if ((type & DESC_S) !== 0 || (type !== want && type !== want2)) cpu.raise(GP, code);
  if ((cpu.descHi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
  return type;
}

function lldt(cpu: Cpu, sel: number): void {
  pmOnly(cpu, true);
  if ((sel & ~(SEL_RPL | SEL_TI)) === 0) {
    cpu.ldtr = sel;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    return;
  }
  systemDescriptor(cpu, sel, TYPE_LDT, TYPE_LDT);
  cpu.ldtr = sel;
  cpu.ldtrBase = descBase(cpu.descLo, cpu.descHi);
  cpu.ldtrLimit = descLimit(cpu.descLo, cpu.descHi);
}

function ltr(cpu: Cpu, sel: number): void {
  pmOnly(cpu, true);
  if ((sel & ~(SEL_RPL | SEL_TI)) === 0) cpu.raise(GP, 0);
  systemDescriptor(cpu, sel, TYPE_TSS16_AVAILABLE, TYPE_TSS32_AVAILABLE);
  cpu.descHi |= TSS_BUSY << 8;
  writeSystem8(cpu, (cpu.descAddr + 5) | 0, (cpu.descHi >>> 8) & 0xff);
  cpu.tr = sel;
  cpu.trBase = descBase(cpu.descLo, cpu.descHi);
  cpu.trLimit = descLimit(cpu.descLo, cpu.descHi);
  cpu.trAttr = (cpu.descHi >>> 8) & 0xff;
}

export function lldtR(cpu: Cpu, op: Op): void {
  lldt(cpu, getReg(cpu, op.m, 15));
}
export function lldtM(cpu: Cpu, op: Op): void {
  lldt(cpu, cpu.rd16(op.seg, ea(cpu, op)));
}
export function ltrR(cpu: Cpu, op: Op): void {
  ltr(cpu, getReg(cpu, op.m, 15));
}
export function ltrM(cpu: Cpu, op: Op): void {
  ltr(cpu, cpu.rd16(op.seg, ea(cpu, op)));
}

/** SLDT/STR (`ext` 0 = LDTR, 1 = TR): a register gets the selector zero-extended, memory 16 bits. */
export function storeSysSelR(cpu: Cpu, op: Op): void {
  pmOnly(cpu, false);
  setReg(cpu, op.m, op.ext === 0 ? cpu.ldtr : cpu.tr, op.msb);
}
export function storeSysSelM(cpu: Cpu, op: Op): void {
  pmOnly(cpu, false);
  cpu.wr16(op.seg, ea(cpu, op), op.ext === 0 ? cpu.ldtr : cpu.tr);
}

/** INVLPG m: drops the translation of the page holding the operand's linear address. */
export function invlpg(cpu: Cpu, op: Op): void {
  if (cpu.cpl !== 0) cpu.raise(GP, 0);
  cpu.mmu?.invlpg((cpu.segBase[op.seg] + ea(cpu, op)) | 0);
}
