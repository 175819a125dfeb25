/**
 * Far JMP and CALL through call gates (Intel SDM vol. 3A, 5.8.3-5.8.5): to the same level, or (CALL
 * only) to a more privileged non-conforming segment with the stack switch through the TSS and the
 * gate's parameter count copied from the old stack to the new one.
 */
import { CS, GP, SS, type CpuCore } from './cpu.js';
import { DESC_CODE, DESC_DC, DESC_PRESENT, DESC_S, SEL_RPL, descDpl, fetchDescriptor, readSystem16, readSystem32 } from './descriptors.js';
import { TS, loadStackFor, restoreStack, saveStack } from './pm-interrupts.js';
import { NP, loadCsProtected } from './segment-load.js';

const GATE_CALL16 = 0x04;
const GATE_CALL32 = 0x0c;
/** Parameters copied by an inner-level call (the count field is 5 bits). */
const params = new Int32Array(32);

/**
 * When `sel` names a call gate, performs the far JMP (`isCall` false) or CALL through it and returns
 * true; otherwise returns false and the caller treats `sel` as a code segment. `returnEip` is the
 * address after the CALL.
 */
export function viaCallGate(cpu: CpuCore, sel: number, isCall: boolean, returnEip: number): boolean {
  if ((sel & ~SEL_RPL) === 0 && (sel & 4) === 0) return false;
  if (!fetchDescriptor(cpu, sel)) return false;
  const lo = cpu.descLo;
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  if (type !== GATE_CALL16 && type !== GATE_CALL32) return false;
  const code = sel & ~SEL_RPL;
  const gdpl = descDpl(hi);
  if (gdpl < cpu.cpl || gdpl < (sel & SEL_RPL)) cpu.raise(GP, code);
  if ((hi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, code);
  const gate32 = type === GATE_CALL32;
  const target = lo >>> 16;
  const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  const count = hi & 0x1f;

  const tcode = target & ~SEL_RPL;
  if (tcode === 0 && (target & 4) === 0) cpu.raise(GP, 0);
  if (!fetchDescriptor(cpu, target)) cpu.raise(GP, tcode);
  const thi = cpu.descHi;
  const ttype = (thi >>> 8) & 0x1f;
  const dpl = descDpl(thi);
  if ((ttype & (DESC_S | DESC_CODE)) !== (DESC_S | DESC_CODE) || dpl > cpu.cpl) cpu.raise(GP, tcode);
  if ((thi & (DESC_PRESENT << 8)) === 0) cpu.raise(NP, tcode);
  const inner = (ttype & DESC_DC) === 0 && dpl < cpu.cpl;
  if (!isCall) {
    if (inner) cpu.raise(GP, tcode);
    loadCsProtected(cpu, (target & ~SEL_RPL) | cpu.cpl, offset, false);
    return true;
  }
  const csSel = cpu.segSel[CS];
  saveStack(cpu);
  try {
    if (inner) {
      const oldSs = cpu.segSel[SS];
      const oldEsp = cpu.regs[4];
      const size = gate32 ? 4 : 2;
      for (let i = 0; i < count; i++) {
        const at = cpu.stack32 ? (oldEsp + i * size) | 0 : (oldEsp + i * size) & 0xffff;
        params[i] = gate32 ? cpu.rd32(SS, at) : cpu.rd16(SS, at);
      }
      const tss32 = cpu.tr32;
      const at = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
      if (at + (tss32 ? 5 : 3) > cpu.trLimit) cpu.raise(TS, cpu.tr & ~SEL_RPL);
      const newEsp = tss32 ? readSystem32(cpu, (cpu.trBase + at) | 0) : readSystem16(cpu, (cpu.trBase + at) | 0);
      const newSs = readSystem16(cpu, (cpu.trBase + at + (tss32 ? 4 : 2)) | 0);
      loadStackFor(cpu, newSs, dpl, TS, 0);
      cpu.regs[4] = cpu.stack32 ? newEsp : (cpu.regs[4] & ~0xffff) | (newEsp & 0xffff);
      cpu.setCpl(dpl);
      push(cpu, oldSs, gate32);
      push(cpu, oldEsp, gate32);
      for (let i = count - 1; i >= 0; i--) push(cpu, params[i], gate32);
    }
    push(cpu, csSel, gate32);
    push(cpu, returnEip, gate32);
    loadCsProtected(cpu, (target & ~SEL_RPL) | cpu.cpl, offset, false);
  } catch (e) {
    restoreStack(cpu);
    throw e;
  }
  return true;
}

function push(cpu: CpuCore, v: number, wide: boolean): void {
  if (wide) cpu.push32(v);
  else cpu.push16(v);
}
