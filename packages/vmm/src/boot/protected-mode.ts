import type { CpuStatePatch } from '@tsvm/cpu';
import type { PhysicalMemory } from '@tsvm/mmu';

/** Selectors the Linux 32-bit boot protocol requires (__BOOT_CS, __BOOT_DS); Multiboot kernels accept any. */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
/** Flat 4 GiB descriptors (Intel SDM vol. 3A, 3.4.5): base 0, limit 0xFFFFF pages, G=1, D/B=1. */
const GDT_CODE_LOW = 0x0000_ffff;
const GDT_CODE_HIGH = 0x00cf_9b00;
const GDT_DATA_LOW = 0x0000_ffff;
const GDT_DATA_HIGH = 0x00cf_9300;
/** Hidden descriptor cache: access byte in bits 0-7, G and D/B in the flags nibble (bits 12-15). */
const ATTR_CODE32 = 0xc09b;
const ATTR_DATA32 = 0xc093;
const CR0_PE = 0x1;
/** EFLAGS with only the reserved bit 1 set: interrupts off, as both protocols require. */
const EFLAGS_BOOT = 0x2;
export const GDT_SIZE = 4 * 8;

/**
 * Writes a four-entry GDT (null, unused, flat code at 0x10, flat data at 0x18) at `gdtAddr` and returns
 * the CPU state of 32-bit protected mode with paging off, interrupts off and every segment flat, which
 * is what the Linux 32-bit boot protocol and Multiboot both ask of a loader.
 */
export function flatProtectedMode(memory: PhysicalMemory, gdtAddr: number, eip: number): CpuStatePatch {
  for (let i = 0; i < 16; i += 4) memory.write32(gdtAddr + i, 0);
  memory.write32(gdtAddr + BOOT_CS, GDT_CODE_LOW);
  memory.write32(gdtAddr + BOOT_CS + 4, GDT_CODE_HIGH);
  memory.write32(gdtAddr + BOOT_DS, GDT_DATA_LOW);
  memory.write32(gdtAddr + BOOT_DS + 4, GDT_DATA_HIGH);
  const flat = { base: 0, limit: 0xffff_ffff };
  const data = { selector: BOOT_DS, ...flat, attributes: ATTR_DATA32 };
  return {
    cr0: CR0_PE,
    gdtr: { base: gdtAddr, limit: GDT_SIZE - 1 },
    idtr: { base: 0, limit: 0 },
    cs: { selector: BOOT_CS, ...flat, attributes: ATTR_CODE32 },
    ds: data,
    es: data,
    ss: data,
    fs: data,
    gs: data,
    eip: eip >>> 0,
    eflags: EFLAGS_BOOT,
    a20: true,
    halted: false,
  };
}
