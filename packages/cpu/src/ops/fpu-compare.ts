import { Operand, regOperand } from '../fpu/arith.js';
import { fpuEnter, recordData, part } from '../fpu/enter.js';
import { K_DENORMAL, K_INF, K_NORMAL, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO } from '../fpu/float80.js';
import { doubleOperand, singleOperand } from '../fpu/formats.js';
import { type Fpu, FSW_C1, FSW_DE, FSW_IE } from '../fpu/fpu.js';
import { AF, CF, OF, PF, SF, ZF, writeFlags } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { MEM_F32, MEM_F64, MEM_I16 } from './fpu-arith.js';

const a = new Operand();
const b = new Operand();

const GREATER = 0;
const LESS = 1;
const EQUAL = 2;
const UNORDERED = 3;
/** No result: an unmasked exception left everything unchanged. */
const NONE = -1;

/**
 * Compares two operands. Ordered compares (FCOM, FCOMI, FICOM, FTST) raise IE on any NaN, unordered
 * ones (FUCOM, FUCOMI) only on SNaNs; unsupported encodings are always invalid.
 */
function compare(fpu: Fpu, x: Operand, y: Operand, unordered: boolean): number {
  const kx = x.k;
  const ky = y.k;
  const nan = kx === K_QNAN || kx === K_SNAN || kx === K_UNSUPPORTED || ky === K_QNAN || ky === K_SNAN || ky === K_UNSUPPORTED;
  if (nan) {
    const invalid = !unordered || kx === K_SNAN || ky === K_SNAN || kx === K_UNSUPPORTED || ky === K_UNSUPPORTED;
    if (invalid && fpu.signal(FSW_IE)) return NONE;
    return UNORDERED;
  }
  if ((kx === K_DENORMAL || ky === K_DENORMAL) && fpu.signal(FSW_DE)) return NONE;
  if (x.v > y.v) return GREATER;
  if (x.v < y.v) return LESS;
  return EQUAL;
}

/** C3, C2, C0 for a relation (C1 cleared). */
function setCompareCC(fpu: Fpu, rel: number): void {
  fpu.setCC(rel === EQUAL || rel === UNORDERED ? 1 : 0, rel === UNORDERED ? 1 : 0, 0, rel === LESS || rel === UNORDERED ? 1 : 0);
}

/** Both operands present, or a stack underflow (masked: unordered). Returns the relation or NONE. */
function compareRegs(fpu: Fpu, i: number, y: Operand | null, unordered: boolean): number {
  if (fpu.isEmpty(0) || (y === null && fpu.isEmpty(i))) return fpu.underflow() ? UNORDERED : NONE;
  return compare(fpu, regOperand(fpu, 0, a), y ?? regOperand(fpu, i, b), unordered);
}

/** FCOM/FCOMP/FICOM/FICOMP with a memory operand: `ext` 1 pops, `imm2` = format. */
export function fcomM(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const addr = ea(cpu, op);
  let denormal = false;
  if (op.imm2 === MEM_F32) denormal = singleOperand(cpu.rd32(op.seg, addr), b);
  else if (op.imm2 === MEM_F64) {
    const lo = cpu.rd32(op.seg, addr);
    denormal = doubleOperand(lo, cpu.rd32(op.seg, part(addr + 4, op.amask)), b);
  } else {
    b.v = op.imm2 === MEM_I16 ? (cpu.rd16(op.seg, addr) << 16) >> 16 : cpu.rd32(op.seg, addr);
    b.k = b.v === 0 ? K_ZERO : K_NORMAL;
  }
  recordData(cpu, op.seg, addr);
  if (denormal && fpu.signal(FSW_DE)) return;
  const rel = compareRegs(fpu, 0, b, false);
  if (rel === NONE) return;
  setCompareCC(fpu, rel);
  if (op.ext !== 0) fpu.pop();
}

/** FCOM/FCOMP/FCOMPP/FUCOM/FUCOMP/FUCOMPP ST(i): `ext` = pops, `imm2` 1 = unordered. */
export function fcomR(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  // FCOMPP and FUCOMPP (two pops) compare with ST(1)
  const rel = compareRegs(fpu, op.ext === 2 ? 1 : op.m, null, op.imm2 === 1);
  if (rel === NONE) return;
  setCompareCC(fpu, rel);
  for (let i = 0; i < op.ext; i++) fpu.pop();
}

/** FTST: ST(0) against +0.0. */
export function ftst(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  b.v = 0;
  b.k = K_ZERO;
  const rel = compareRegs(fpu, 0, b, false);
  if (rel !== NONE) setCompareCC(fpu, rel);
}

/** FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF, PF, CF from the comparison (OF, SF, AF cleared); `ext` 1 pops, `imm2` 1 = unordered. */
export function fcomi(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const rel = compareRegs(fpu, op.m, null, op.imm2 === 1);
  if (rel === NONE) return;
  fpu.sw &= ~FSW_C1;
  const f = rel === GREATER ? 0 : rel === LESS ? CF : rel === EQUAL ? ZF : ZF | PF | CF;
  writeFlags(cpu, f, ZF | PF | CF | OF | SF | AF);
  if (op.ext !== 0) fpu.pop();
}

/** FXAM: the class of ST(0) in C3, C2, C0 and its sign in C1 (SDM vol. 1, table 8-7). */
export function fxam(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const p = fpu.phys(0);
  const sign = fpu.exact[p] !== 0 ? fpu.se[p] >>> 15 : fpu.val[p] < 0 || Object.is(fpu.val[p], -0) ? 1 : 0;
  if (fpu.empty[p] !== 0) {
    fpu.setCC(1, 0, sign, 1);
    return;
  }
  switch (fpu.kind[p]) {
    case K_UNSUPPORTED: fpu.setCC(0, 0, sign, 0); break;
    case K_QNAN:
    case K_SNAN: fpu.setCC(0, 0, sign, 1); break;
    case K_INF: fpu.setCC(0, 1, sign, 1); break;
    case K_ZERO: fpu.setCC(1, 0, sign, 0); break;
    case K_DENORMAL: fpu.setCC(1, 1, sign, 0); break;
    default: fpu.setCC(0, 1, sign, 0); break;
  }
}
