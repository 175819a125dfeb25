/**
 * The I/O permission bitmap (Intel SDM vol. 1, 19.5; vol. 3A, 20.2.8): when CPL > IOPL, or in
 * virtual-8086 mode, IN, OUT, INS and OUTS may use a port only if the bits for every byte of the
 * access are clear in the bitmap of the current 32-bit TSS. The bitmap starts at the 16-bit offset
 * stored at TSS offset 66h; a bit beyond the TSS limit counts as set. Anything else is #GP(0).
 */
import { GP, type CpuCore } from './cpu.js';
import { VM } from './flags.js';
import { readSystem16 } from './descriptors.js';
import { TSS32_IOMAP, TSS32_MIN_LIMIT } from './tss-memory.js';

/** TR's type in its attributes: an available or busy 32-bit TSS (9 or 0Bh, busy bit ignored). */
const TSS32_TYPE_MASK = 0x1d;
const TSS32_TYPE = 0x09;

/**
 * Checks that the current privilege allows an access of `bytes` bytes to `port`; raises #GP(0)
 * otherwise. CPL 0 (and real mode) returns at once.
 */
export function checkIoAccess(cpu: CpuCore, port: number, bytes: number): void {
  if (cpu.cpl === 0) return;
  if (cpu.cpl <= ((cpu.flags >>> 12) & 3) && (cpu.flags & VM) === 0) return;
  checkBitmap(cpu, port, bytes);
}

function checkBitmap(cpu: CpuCore, port: number, bytes: number): void {
  if ((cpu.trAttr & TSS32_TYPE_MASK) !== TSS32_TYPE || cpu.trLimit < TSS32_MIN_LIMIT) cpu.raise(GP, 0);
  const mapBase = readSystem16(cpu, (cpu.trBase + TSS32_IOMAP) | 0);
  const at = mapBase + (port >>> 3);
  // Two bytes are read whatever the access size, and both must lie within the TSS limit.
  if (at + 1 > cpu.trLimit) cpu.raise(GP, 0);
  const bits = readSystem16(cpu, (cpu.trBase + at) | 0);
  const mask = ((1 << bytes) - 1) << (port & 7);
  if ((bits & mask) !== 0) cpu.raise(GP, 0);
}
