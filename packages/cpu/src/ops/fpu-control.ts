import { EAX, GP } from '../cpu.js';
import { fpuEnter, fpuEnterControl, fpuEnterNoWait, fpuWait, part } from '../fpu/enter.js';
import { applyEnvironment, env, lastOpcode, readEnvironment, storeEnvironment } from '../fpu/environment.js';
import { Ext80 } from '../fpu/float80.js';
import { EXC_MASK, FCW_ALWAYS_ONE, FCW_WRITABLE, MXCSR_MASK } from '../fpu/fpu.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { readExt, writeExt } from './fpu-load-store.js';

/** WAIT/FWAIT. */
export function fwait(cpu: Cpu): void {
  fpuWait(cpu);
}

/** FNOP: a waiting instruction that does nothing else (it updates FIP and FOP). */
export function fnop(cpu: Cpu, op: Op): void {
  fpuEnter(cpu, op);
}

/** FNENI, FNDISI, FNSETPM: 8087/287 controls the 387 and later ignore. */
export function fnIgnored(cpu: Cpu): void {
  fpuEnterNoWait(cpu);
}

/** FLDCW m16: bit 6 reads as 1, bits 13-15 as 0; unmasking a raised flag makes it pending. */
export function fldcw(cpu: Cpu, op: Op): void {
  if (!fpuEnterControl(cpu)) return;
  const v = cpu.rd16(op.seg, ea(cpu, op));
  cpu.fpu.cw = (v & FCW_WRITABLE) | FCW_ALWAYS_ONE;
  cpu.fpu.updateErrorSummary();
}

/** FNSTCW m16. */
export function fnstcw(cpu: Cpu, op: Op): void {
  if (!fpuEnterNoWait(cpu)) return;
  cpu.wr16(op.seg, ea(cpu, op), cpu.fpu.cw);
}

/** FNSTSW m16. */
export function fnstswM(cpu: Cpu, op: Op): void {
  if (!fpuEnterNoWait(cpu)) return;
  cpu.wr16(op.seg, ea(cpu, op), cpu.fpu.statusWord());
}

/** FNSTSW AX. */
export function fnstswAx(cpu: Cpu): void {
  if (!fpuEnterNoWait(cpu)) return;
  cpu.r16[EAX << 1] = cpu.fpu.statusWord();
}

/** FNINIT. */
export function fninit(cpu: Cpu): void {
  if (fpuEnterNoWait(cpu)) cpu.fpu.init();
}

/** FNCLEX. */
export function fnclex(cpu: Cpu): void {
  if (fpuEnterNoWait(cpu)) cpu.fpu.clearExceptions();
}

/** FNSTENV m14/m28 (`imm2` 1 = 28-byte form): stores the environment, then masks every exception. */
export function fnstenv(cpu: Cpu, op: Op): void {
  if (!fpuEnterNoWait(cpu)) return;
  storeEnvironment(cpu, op.seg, ea(cpu, op), op.amask, op.imm2 === 1);
  cpu.fpu.cw |= EXC_MASK;
}

/** FLDENV m14/m28. */
export function fldenv(cpu: Cpu, op: Op): void {
  if (!fpuEnterControl(cpu)) return;
  readEnvironment(cpu, op.seg, ea(cpu, op), op.amask, op.imm2 === 1);
  applyEnvironment(cpu.fpu);
}

const regs = [0, 1, 2, 3, 4, 5, 6, 7].map(() => new Ext80());
const tmp = new Ext80();

