import { CS } from '../cpu.js';
import type { Cpu } from '../interpreter.js';
import type { Op } from '../op.js';
import { FSW_ES } from './fpu.js';

/** CR0 bits the x87 looks at (SDM vol. 3A, 2.5). */
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_NE = 1 << 5;
/** Device not available and x87 floating-point error (SDM vol. 3A, 6.15). */
export const NM_VECTOR = 7;
export const MF_VECTOR = 16;

/**
 * A pending unmasked exception met by a waiting instruction. CR0.NE = 1: #MF, a fault on this
 * instruction. CR0.NE = 0: FERR# is asserted and the instruction is held (it runs again after the
 * interrupt the board raises, normally IRQ 13, whose handler clears the exception); when FERR# is
 * already asserted or nothing listens, the instruction goes on (IGNNE#). Returns false when held.
 */
function pendingError(cpu: Cpu): boolean {
  if ((cpu.cr0 & CR0_NE) !== 0) cpu.raise(MF_VECTOR);
  const fpu = cpu.fpu;
  if (fpu.onFerr !== null && !fpu.ferr) {
    fpu.setFerr(true);
    cpu.eip = cpu.opEip;
    return false;
  }
  return true;
}

/**
 * Entry of a waiting x87 instruction that updates the instruction pointer (arithmetic, loads,
 * stores, compares): #NM when CR0.EM or CR0.TS is set, pending exceptions reported, FIP/FCS
 * recorded. Returns false when the instruction must not execute (no coprocessor, or held by FERR#).
 */
export function fpuEnter(cpu: Cpu, _op: Op): boolean {
  const fpu = cpu.fpu;
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raise(NM_VECTOR);
  if (!fpu.present) return false;
  if ((fpu.sw & FSW_ES) !== 0 && !pendingError(cpu)) return false;
  fpu.fip = cpu.opEip;
  fpu.fcs = cpu.segSel[CS];
  fpu.fipLinear = (cpu.segBase[CS] + cpu.opEip) | 0;
  fpu.fop = -1; // read back from the instruction bytes when stored
  fpu.suppressed = false;
  return true;
}

/** Entry of a waiting control instruction (FLDCW, FLDENV, FRSTOR): no pointer update. */
export function fpuEnterControl(cpu: Cpu): boolean {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raise(NM_VECTOR);
  if (!cpu.fpu.present) return false;
  return (cpu.fpu.sw & FSW_ES) === 0 || pendingError(cpu);
}

/** Entry of a non-waiting instruction (FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE, FXSAVE). */
export function fpuEnterNoWait(cpu: Cpu): boolean {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raise(NM_VECTOR);
  return cpu.fpu.present;
}

/** WAIT/FWAIT: #NM only when CR0.TS and CR0.MP are both set; then reports pending exceptions. */
export function fpuWait(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) cpu.raise(NM_VECTOR);
  if (cpu.fpu.present && (cpu.fpu.sw & FSW_ES) !== 0) pendingError(cpu);
}

/** Records the last memory operand (offset and selector) for FSTENV/FSAVE/FXSAVE. */
export function recordData(cpu: Cpu, seg: number, offset: number): void {
  cpu.fpu.fdp = offset;
  cpu.fpu.fds = cpu.segSel[seg];
}

/**
 * The offset of a later part of a multi-byte operand: with 16-bit addressing the effective address
 * wraps at 64 KiB but the operand's bytes run on past it (and meet the segment limit), as on the 286
 * and later; with 32-bit addressing offsets wrap at 4 GiB.
 */
export function part(offset: number, amask: number): number {
  return amask === 0xffff ? offset : offset | 0;
}
