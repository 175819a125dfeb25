/**
 * LAR, LSL, VERR, VERW and ARPL (Intel SDM vol. 2): questions about a selector answered in ZF,
 * never faulting on a bad selector. #UD outside protected mode.
 */
import { UD } from '../cpu.js';
import { DESC_CODE, DESC_DC, DESC_RW, DESC_S, SEL_RPL, descDpl, descLimit, fetchDescriptor } from '../descriptors.js';
import { ZF, materializeFlags } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';

/** System types LAR reports: 16/32-bit TSS (available, busy), LDT, call and task gates. */
const LAR_SYSTEM_TYPES = 0b0001_1010_0011_1110; // 1, 2, 3, 4, 5, 9, B, C
/** System types LSL reports: TSSs and the LDT (gates have no limit). */
const LSL_SYSTEM_TYPES = 0b0000_1010_0000_1110; // 1, 2, 3, 9, B

function setZf(cpu: Cpu, on: boolean): void {
  materializeFlags(cpu);
  cpu.flags = on ? cpu.flags | ZF : cpu.flags & ~ZF;
}

/** Fetches the descriptor and applies the visibility rule (DPL >= CPL and RPL, except conforming code). */
function visible(cpu: Cpu, sel: number, systemTypes: number): boolean {
  if (!cpu.protectedMode) cpu.raise(UD);
  if ((sel & ~SEL_RPL) === 0 && (sel & 4) === 0) return false;
  if (!fetchDescriptor(cpu, sel)) return false;
  const type = (cpu.descHi >>> 8) & 0x1f;
  if ((type & DESC_S) === 0 && ((systemTypes >>> type) & 1) === 0) return false;
  const conformingCode = (type & (DESC_S | DESC_CODE | DESC_DC)) === (DESC_S | DESC_CODE | DESC_DC);
  const dpl = descDpl(cpu.descHi);
  return conformingCode || (dpl >= cpu.cpl && dpl >= (sel & SEL_RPL));
}

function selectorOperand(cpu: Cpu, op: Op, isMem: boolean): number {
  return isMem ? cpu.rd16(op.seg, ea(cpu, op)) : getReg(cpu, op.m, 15);
}

function lar(cpu: Cpu, op: Op, isMem: boolean): void {
  const ok = visible(cpu, selectorOperand(cpu, op, isMem), LAR_SYSTEM_TYPES);
  if (ok) setReg(cpu, op.r, cpu.descHi & (op.msb === 31 ? 0x00f0ff00 : 0xff00), op.msb);
  setZf(cpu, ok);
}
export const larR = (cpu: Cpu, op: Op): void => lar(cpu, op, false);
export const larM = (cpu: Cpu, op: Op): void => lar(cpu, op, true);

function lsl(cpu: Cpu, op: Op, isMem: boolean): void {
  const ok = visible(cpu, selectorOperand(cpu, op, isMem), LSL_SYSTEM_TYPES);
  if (ok) setReg(cpu, op.r, descLimit(cpu.descLo, cpu.descHi), op.msb);
  setZf(cpu, ok);
}
export const lslR = (cpu: Cpu, op: Op): void => lsl(cpu, op, false);
export const lslM = (cpu: Cpu, op: Op): void => lsl(cpu, op, true);

/** VERR (`ext` 0) / VERW (`ext` 1): readable / writable at the current privilege level. */
function verify(cpu: Cpu, op: Op, isMem: boolean): void {
  let ok = visible(cpu, selectorOperand(cpu, op, isMem), 0);
  if (ok) {
    const type = (cpu.descHi >>> 8) & 0x1f;
    const code = (type & DESC_CODE) !== 0;
    ok = op.ext === 0 ? !code || (type & DESC_RW) !== 0 : !code && (type & DESC_RW) !== 0;
  }
  setZf(cpu, ok);
}
export const verR = (cpu: Cpu, op: Op): void => verify(cpu, op, false);
export const verM = (cpu: Cpu, op: Op): void => verify(cpu, op, true);

/** ARPL r/m16, r16: raises the destination selector's RPL to the source's (ZF says it did). */
function arpl(cpu: Cpu, op: Op, isMem: boolean): void {
  if (!cpu.protectedMode) cpu.raise(UD);
  const off = isMem ? ea(cpu, op) : 0;
  const dst = isMem ? cpu.rd16(op.seg, off) : getReg(cpu, op.m, 15);
  const src = getReg(cpu, op.r, 15);
  const raise = (dst & SEL_RPL) < (src & SEL_RPL);
  if (raise) {
    const v = (dst & ~SEL_RPL) | (src & SEL_RPL);
    if (isMem) cpu.wr16(op.seg, off, v);
    else setReg(cpu, op.m, v, 15);
  }
  setZf(cpu, raise);
}
export const arplR = (cpu: Cpu, op: Op): void => arpl(cpu, op, false);
export const arplM = (cpu: Cpu, op: Op): void => arpl(cpu, op, true);
