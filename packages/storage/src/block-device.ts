import { StorageError } from './errors.js';

/**
 * What a byte range of a block device holds, as `qemu-img map` reports it.
 * - `data`: allocated, holds data in the layer `depth`;
 * - `zero`: reads as zeros because the layer `depth` says so (a zero cluster, a discarded block);
 * - `unallocated`: no layer of the chain holds it; it reads as zeros.
 */
export type AllocationStatus = 'data' | 'zero' | 'unallocated';

export interface AllocationExtent {
  /** Guest offset in bytes. */
  offset: number;
  length: number;
  status: AllocationStatus;
  /** The layer that answers for this range: 0 is the device itself, 1 its backing device, and so on. */
  depth: number;
  /** Where the data lies in the image file of that layer, when the format knows it. */
  hostOffset?: number;
}

/**
 * The block-device contract: a disk as the emulator and the image tool see it. Every format and
 * every overlay implements it; devices (IDE, virtio-blk) and the VMM use nothing else.
 *
 * Offsets and lengths are bytes. Reads and writes may have any alignment; formats do the
 * read-modify-write they need. A range past `size` is an `OutOfRange` error, a write to a read-only
 * device a `ReadOnly` error, any call after `close()` a `Closed` error.
 */
export interface BlockDevice {
  /** Virtual size in bytes. */
  readonly size: number;
  /** Logical sector size in bytes (512 unless the format says otherwise). */
  readonly sectorSize: number;
  readonly readOnly: boolean;
  /** The device this one is an overlay of, if any. */
  readonly backing: BlockDevice | undefined;
  /** Fill `buffer` with the bytes at `offset`. */
  read(offset: number, buffer: Uint8Array): Promise<void>;
  /** Store `data` at `offset`. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Make every completed write durable. */
  flush(): Promise<void>;
  /** The guest no longer needs this range; it may read back as zeros or as before. */
  discard(offset: number, length: number): Promise<void>;
  /** Make the range read as zeros, deallocating where the format can. */
  writeZeroes(offset: number, length: number): Promise<void>;
  /** The allocation map of `[offset, offset + length)`, in order, covering the range exactly. */
  allocation(offset: number, length: number): Promise<AllocationExtent[]>;
  /** Flush and release the device; further calls fail with `Closed`. The backing chain is closed too. */
  close(): Promise<void>;
}

/** Throws the contract's `OutOfRange` error unless `[offset, offset + length)` lies inside the device. */
export function checkRange(device: Pick<BlockDevice, 'size'>, offset: number, length: number, what = 'access'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StorageError('InvalidArgument', `${what}: offset ${offset} and length ${length} must be non-negative integers`);
  }
  if (offset + length > device.size) {
    throw new StorageError(
      'OutOfRange',
      `${what} of ${length} bytes at offset ${offset} runs past the end of the device (${device.size} bytes)`,
    );
  }
}

/** Read `count` sectors starting at sector `lba` into `buffer` (which must hold them). */
export async function readSectors(device: BlockDevice, lba: number, count: number, buffer: Uint8Array): Promise<void> {
  const bytes = count * device.sectorSize;
  if (buffer.length < bytes) {
    throw new StorageError('InvalidArgument', `buffer of ${buffer.length} bytes cannot hold ${count} sectors`);
  }
  await device.read(lba * device.sectorSize, buffer.subarray(0, bytes));
}

/** Write `count` sectors from `data` starting at sector `lba`. */
export async function writeSectors(device: BlockDevice, lba: number, count: number, data: Uint8Array): Promise<void> {
  const bytes = count * device.sectorSize;
  if (data.length < bytes) {
    throw new StorageError('InvalidArgument', `data of ${data.length} bytes holds fewer than ${count} sectors`);
  }
  await device.write(lba * device.sectorSize, data.subarray(0, bytes));
}

/** Merge adjacent extents that have the same status and depth and contiguous host offsets. */
export function coalesceExtents(extents: readonly AllocationExtent[]): AllocationExtent[] {
  const out: AllocationExtent[] = [];
  for (const e of extents) {
    const last = out[out.length - 1];
    if (
      last !== undefined &&
      last.status === e.status &&
      last.depth === e.depth &&
      last.offset + last.length === e.offset &&
      (last.hostOffset === undefined
        ? e.hostOffset === undefined
        : e.hostOffset !== undefined && last.hostOffset + last.length === e.hostOffset)
    ) {
      last.length += e.length;
    } else {
      out.push({ ...e });
    }
  }
  return out;
}
