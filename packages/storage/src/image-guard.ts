import type { BlockDevice } from './block-device.js';
import { requireOpenedBacking } from './backing.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { SerialQueue } from './serial-queue.js';

/** What the guard needs to know about its image; read when a request runs, not when it is made. */
export interface GuardedImage {
  readonly file: HostFile;
  readonly readOnly: boolean;
  readonly backingFile: string | undefined;
  readonly backing: BlockDevice | undefined;
}

/**
 * The request discipline of the VHD, VHDX and VMDK drivers: one queue for everything that changes
 * the image (so concurrent callers cannot interleave two allocations of one block), `Closed` after
 * `close()`, `ReadOnly` for changes to an image opened read-only, and `BackingChain` for changes
 * that may need the data of a backing file that was not opened.
 */
export class ImageGuard {
  private closed = false;
  private readonly queue = new SerialQueue();

  constructor(
    private readonly image: GuardedImage,
    /** The format's name in messages: `VHD`, `VHDX`, `VMDK`. */
    private readonly kind: string,
  ) {}

  /** Throw `Closed` once the image is closed. */
  live(what: string): void {
    if (this.closed) throw new StorageError('Closed', `${this.image.file.path}: ${what} on a closed ${this.kind} image`);
  }

  /** Throw `Closed` or `ReadOnly` unless the image may be changed. */
  writable(what: string): void {
    this.live(what);
    if (this.image.readOnly) throw new StorageError('ReadOnly', `${this.image.file.path}: ${what} on a ${this.kind} image opened read-only`);
  }

  /** Run `fn` after every earlier queued request, on an open image. */
  queued<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      this.live(what);
      return fn();
    });
  }

  /**
   * Run a change (write, discard, zeroes, resize) after every earlier queued request, on an image
   * that is open, writable and, unless `needsBacking` is false, has its backing file opened.
   */
  change<T>(what: string, fn: () => Promise<T>, needsBacking = true): Promise<T> {
    return this.queue.run(async () => {
      this.writable(what);
      if (needsBacking) requireOpenedBacking(this.image.file.path, this.image.backingFile, this.image.backing, what);
      return fn();
    });
  }

  /** Run `fn` (flush and release) once, after every earlier request; later calls do nothing. */
  close(fn: () => Promise<void>): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      await fn();
      this.closed = true;
    });
  }
}
