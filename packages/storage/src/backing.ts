import type { BlockDevice } from './block-device.js';
import { StorageError } from './errors.js';

/**
 * Read `buffer.length` bytes at `offset` of a backing device that may be shorter than its overlay:
 * what lies past its end (or everything, without a backing device) reads as zeros.
 */
export async function readBacking(backing: BlockDevice | undefined, offset: number, buffer: Uint8Array): Promise<void> {
  let inside = 0;
  if (backing !== undefined) {
    inside = Math.max(0, Math.min(buffer.length, backing.size - offset));
    if (inside > 0) await backing.read(offset, buffer.subarray(0, inside));
  }
  if (inside < buffer.length) buffer.fill(0, inside);
}

/**
 * Refuse `what` on an image that names a backing file which was not opened: a write or discard may
 * need the parent's data (partial sectors or grains), and without it the result would be wrong.
 */
export function requireOpenedBacking(
  path: string,
  backingFile: string | undefined,
  backing: BlockDevice | undefined,
  what: string,
): void {
  if (backingFile !== undefined && backing === undefined) {
    throw new StorageError('BackingChain', `${path}: ${what} needs the backing image ${backingFile}, which was not opened`);
  }
}
