import type { BlockDevice } from './block-device.js';

export type CompareResult =
  | { identical: true }
  | { identical: false; offset: number; reason: 'content' | 'size' };

const CHUNK = 1 << 20;

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function firstNonZero(a: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return i;
  return -1;
}

/**
 * Compare the logical content of two devices (`qemu-img compare`). Devices of different sizes are
 * identical when the longer one holds only zeros past the shorter, unless `strict`. Ranges that are
 * zero or unallocated in both are skipped without reading.
 */
export async function compareImages(a: BlockDevice, b: BlockDevice, options: { strict?: boolean } = {}): Promise<CompareResult> {
  if (options.strict === true && a.size !== b.size) return { identical: false, offset: Math.min(a.size, b.size), reason: 'size' };
  const common = Math.min(a.size, b.size);
  const skippable = async (dev: BlockDevice, offset: number, length: number): Promise<boolean> =>
    (await dev.allocation(offset, length)).every((e) => e.status !== 'data');
  const bufA = new Uint8Array(CHUNK);
  const bufB = new Uint8Array(CHUNK);
  for (let at = 0; at < common; at += CHUNK) {
    const n = Math.min(CHUNK, common - at);
    if ((await skippable(a, at, n)) && (await skippable(b, at, n))) continue;
    const x = bufA.subarray(0, n);
    const y = bufB.subarray(0, n);
    await Promise.all([a.read(at, x), b.read(at, y)]);
    const d = firstDiff(x, y);
    if (d >= 0) return { identical: false, offset: at + d, reason: 'content' };
  }
  const longer = a.size > b.size ? a : b;
  for (let at = common; at < longer.size; at += CHUNK) {
    const n = Math.min(CHUNK, longer.size - at);
    if (await skippable(longer, at, n)) continue;
    const x = bufA.subarray(0, n);
    await longer.read(at, x);
    const z = firstNonZero(x);
    if (z >= 0) return { identical: false, offset: at + z, reason: 'content' };
  }
  return { identical: true };
}
