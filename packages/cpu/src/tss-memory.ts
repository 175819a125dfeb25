/**
 * Reads and writes of a task-state segment (Intel SDM vol. 3A, 7.2): implicit supervisor accesses by
 * linear address, through paging when it is on (a failed translation is #PF).
 */
import type { CpuCore } from './cpu.js';
import { readSystem16, readSystem32 } from './descriptors.js';

export { readSystem16, readSystem32 };

/** 32-bit TSS field offsets (Figure 7-2). */
export const TSS32_LINK = 0x00;
export const TSS32_CR3 = 0x1c;
export const TSS32_EIP = 0x20;
export const TSS32_EFLAGS = 0x24;
/** EAX..EDI, 4 bytes each in encoding order. */
export const TSS32_REGS = 0x28;
/** ES, CS, SS, DS, FS, GS, 4 bytes each in encoding order. */
export const TSS32_SEGS = 0x48;
export const TSS32_LDT = 0x60;
export const TSS32_IOMAP = 0x66;
/** The smallest limit of a 32-bit TSS (7.2.2). */
export const TSS32_MIN_LIMIT = 0x67;

/** 16-bit TSS field offsets (Figure 7-11). */
export const TSS16_LINK = 0x00;
export const TSS16_IP = 0x0e;
export const TSS16_FLAGS = 0x10;
/** AX..DI, 2 bytes each. */
export const TSS16_REGS = 0x12;
/** ES, CS, SS, DS, 2 bytes each. */
export const TSS16_SEGS = 0x22;
export const TSS16_LDT = 0x2a;
export const TSS16_MIN_LIMIT = 0x2b;

export function writeSystem16(cpu: CpuCore, lin: number, v: number): void {
  if (cpu.paging && cpu.mmu !== null) {
    cpu.mmu.writeSystem16(lin, v & 0xffff);
    if (cpu.mmu.pageFault) cpu.pageFaultFromMmu();
    return;
  }
  writePhys(cpu, lin, v, 2);
}

export function writeSystem32(cpu: CpuCore, lin: number, v: number): void {
  if (cpu.paging && cpu.mmu !== null) {
    cpu.mmu.writeSystem32(lin, v >>> 0);
    if (cpu.mmu.pageFault) cpu.pageFaultFromMmu();
    return;
  }
  writePhys(cpu, lin, v, 4);
}

/** Byte by byte, so the A20 wrap and code-page invalidation apply to each byte. */
function writePhys(cpu: CpuCore, lin: number, v: number, size: number): void {
  for (let i = 0; i < size; i++) {
    const p = ((lin + i) & cpu.a20Mask) >>> 0;
    if (cpu.codePages[p >>> 12] !== 0) cpu.invalidateCodePage(p >>> 12);
    cpu.physMem.write8(p, (v >>> (i * 8)) & 0xff);
  }
}
