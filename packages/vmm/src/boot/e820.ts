/** BIOS E820 memory types (ACPI 6.5, 15.1 "INT 15H, E820H - Query System Address Map"). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  base: number;
  length: number;
  type: number;
}

/** The end of conventional memory: 639 KiB, with the last KiB below 640 KiB kept for an EBDA as PCs do. */
export const CONVENTIONAL_END = 0x9fc00;
const ISA_HOLE_END = 0x10_0000;
/** The system BIOS area at 0xF0000-0xFFFFF is reserved whether or not a ROM is mapped there. */
const BIOS_AREA = 0xf0000;

/**
 * The PC memory map a firmware would report for `ramSize` bytes of RAM: conventional memory, the EBDA
 * and BIOS areas reserved, the ISA hole (0xA0000-0xFFFFF) absent, and the rest of RAM from 1 MiB up.
 */
export function pcMemoryMap(ramSize: number): E820Entry[] {
  return [
    { base: 0, length: CONVENTIONAL_END, type: E820_RAM },
    { base: CONVENTIONAL_END, length: 0xa0000 - CONVENTIONAL_END, type: E820_RESERVED },
    { base: BIOS_AREA, length: ISA_HOLE_END - BIOS_AREA, type: E820_RESERVED },
    { base: ISA_HOLE_END, length: ramSize - ISA_HOLE_END, type: E820_RAM },
  ];
}

/** BIOS data area fields a kernel reads without a BIOS (IBM PC/AT Technical Reference, BDA at 0x400). */
const BDA_EBDA_SEGMENT = 0x40e;
const BDA_BASE_MEMORY_KIB = 0x413;

/** Fills the BIOS data area fields that describe conventional memory and the EBDA. */
export function writeBiosDataArea(write16: (addr: number, value: number) => void): void {
  write16(BDA_EBDA_SEGMENT, CONVENTIONAL_END >>> 4);
  write16(BDA_BASE_MEMORY_KIB, CONVENTIONAL_END >>> 10);
}
