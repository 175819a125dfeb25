import { StorageError } from './errors.js';
import type { Qcow2Device } from './qcow2-device.js';
import { MAX_L1_BYTES } from './qcow2-header.js';

/**
 * Change the virtual size of a qcow2 image. Growing may move the L1 table to a bigger place (new
 * table written, header switched, old one freed); shrinking releases the clusters past the new end
 * and zeroes the tail of the last cluster, so growing again never shows old data.
 */
export async function qcow2Resize(device: Qcow2Device, newSize: number): Promise<void> {
  const meta = device.meta;
  const h = meta.header;
  const cs = meta.clusterSize;
  if (!Number.isSafeInteger(newSize) || newSize < 0) throw new StorageError('InvalidArgument', `new size ${newSize} is not a byte count`);
  if (newSize === h.size) return;
  if (newSize < h.size) {
    if (h.nbSnapshots > 0) throw new StorageError('Unsupported', `${meta.file.path}: cannot shrink a qcow2 image that has internal snapshots`);
    await device.zeroLocked(newSize, h.size - newSize);
    h.size = newSize;
    await meta.writeHeader();
    await meta.file.flush();
    return;
  }
  const needL1 = Math.ceil(newSize / (cs * meta.l2Entries));
  if (needL1 * 8 > MAX_L1_BYTES) throw new StorageError('InvalidArgument', `${meta.file.path}: ${newSize} bytes need an L1 table over qemu's 32 MiB limit`);
  if (needL1 > h.l1Size) {
    const oldOffset = h.l1TableOffset;
    const oldClusters = Math.ceil((h.l1Size * 8) / cs);
    const clusters = Math.ceil((needL1 * 8) / cs);
    const raw = new Uint8Array(clusters * cs);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < h.l1Size; i++) {
      view.setUint32(i * 8, meta.l1[i * 2]);
      view.setUint32(i * 8 + 4, meta.l1[i * 2 + 1]);
    }
    const offset = await meta.refcounts.allocate(clusters);
    await meta.refcounts.sync();
    await meta.file.write(offset, raw);
    await meta.file.flush();
    const next = new Uint32Array(needL1 * 2);
    next.set(meta.l1);
    meta.l1 = next;
    h.l1TableOffset = offset;
    h.l1Size = needL1;
    h.size = newSize;
    await meta.writeHeader();
    await meta.file.flush();
    if (oldClusters > 0) {
      await meta.refcounts.adjust(oldOffset, oldClusters, -1);
      await meta.refcounts.sync();
    }
  } else {
    h.size = newSize;
    await meta.writeHeader();
  }
  await meta.file.flush();
}
