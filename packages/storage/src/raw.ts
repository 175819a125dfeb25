import type { AllocationExtent } from './block-device.js';
import { checkRange } from './block-device.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import type { CreateOptions, FormatInfo, ImageDevice, ImageFormat, OpenContext } from './image-format.js';

/** Largest buffer of zeros written at once by `writeZeroes` and preallocation. */
const ZERO_CHUNK = 1 << 20;

/**
 * A raw image: the file's bytes are the disk's bytes. Sparse-aware as far as Node allows: creating
 * and growing leave holes, and an image the host stores no block of reports itself as zeros.
 * Without `SEEK_DATA`/`SEEK_HOLE` in Node, the map of a partly sparse file is reported as all data.
 */
export class RawDevice implements ImageDevice {
  readonly format = 'raw';
  readonly sectorSize = 512;
  readonly backing = undefined;
  readonly backingFile = undefined;
  readonly backingFormat = undefined;
  private closed = false;

  private constructor(
    readonly file: HostFile,
    private currentSize: number,
  ) {}

  static async open(file: HostFile): Promise<RawDevice> {
    return new RawDevice(file, await file.size());
  }

  get size(): number {
    return this.currentSize;
  }

  get readOnly(): boolean {
    return this.file.readOnly;
  }

  private live(what: string, writing = false): void {
    if (this.closed) throw new StorageError('Closed', `${what} on a closed raw image ${this.file.path}`);
    if (writing && this.readOnly) throw new StorageError('ReadOnly', `${what} on raw image ${this.file.path} opened read-only`);
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    this.live('read');
    checkRange(this, offset, buffer.length, 'read');
    const n = await this.file.read(offset, buffer);
    // A file shortened behind our back reads as zeros past its end rather than stale bytes.
    if (n < buffer.length) buffer.fill(0, n);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.live('write', true);
    checkRange(this, offset, data.length, 'write');
    await this.file.write(offset, data);
  }

  async flush(): Promise<void> {
    this.live('flush');
    await this.file.flush();
  }

  async discard(offset: number, length: number): Promise<void> {
    this.live('discard', true);
    checkRange(this, offset, length, 'discard');
    // Node cannot punch holes; the contract lets a discarded range read back as before.
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.live('writeZeroes', true);
    checkRange(this, offset, length, 'writeZeroes');
    const zeros = new Uint8Array(Math.min(ZERO_CHUNK, length));
    for (let done = 0; done < length; done += zeros.length) {
      const n = Math.min(zeros.length, length - done);
      await this.file.write(offset + done, zeros.subarray(0, n));
    }
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.live('allocation');
    checkRange(this, offset, length, 'allocation');
    if (length === 0) return [];
    const empty = (await this.file.allocatedSize()) === 0;
    return [{ offset, length, status: empty ? 'zero' : 'data', depth: 0, ...(empty ? {} : { hostOffset: offset }) }];
  }

  async info(): Promise<FormatInfo> {
    this.live('info');
    return {};
  }

  async resize(newSize: number): Promise<void> {
    this.live('resize', true);
    if (!Number.isSafeInteger(newSize) || newSize < 0) throw new StorageError('InvalidArgument', `new size ${newSize} is not a byte count`);
    await this.file.truncate(newSize);
    this.currentSize = newSize;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }
}

/** Fill `[0, size)` of `file` with zeros, for `preallocation=full`. */
async function preallocate(file: HostFile, size: number): Promise<void> {
  const zeros = new Uint8Array(Math.min(ZERO_CHUNK, size));
  for (let done = 0; done < size; done += zeros.length) {
    await file.write(done, zeros.subarray(0, Math.min(zeros.length, size - done)));
  }
}

export const rawFormat: ImageFormat = {
  name: 'raw',
  createOptions: ['preallocation'],
  // Anything is a raw image; every other format outbids this.
  probe: () => 1,
  async open(file: HostFile, _context: OpenContext): Promise<ImageDevice> {
    return RawDevice.open(file);
  },
  async create(file: HostFile, options: CreateOptions): Promise<void> {
    if (options.backingFile !== undefined) throw new StorageError('Unsupported', 'raw images cannot have a backing file');
    const prealloc = options.options.preallocation ?? 'off';
    if (prealloc === 'full' || prealloc === 'falloc') await preallocate(file, options.size);
    else if (prealloc !== 'off') throw new StorageError('InvalidArgument', `raw: unknown preallocation mode '${prealloc}' (off, falloc, full)`);
    await file.truncate(options.size);
  },
};
