import { MMIO_SIZE_16, MMIO_SIZE_32, MMIO_SIZE_8 } from './constants.js';
import { MemoryError } from './errors.js';

/**
 * A device's memory-mapped register window. Offsets are relative to the start of the region the
 * device was mapped at; the device never sees absolute addresses (the machine wires the base).
 *
 * `sizes` declares which access widths the device implements (MMIO_SIZE_8 | MMIO_SIZE_16 |
 * MMIO_SIZE_32); it must implement the matching methods. The bus only ever calls a declared width at
 * an offset aligned to that width: wider or unaligned guest accesses are split into smaller ones,
 * narrower ones are widened to the smallest declared width (a read extracts the bytes asked for; a
 * write sends the value shifted into place with the other bytes zero, as QEMU's memory core does).
 * Values are unsigned for 8/16-bit and any 32-bit pattern for 32-bit (the bus masks what it gets).
 */
export interface MmioHandler {
  readonly sizes: number;
  read8?(offset: number): number;
  read16?(offset: number): number;
  read32?(offset: number): number;
  write8?(offset: number, value: number): void;
  write16?(offset: number, value: number): void;
  write32?(offset: number, value: number): void;
}

/** Checks at map time that a handler implements every width it declares, so dispatch never fails. */
export function validateMmioHandler(handler: MmioHandler, where: string): void {
  const sizes = handler.sizes;
  if (!Number.isInteger(sizes) || sizes <= 0 || (sizes & ~(MMIO_SIZE_8 | MMIO_SIZE_16 | MMIO_SIZE_32)) !== 0) {
    throw new MemoryError('InvalidArgument', `MMIO handler for ${where} declares invalid access sizes ${String(sizes)}`);
  }
  const need: [number, keyof MmioHandler, keyof MmioHandler][] = [
    [MMIO_SIZE_8, 'read8', 'write8'],
    [MMIO_SIZE_16, 'read16', 'write16'],
    [MMIO_SIZE_32, 'read32', 'write32'],
  ];
  for (const [bit, r, w] of need) {
    if ((sizes & bit) !== 0 && (typeof handler[r] !== 'function' || typeof handler[w] !== 'function')) {
      throw new MemoryError('InvalidArgument', `MMIO handler for ${where} declares ${bit * 8}-bit access but lacks ${r}/${w}`);
    }
  }
}

function smallestSize(sizes: number): number {
  return (sizes & MMIO_SIZE_8) !== 0 ? 1 : (sizes & MMIO_SIZE_16) !== 0 ? 2 : 4;
}

function callRead(h: MmioHandler, offset: number, size: number): number {
  if (size === 1) return h.read8!(offset) & 0xff;
  if (size === 2) return h.read16!(offset) & 0xffff;
  return h.read32!(offset) >>> 0;
}

function callWrite(h: MmioHandler, offset: number, size: number, value: number): void {
  if (size === 1) h.write8!(offset, value & 0xff);
  else if (size === 2) h.write16!(offset, value & 0xffff);
  else h.write32!(offset, value | 0);
}

/** Reads `size` (1, 2 or 4) bytes at `offset` from a handler, splitting or widening as declared. Unsigned result. */
export function mmioRead(h: MmioHandler, offset: number, size: number): number {
  if ((h.sizes & size) !== 0 && (offset & (size - 1)) === 0) return callRead(h, offset, size);
  const min = smallestSize(h.sizes);
  const base = offset & ~(min - 1);
  if (min > size && offset + size <= base + min) {
    // Narrower than anything implemented: read the enclosing unit and extract the bytes asked for.
    return (callRead(h, base, min) >>> ((offset - base) * 8)) & ((1 << (size * 8)) - 1);
  }
  // Wider than implemented, or straddling two units: two halves, little-endian.
  const half = size >>> 1;
  const lo = mmioRead(h, offset, half);
  const hi = mmioRead(h, offset + half, half);
  return (lo | (hi << (half * 8))) >>> 0;
}

/** Writes `size` (1, 2 or 4) bytes at `offset` to a handler, splitting or widening as declared. */
export function mmioWrite(h: MmioHandler, offset: number, size: number, value: number): void {
  if ((h.sizes & size) !== 0 && (offset & (size - 1)) === 0) {
    callWrite(h, offset, size, value);
    return;
  }
  const min = smallestSize(h.sizes);
  const base = offset & ~(min - 1);
  if (min > size && offset + size <= base + min) {
    callWrite(h, base, min, (value & ((1 << (size * 8)) - 1)) << ((offset - base) * 8));
    return;
  }
  const half = size >>> 1;
  mmioWrite(h, offset, half, value);
  mmioWrite(h, offset + half, half, value >>> (half * 8));
}
