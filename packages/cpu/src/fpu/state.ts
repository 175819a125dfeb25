import type { CpuCore } from '../cpu.js';
import { CpuError } from '../errors.js';
import { lastOpcode } from './environment.js';
import { Ext80 } from './float80.js';
import { FCW_ALWAYS_ONE, MXCSR_MASK } from './fpu.js';

/** One x87 data register as its 80 bits: sign and exponent (16 bits), significand (two 32-bit halves). */
export interface FpuRegister {
  signExponent: number;
  significandHigh: number;
  significandLow: number;
}

/**
 * The x87 state as plain data, describing the hardware: the control, status (with TOP) and full tag
 * words, the physical registers R0-R7 in 80-bit form, the last instruction and data pointers and
 * opcode, and MXCSR (kept for FXSAVE/FXRSTOR).
 */
export interface FpuState {
  controlWord: number;
  statusWord: number;
  tagWord: number;
  /** R0-R7 (ST(i) is R((TOP + i) mod 8)). */
  registers: FpuRegister[];
  instructionPointer: number;
  instructionSelector: number;
  /** 11 bits: the low 3 bits of the first opcode byte and the ModR/M byte. */
  lastOpcode: number;
  dataPointer: number;
  dataSelector: number;
  mxcsr: number;
}

export type FpuStatePatch = Partial<FpuState>;

const scratch = new Ext80();

export function getFpuState(cpu: CpuCore): FpuState {
  const fpu = cpu.fpu;
  const registers: FpuRegister[] = [];
  for (let p = 0; p < 8; p++) {
    fpu.readPhys(p, scratch);
    registers.push({ signExponent: scratch.se, significandHigh: scratch.hi >>> 0, significandLow: scratch.lo >>> 0 });
  }
  return {
    controlWord: fpu.cw,
    statusWord: fpu.statusWord(),
    tagWord: fpu.tagWord(),
    registers,
    instructionPointer: fpu.fip >>> 0,
    instructionSelector: fpu.fcs,
    lastOpcode: lastOpcode(cpu),
    dataPointer: fpu.fdp >>> 0,
    dataSelector: fpu.fds,
    mxcsr: fpu.mxcsr >>> 0,
  };
}

function num(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new CpuError('InvalidState', `state field 'fpu.${field}' must be an integer in 0..${max}, got ${String(value)}`);
  }
  return value;
}

/** Control-word bits that exist: masks, bit 6 (reads as 1), PC, RC, IC. */
const FCW_DEFINED = 0x1f7f;

/**
 * Validates an FPU patch (throws `CpuError('InvalidState')` naming the field) and returns the
 * function that applies it, so the caller changes nothing until every field has been checked.
 */
export function fpuStateWriter(cpu: CpuCore, patch: unknown): () => void {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new CpuError('InvalidState', "state field 'fpu' must be an object");
  const p = patch as Record<string, unknown>;
  const opt = (name: string, max: number): number | undefined => (p[name] === undefined ? undefined : num(p[name], name, max));
  const cw = opt('controlWord', 0xffff);
  if (cw !== undefined && (cw & ~FCW_DEFINED) !== 0) throw new CpuError('InvalidState', `state field 'fpu.controlWord' has reserved bits set: ${cw.toString(16)}`);
  const sw = opt('statusWord', 0xffff);
  const tw = opt('tagWord', 0xffff);
  const fip = opt('instructionPointer', 0xffffffff);
  const fcs = opt('instructionSelector', 0xffff);
  const fop = opt('lastOpcode', 0x7ff);
  const fdp = opt('dataPointer', 0xffffffff);
  const fds = opt('dataSelector', 0xffff);
  const mxcsr = opt('mxcsr', 0xffffffff);
  if (mxcsr !== undefined && (mxcsr & ~MXCSR_MASK) !== 0) throw new CpuError('InvalidState', `state field 'fpu.mxcsr' has reserved bits set: ${mxcsr.toString(16)}`);
  let regs: [number, number, number][] | undefined;
  if (p.registers !== undefined) {
    if (!Array.isArray(p.registers) || p.registers.length !== 8) throw new CpuError('InvalidState', "state field 'fpu.registers' must be an array of 8 registers");
    regs = (p.registers as unknown[]).map((r, i) => {
      if (typeof r !== 'object' || r === null) throw new CpuError('InvalidState', `state field 'fpu.registers[${i}]' must be an object`);
      const reg = r as Record<string, unknown>;
      return [
        num(reg.signExponent, `registers[${i}].signExponent`, 0xffff),
        num(reg.significandHigh, `registers[${i}].significandHigh`, 0xffffffff),
        num(reg.significandLow, `registers[${i}].significandLow`, 0xffffffff),
      ];
    });
  }
  return () => {
    const fpu = cpu.fpu;
    if (cw !== undefined) fpu.cw = cw | FCW_ALWAYS_ONE;
    if (regs !== undefined) {
      regs.forEach(([se, hi, lo], i) => {
        const empty = fpu.empty[i];
        fpu.setRaw(i, se, hi, lo);
        fpu.empty[i] = empty;
      });
    }
    if (sw !== undefined) fpu.setStatusWord(sw);
    if (tw !== undefined) fpu.setTagWord(tw);
    if (fip !== undefined) fpu.fip = fip | 0;
    if (fcs !== undefined) fpu.fcs = fcs;
    if (fop !== undefined) fpu.fop = fop;
    if (fdp !== undefined) fpu.fdp = fdp | 0;
    if (fds !== undefined) fpu.fds = fds;
    if (mxcsr !== undefined) fpu.mxcsr = mxcsr;
    if (cw !== undefined || sw !== undefined) fpu.updateErrorSummary();
  };
}