/** FNSAVE m94/m108: the environment and ST(0)-ST(7) as 80-bit values, then FNINIT. */
export function fnsave(cpu: Cpu, op: Op): void {
  if (!fpuEnterNoWait(cpu)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const size32 = op.imm2 === 1;
  storeEnvironment(cpu, op.seg, a, op.amask, size32);
  const base = size32 ? 28 : 14;
  for (let i = 0; i < 8; i++) writeExt(cpu, op.seg, part(a + base + i * 10, op.amask), op.amask, fpu.read(i, tmp));
  fpu.init();
}

/** FRSTOR m94/m108: everything is read before anything changes, so a fault leaves the FPU as it was. */
export function frstor(cpu: Cpu, op: Op): void {
  if (!fpuEnterControl(cpu)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const size32 = op.imm2 === 1;
  readEnvironment(cpu, op.seg, a, op.amask, size32);
  const base = size32 ? 28 : 14;
  for (let i = 0; i < 8; i++) readExt(cpu, op.seg, part(a + base + i * 10, op.amask), op.amask, regs[i]);
  applyEnvironment(fpu);
  for (let i = 0; i < 8; i++) {
    const empty = fpu.empty[fpu.phys(i)];
    fpu.setExt(i, regs[i]);
    fpu.empty[fpu.phys(i)] = empty;
  }
}

/** FXSAVE/FXRSTOR image offsets (SDM vol. 1, 10.5.1, table 10-2). */
const FX_FCW = 0;
const FX_FSW = 2;
const FX_FTW = 4;
const FX_FOP = 6;
const FX_FIP = 8;
const FX_FCS = 12;
const FX_FDP = 16;
const FX_FDS = 20;
const FX_MXCSR = 24;
const FX_MXCSR_MASK = 28;
const FX_ST0 = 32;

/** The 16-byte alignment FXSAVE and FXRSTOR require (#GP(0) otherwise). */
function fxAddress(cpu: Cpu, op: Op): number {
  const a = ea(cpu, op);
  if (((cpu.segBase[op.seg] + a) & 15) !== 0) cpu.raise(GP, 0);
  return a;
}

/** FXSAVE m512: x87 state with the abridged tag byte and MXCSR; the XMM area is left as it is (no SSE registers). */
export function fxsave(cpu: Cpu, op: Op): void {
  if (!fpuEnterNoWait(cpu)) return;
  const fpu = cpu.fpu;
  const a = fxAddress(cpu, op);
  const at = (o: number): number => part(a + o, op.amask);
  cpu.wr16(op.seg, at(FX_FCW), fpu.cw);
  cpu.wr16(op.seg, at(FX_FSW), fpu.statusWord());
  cpu.wr16(op.seg, at(FX_FTW), fpu.abridgedTag());
  cpu.wr16(op.seg, at(FX_FOP), lastOpcode(cpu));
  cpu.wr32(op.seg, at(FX_FIP), fpu.fip);
  cpu.wr32(op.seg, at(FX_FCS), fpu.fcs);
  cpu.wr32(op.seg, at(FX_FDP), fpu.fdp);
  cpu.wr32(op.seg, at(FX_FDS), fpu.fds);
  cpu.wr32(op.seg, at(FX_MXCSR), fpu.mxcsr);
  cpu.wr32(op.seg, at(FX_MXCSR_MASK), MXCSR_MASK);
  for (let i = 0; i < 8; i++) {
    const o = at(FX_ST0 + i * 16);
    writeExt(cpu, op.seg, o, op.amask, fpu.read(i, tmp));
    cpu.wr16(op.seg, part(o + 10, op.amask), 0);
    cpu.wr32(op.seg, part(o + 12, op.amask), 0);
  }
}

/** FXRSTOR m512: reads the whole image first; reserved MXCSR bits are #GP(0) and change nothing. */
export function fxrstor(cpu: Cpu, op: Op): void {
  if (!fpuEnterNoWait(cpu)) return;
  const fpu = cpu.fpu;
  const a = fxAddress(cpu, op);
  const at = (o: number): number => part(a + o, op.amask);
  const mxcsr = cpu.rd32(op.seg, at(FX_MXCSR)) >>> 0;
  if ((mxcsr & ~MXCSR_MASK) !== 0) cpu.raise(GP, 0);
  env.cw = cpu.rd16(op.seg, at(FX_FCW));
  env.sw = cpu.rd16(op.seg, at(FX_FSW));
  const ftw = cpu.rd8(op.seg, at(FX_FTW));
  env.fop = cpu.rd16(op.seg, at(FX_FOP)) & 0x7ff;
  env.fip = cpu.rd32(op.seg, at(FX_FIP)) >>> 0;
  env.fcs = cpu.rd16(op.seg, at(FX_FCS));
  env.fdp = cpu.rd32(op.seg, at(FX_FDP)) >>> 0;
  env.fds = cpu.rd16(op.seg, at(FX_FDS));
  for (let i = 0; i < 8; i++) readExt(cpu, op.seg, at(FX_ST0 + i * 16), op.amask, regs[i]);
  // the abridged tag names physical registers: bit p set = R(p) in use
  let tw = 0;
  for (let p = 0; p < 8; p++) if (((ftw >>> p) & 1) === 0) tw |= 3 << (p * 2);
  env.tw = tw;
  applyEnvironment(fpu);
  fpu.mxcsr = mxcsr;
  for (let i = 0; i < 8; i++) {
    const empty = fpu.empty[fpu.phys(i)];
    fpu.setExt(i, regs[i]);
    fpu.empty[fpu.phys(i)] = empty;
  }
}

