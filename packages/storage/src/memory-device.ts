import type { AllocationExtent, BlockDevice } from './block-device.js';
import { checkRange, coalesceExtents } from './block-device.js';
import { StorageError } from './errors.js';

const CHUNK = 64 * 1024;

/**
 * A sparse block device held in memory, in 64 KiB chunks allocated on first write. Useful for tests,
 * scratch disks and as the writable layer of a throw-away overlay.
 */
export class MemoryBlockDevice implements BlockDevice {
  readonly sectorSize: number;
  readonly backing = undefined;
  private readonly chunks = new Map<number, Uint8Array>();
  private closed = false;

  constructor(
    readonly size: number,
    options: { sectorSize?: number; readOnly?: boolean } = {},
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new StorageError('InvalidArgument', `size ${size} is not a byte count`);
    this.sectorSize = options.sectorSize ?? 512;
    this.readOnly = options.readOnly ?? false;
  }

  readonly readOnly: boolean;

  private live(what: string): void {
    if (this.closed) throw new StorageError('Closed', `${what} on a closed memory device`);
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    this.live('read');
    checkRange(this, offset, buffer.length, 'read');
    let done = 0;
    while (done < buffer.length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, buffer.length - done);
      const chunk = this.chunks.get(index);
      if (chunk === undefined) buffer.fill(0, done, done + n);
      else buffer.set(chunk.subarray(within, within + n), done);
      done += n;
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.live('write');
    if (this.readOnly) throw new StorageError('ReadOnly', 'write to a read-only memory device');
    checkRange(this, offset, data.length, 'write');
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, data.length - done);
      let chunk = this.chunks.get(index);
      if (chunk === undefined) {
        chunk = new Uint8Array(CHUNK);
        this.chunks.set(index, chunk);
      }
      chunk.set(data.subarray(done, done + n), within);
      done += n;
    }
  }

  async flush(): Promise<void> {
    this.live('flush');
  }

  async discard(offset: number, length: number): Promise<void> {
    return this.writeZeroes(offset, length);
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.live('writeZeroes');
    if (this.readOnly) throw new StorageError('ReadOnly', 'writeZeroes on a read-only memory device');
    checkRange(this, offset, length, 'writeZeroes');
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, length - done);
      const chunk = this.chunks.get(index);
      if (chunk !== undefined) {
        if (n === CHUNK) this.chunks.delete(index);
        else chunk.fill(0, within, within + n);
      }
      done += n;
    }
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.live('allocation');
    checkRange(this, offset, length, 'allocation');
    const out: AllocationExtent[] = [];
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const n = Math.min(CHUNK - (pos - index * CHUNK), length - done);
      out.push({ offset: pos, length: n, status: this.chunks.has(index) ? 'data' : 'unallocated', depth: 0 });
      done += n;
    }
    return coalesceExtents(out);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.chunks.clear();
  }
}
