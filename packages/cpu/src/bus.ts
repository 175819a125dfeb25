/**
 * What the CPU needs from the rest of the machine, written from the CPU's side. Each is one small
 * interface, so the CPU runs on `@tsvm/mmu`'s physical memory, on a test's flat RAM, or on anything
 * else that provides these methods.
 */

/** Guest physical memory. Addresses are physical; multi-byte values are little-endian. */
export interface PhysicalMemory {
  read8(addr: number): number;
  read16(addr: number): number;
  read32(addr: number): number;
  write8(addr: number, value: number): void;
  write16(addr: number, value: number): void;
  write32(addr: number, value: number): void;
}

/**
 * Optional: memory that tracks pages holding decoded code (as `@tsvm/mmu`'s PhysicalMemory does),
 * so writes from outside the CPU (DMA, loaders, test harnesses) drop stale decoded instructions.
 */
export interface CodePageTracking {
  markCode(page: number): void;
  setCodeWriteHandler(handler: ((address: number, size: number) => void) | null): void;
}

/** The I/O port space (IN/OUT/INS/OUTS). Unclaimed ports read all-ones. */
export interface IoPorts {
  in8(port: number): number;
  in16(port: number): number;
  in32(port: number): number;
  out8(port: number, value: number): void;
  out16(port: number, value: number): void;
  out32(port: number, value: number): void;
}

/**
 * The one question the CPU asks the interrupt controller. Called only when the CPU can take a
 * maskable interrupt (IF set, no interrupt shadow); returns the vector it acknowledges, or -1.
 */
export interface InterruptSource {
  acknowledge(): number;
}

/** An I/O space with nothing attached: reads are all-ones, writes are ignored. */
export const NO_IO: IoPorts = {
  in8: () => 0xff,
  in16: () => 0xffff,
  in32: () => -1 >>> 0,
  out8: () => undefined,
  out16: () => undefined,
  out32: () => undefined,
};

/** An interrupt controller that never interrupts. */
export const NO_INTERRUPTS: InterruptSource = { acknowledge: () => -1 };
