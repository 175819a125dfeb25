/**
 * Segment descriptors (Intel SDM vol. 3A, 3.4.5 and 5.2): reading them from the GDT/LDT, decoding
 * base, limit and attributes into the hidden cache. Descriptors are read with supervisor rights
 * whatever the CPL (implicit system accesses).
 */
import { GP, type CpuCore } from './cpu.js';

/** Descriptor type bits (byte 5). */
export const DESC_ACCESSED = 0x01;
/** Data: writable. Code: readable. */
export const DESC_RW = 0x02;
/** Data: expand-down. Code: conforming. */
export const DESC_DC = 0x04;
export const DESC_CODE = 0x08;
/** S: 1 for code/data, 0 for system descriptors (gates, TSS, LDT). */
export const DESC_S = 0x10;
export const DESC_PRESENT = 0x80;
/** In the attributes word: D/B (bit 14 = descriptor bit 54) and G (bit 15). */
export const ATTR_DB = 0x4000;
export const ATTR_G = 0x8000;

/** Selector fields (3.4.2). */
export const SEL_RPL = 3;
export const SEL_TI = 4;

export function descDpl(hi: number): number {
  return (hi >>> 13) & 3;
}
/** Descriptor byte 5 in bits 0-7 and the flags nibble in bits 12-15, as `segAttr` holds them. */
export function descAttr(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}
export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}
/** The limit in bytes: with G set the 20-bit limit counts 4 KiB pages (low 12 bits all ones). */
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & (1 << 23)) !== 0 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** Linear read of a system structure (descriptor tables, TSS): #PF when paging says so. */
export function readSystem32(cpu: CpuCore, lin: number): number {
  if (cpu.paging && cpu.mmu !== null) {
    const v = cpu.mmu.readSystem32(lin);
    if (cpu.mmu.pageFault) cpu.pageFaultFromMmu();
    return v;
  }
  return cpu.physMem.read32((lin & cpu.a20Mask) >>> 0);
}
export function readSystem16(cpu: CpuCore, lin: number): number {
  if (cpu.paging && cpu.mmu !== null) {
    const v = cpu.mmu.readSystem16(lin);
    if (cpu.mmu.pageFault) cpu.pageFaultFromMmu();
    return v;
  }
  return cpu.physMem.read16((lin & cpu.a20Mask) >>> 0);
}
export function writeSystem8(cpu: CpuCore, lin: number, v: number): void {
  if (cpu.paging && cpu.mmu !== null) {
    cpu.mmu.writeSystem8(lin, v);
    if (cpu.mmu.pageFault) cpu.pageFaultFromMmu();
    return;
  }
  const p = (lin & cpu.a20Mask) >>> 0;
  if (cpu.codePages[p >>> 12] !== 0) cpu.invalidateCodePage(p >>> 12);
  cpu.physMem.write8(p, v);
}

/**
 * Reads the descriptor `sel` names into `cpu.descLo`/`descHi` and its linear address into
 * `cpu.descAddr`. Returns false when it lies outside its table (the caller raises with its error
 * code). The LDT is used through the LDTR cache; an LDT selector with a null LDTR is outside.
 */
export function fetchDescriptor(cpu: CpuCore, sel: number): boolean {
  let base: number;
  let limit: number;
  if ((sel & SEL_TI) !== 0) {
    if ((cpu.ldtr & ~SEL_RPL) === 0) return false;
    base = cpu.ldtrBase;
    limit = cpu.ldtrLimit;
  } else {
    base = cpu.gdtrBase;
    limit = cpu.gdtrLimit;
  }
  const off = sel & ~7;
  if (off + 7 > limit) return false;
  const addr = (base + off) | 0;
  cpu.descAddr = addr;
  cpu.descLo = readSystem32(cpu, addr);
  cpu.descHi = readSystem32(cpu, (addr + 4) | 0);
  return true;
}

/** Sets the accessed bit of the descriptor last fetched, as the processor does on a segment load. */
export function markAccessed(cpu: CpuCore): void {
  if ((cpu.descHi & (DESC_ACCESSED << 8)) !== 0) return;
  cpu.descHi |= DESC_ACCESSED << 8;
  writeSystem8(cpu, (cpu.descAddr + 5) | 0, (cpu.descHi >>> 8) & 0xff);
}

/** Fetches the descriptor for `sel` or raises #GP(selector). */
export function descriptorOrGp(cpu: CpuCore, sel: number): void {
  if (!fetchDescriptor(cpu, sel)) cpu.raise(GP, sel & ~SEL_RPL);
}
