import type { CpuCore } from '../cpu.js';
import type { Cpu } from '../interpreter.js';
import { part } from './enter.js';
import type { Fpu } from './fpu.js';

/**
 * The FPU environment as FSTENV/FSAVE store it and FLDENV/FRSTOR load it (Intel SDM vol. 1, 8.1.10,
 * figures 8-9 to 8-12): 14 bytes with a 16-bit operand size, 28 with 32-bit; the protected-mode
 * layout holds offsets and selectors, the real-mode (and virtual-8086) layout linear addresses with
 * the last opcode.
 */

/** Prefix bytes skipped when the last opcode is read back for FOP. */
const PREFIXES = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x9b]) PREFIXES[p] = 1;

/**
 * FOP: the low 3 bits of the last non-control instruction's first opcode byte and its ModR/M byte
 * (11 bits). It is read back from the instruction's bytes when first needed, so executing x87
 * instructions does not pay for it; 0 when the bytes cannot be read.
 */
export function lastOpcode(cpu: CpuCore): number {
  const fpu = cpu.fpu;
  if (fpu.fop >= 0) return fpu.fop;
  let fop = 0;
  for (let i = 0; i < 15; i++) {
    const b = readCodeByte(cpu, (fpu.fipLinear + i) | 0);
    if (b < 0 || PREFIXES[b] !== 0) {
      if (b < 0) break;
      continue;
    }
    const modrm = readCodeByte(cpu, (fpu.fipLinear + i + 1) | 0);
    if ((b & 0xf8) === 0xd8 && modrm >= 0) fop = ((b & 7) << 8) | modrm;
    break;
  }
  fpu.fop = fop;
  return fop;
}

/** A byte at a linear address without side effects (no #PF, no CR2): -1 when it does not translate. */
function readCodeByte(cpu: CpuCore, linear: number): number {
  let phys: number;
  if (cpu.paging && cpu.mmu !== null) {
    phys = cpu.mmu.translateFetch(linear);
    if (phys < 0) {
      cpu.mmu.pageFault = false;
      return -1;
    }
  } else phys = (linear & cpu.a20Mask) >>> 0;
  return cpu.physMem.read8(phys >>> 0);
}

/** The environment fields as loaded from memory, applied only once every read has succeeded. */
export const env = { cw: 0, sw: 0, tw: 0, fip: 0, fcs: 0, fop: 0, fdp: 0, fds: 0 };

/** Stores the environment at seg:offset (`size32`: 28-byte form). */
export function storeEnvironment(cpu: Cpu, seg: number, a: number, amask: number, size32: boolean): void {
  const fpu = cpu.fpu;
  const fop = lastOpcode(cpu);
  const sw = fpu.statusWord();
  const tw = fpu.tagWord();
  const step = size32 ? 4 : 2;
  const put = (i: number, v: number): void => {
    const o = part(a + i * step, amask);
    if (size32) cpu.wr32(seg, o, v);
    else cpu.wr16(seg, o, v);
  };
  put(0, fpu.cw);
  put(1, sw);
  put(2, tw);
  if (cpu.protectedMode) {
    put(3, fpu.fip);
    put(4, size32 ? fpu.fcs | (fop << 16) : fpu.fcs);
    put(5, fpu.fdp);
    put(6, fpu.fds);
  } else {
    const ip = ((fpu.fcs << 4) + fpu.fip) >>> 0;
    const dp = ((fpu.fds << 4) + fpu.fdp) >>> 0;
    put(3, ip & 0xffff);
    put(4, (size32 ? ((ip >>> 16) << 12) : ((ip >>> 16) & 0xf) << 12) | fop);
    put(5, dp & 0xffff);
    put(6, size32 ? (dp >>> 16) << 12 : ((dp >>> 16) & 0xf) << 12);
  }
}

/** Reads the environment at seg:offset into `env` (nothing applied yet). */
export function readEnvironment(cpu: Cpu, seg: number, a: number, amask: number, size32: boolean): void {
  const step = size32 ? 4 : 2;
  const get = (i: number): number => {
    const o = part(a + i * step, amask);
    return size32 ? cpu.rd32(seg, o) >>> 0 : cpu.rd16(seg, o);
  };
  env.cw = get(0) & 0xffff;
  env.sw = get(1) & 0xffff;
  env.tw = get(2) & 0xffff;
  const w3 = get(3);
  const w4 = get(4);
  const w5 = get(5);
  const w6 = get(6);
  if (cpu.protectedMode) {
    env.fip = size32 ? w3 : w3 & 0xffff;
    env.fcs = w4 & 0xffff;
    env.fop = size32 ? (w4 >>> 16) & 0x7ff : 0;
    env.fdp = size32 ? w5 : w5 & 0xffff;
    env.fds = w6 & 0xffff;
  } else {
    env.fip = ((w3 & 0xffff) | ((w4 >>> 12) << 16)) >>> 0;
    env.fcs = 0;
    env.fop = w4 & 0x7ff;
    env.fdp = ((w5 & 0xffff) | ((w6 >>> 12) << 16)) >>> 0;
    env.fds = 0;
  }
}

/** Applies what `readEnvironment` read. */
export function applyEnvironment(fpu: Fpu): void {
  fpu.cw = (env.cw & 0x1f3f) | 0x40;
  fpu.setStatusWord(env.sw);
  fpu.setTagWord(env.tw);
  fpu.fip = env.fip;
  fpu.fcs = env.fcs;
  fpu.fop = env.fop;
  fpu.fdp = env.fdp;
  fpu.fds = env.fds;
  fpu.updateErrorSummary();
}
