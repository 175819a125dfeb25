import type { BlockDevice } from './block-device.js';
import { readBacking } from './backing.js';
import { StorageError } from './errors.js';
import type { ImageDevice } from './image-format.js';

const CHUNK = 1 << 20;

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/**
 * `qemu-img commit`: copy what the layers above `base` hold (depth below `baseDepth`) into `base`,
 * which must be opened read-write. `top` is read through its chain, so what reaches `base` is the
 * content the user sees.
 */
export async function commitImage(
  top: ImageDevice,
  base: BlockDevice,
  baseDepth: number,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  if (base.readOnly) throw new StorageError('ReadOnly', 'commit needs the base image opened read-write');
  const extents = await top.allocation(0, top.size);
  const total = top.size;
  let done = 0;
  for (const e of extents) {
    if (e.depth < baseDepth && e.status !== 'unallocated') {
      if (e.offset + e.length > base.size) {
        throw new StorageError('OutOfRange', `commit: data at offset ${e.offset} lies past the end of the base image (${base.size} bytes); resize it first`);
      }
      if (e.status === 'zero') await base.writeZeroes(e.offset, e.length);
      else {
        for (let at = e.offset; at < e.offset + e.length; at += CHUNK) {
          const buf = new Uint8Array(Math.min(CHUNK, e.offset + e.length - at));
          await top.read(at, buf);
          await base.write(at, buf);
        }
      }
    }
    done += e.length;
    onProgress?.(done, total);
  }
  await base.flush();
}

/**
 * `qemu-img rebase` (safe mode): make `top` keep its content when its backing file becomes
 * `newBacking` (or none): every range `top` does not hold itself and where the old and new backing
 * content differ is copied into `top` from the old backing chain. The caller then rewrites the
 * backing file name with `top.setBackingFile`.
 */
export async function rebaseImage(
  top: ImageDevice,
  newBacking: BlockDevice | undefined,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  if (top.readOnly) throw new StorageError('ReadOnly', 'rebase needs the image opened read-write');
  const oldBacking = top.backing;
  const total = top.size;
  let done = 0;
  for (const e of await top.allocation(0, top.size)) {
    if (e.depth > 0 || e.status === 'unallocated') {
      for (let at = e.offset; at < e.offset + e.length; at += CHUNK) {
        const n = Math.min(CHUNK, e.offset + e.length - at);
        const before = new Uint8Array(n);
        const after = new Uint8Array(n);
        await readBacking(oldBacking, at, before);
        await readBacking(newBacking, at, after);
        if (!same(before, after)) await top.write(at, before);
      }
    }
    done += e.length;
    onProgress?.(done, total);
  }
  await top.flush();
}
