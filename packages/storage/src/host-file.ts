import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { StorageError } from './errors.js';

/**
 * A file on the host that an image format keeps its bytes in: positional reads and writes on one
 * open handle, with typed `Io` errors that name the file and the offset.
 *
 * Sparse files: Node offers no `lseek(SEEK_DATA/SEEK_HOLE)` and no `fallocate(PUNCH_HOLE)`, so a
 * host file cannot list its holes nor punch new ones. What it can do: `truncate` up to leave a hole,
 * skip writing zeros, and report the bytes the host really stores (`allocatedSize`, from
 * `stat.blocks`).
 */
export interface HostFile {
  /** The path the file was opened with (relative names in images resolve against it). */
  readonly path: string;
  readonly readOnly: boolean;
  /** Read up to `buffer.length` bytes at `position`; returns how many were read (fewer only at end of file). */
  read(position: number, buffer: Uint8Array): Promise<number>;
  /**
   * Read the bytes at `position` into `buffers` one after another, in one host call where the file
   * can (`readv`); returns how many were read (fewer only at end of file). Optional: `readInto`
   * falls back to one `read` per buffer.
   */
  readv?(position: number, buffers: readonly Uint8Array[]): Promise<number>;
  /** Write `buffers` one after another from `position`, in one host call where the file can (`writev`). Optional, as `readv`. */
  writev?(position: number, buffers: readonly Uint8Array[]): Promise<void>;
  /** Write all of `data` at `position`, extending the file when needed. */
  write(position: number, data: Uint8Array): Promise<void>;
  /** The file's length in bytes. */
  size(): Promise<number>;
  /** Bytes the host stores for this file (less than `size()` when it has holes). */
  allocatedSize(): Promise<number>;
  /** Set the file's length; growing leaves a hole that reads as zeros. */
  truncate(length: number): Promise<void>;
  /** Make completed writes durable (fdatasync). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Most buffers one `readv` or `writev` takes (Linux's IOV_MAX). */
export const MAX_READV_BUFFERS = 1024;
export const MAX_WRITEV_BUFFERS = 1024;

/** `file.writev` when the file has it, else one `write` per buffer. */
export async function writeFrom(file: HostFile, position: number, buffers: readonly Uint8Array[]): Promise<void> {
  if (buffers.length === 1) return file.write(position, buffers[0]);
  if (file.writev !== undefined) return file.writev(position, buffers);
  let at = position;
  for (const b of buffers) {
    await file.write(at, b);
    at += b.length;
  }
}

/** `file.readv` when the file has it, else one `read` per buffer; returns the bytes read. */
export async function readInto(file: HostFile, position: number, buffers: readonly Uint8Array[]): Promise<number> {
  if (file.readv !== undefined) return file.readv(position, buffers);
  let done = 0;
  for (const b of buffers) {
    const n = await file.read(position + done, b);
    done += n;
    if (n < b.length) break;
  }
  return done;
}

/** Read exactly `buffer.length` bytes at `position`, or fail with `Truncated` naming `what`. */
export async function readExact(file: HostFile, position: number, buffer: Uint8Array, what: string): Promise<void> {
  const n = await file.read(position, buffer);
  if (n < buffer.length) {
    throw new StorageError(
      'Truncated',
      `${file.path}: ${what} at offset ${position} (${buffer.length} bytes) lies past the end of the file`,
    );
  }
}

function ioError(path: string, what: string, cause: unknown): StorageError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageError('Io', `${path}: ${what}: ${detail}`, { cause });
}

function checkPosition(path: string, position: number, length: number, what: string): void {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(position + length)) {
    throw new StorageError('InvalidArgument', `${path}: ${what} at offset ${position} is not a valid file position`);
  }
}

/**
 * How a writer's `flush()` reaches the disk, named as qemu-img's `-t` cache modes:
 * - `writeback`: `flush()` is fdatasync (the default);
 * - `unsafe`: `flush()` does nothing, the host writes the data back when it likes. What
 *   `qemu-img convert` uses for its output by default: a crash during the run loses the output,
 *   which is then simply made again.
 */
export type CacheMode = 'writeback' | 'unsafe';

export const CACHE_MODES: readonly CacheMode[] = ['writeback', 'unsafe'];

/** A `HostFile` on Node's file system. */
export class NodeHostFile implements HostFile {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly handle: FileHandle,
    readonly cache: CacheMode,
  ) {}

  /** Open an existing file; `readOnly: false` opens it for reading and writing. */
  static async open(path: string, options: { readOnly: boolean; cache?: CacheMode }): Promise<NodeHostFile> {
    try {
      const handle = await fsp.open(path, options.readOnly ? constants.O_RDONLY : constants.O_RDWR);
      const st = await handle.stat();
      if (st.isDirectory()) {
        await handle.close();
        throw new StorageError('InvalidArgument', `${path} is a directory, not an image file`);
      }
      return new NodeHostFile(path, options.readOnly, handle, options.cache ?? 'writeback');
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw ioError(path, 'cannot open', err);
    }
  }

  /** Create (or, with `overwrite`, truncate) a file for reading and writing. */
  static async create(path: string, options: { overwrite?: boolean; cache?: CacheMode } = {}): Promise<NodeHostFile> {
    const flags = constants.O_RDWR | constants.O_CREAT | (options.overwrite === false ? constants.O_EXCL : constants.O_TRUNC);
    try {
      return new NodeHostFile(path, false, await fsp.open(path, flags, 0o644), options.cache ?? 'writeback');
    } catch (err) {
      throw ioError(path, 'cannot create', err);
    }
  }

  private live(what: string): void {
    if (this.closed) throw new StorageError('Closed', `${this.path}: ${what} on a closed file`);
  }

  async read(position: number, buffer: Uint8Array): Promise<number> {
    this.live('read');
    checkPosition(this.path, position, buffer.length, 'read');
    let done = 0;
    try {
      while (done < buffer.length) {
        const { bytesRead } = await this.handle.read(buffer, done, buffer.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (err) {
      throw ioError(this.path, `read of ${buffer.length} bytes at offset ${position} failed`, err);
    }
    return done;
  }

  async readv(position: number, buffers: readonly Uint8Array[]): Promise<number> {
    this.live('read');
    const total = buffers.reduce((n, b) => n + b.length, 0);
    checkPosition(this.path, position, total, 'read');
    let n: number;
    try {
      n = (await this.handle.readv(buffers, position)).bytesRead;
    } catch (err) {
      throw ioError(this.path, `read of ${total} bytes at offset ${position} failed`, err);
    }
    if (n === total) return n;
    // A short vector read: finish buffer by buffer, as `read` does.
    let done = 0;
    for (const b of buffers) {
      const skip = Math.max(0, n - done);
      if (skip >= b.length) {
        done += b.length;
        continue;
      }
      const got = skip + (await this.read(position + done + skip, b.subarray(skip)));
      done += got;
      if (got < b.length) break;
    }
    return done;
  }

  async writev(position: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.live('write');
    if (this.readOnly) throw new StorageError('ReadOnly', `${this.path}: write to a file opened read-only`);
    const total = buffers.reduce((n, b) => n + b.length, 0);
    checkPosition(this.path, position, total, 'write');
    let n: number;
    try {
      n = (await this.handle.writev(buffers, position)).bytesWritten;
    } catch (err) {
      throw ioError(this.path, `write of ${total} bytes at offset ${position} failed`, err);
    }
    // A short vector write: the rest buffer by buffer.
    let done = 0;
    for (const b of buffers) {
      const skip = Math.max(0, n - done);
      if (skip < b.length) await this.write(position + done + skip, b.subarray(skip));
      done += b.length;
    }
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    this.live('write');
    if (this.readOnly) throw new StorageError('ReadOnly', `${this.path}: write to a file opened read-only`);
    checkPosition(this.path, position, data.length, 'write');
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw ioError(this.path, `write of ${data.length} bytes at offset ${position} failed`, err);
    }
  }

  async size(): Promise<number> {
    this.live('size');
    try {
      return (await this.handle.stat()).size;
    } catch (err) {
      throw ioError(this.path, 'stat failed', err);
    }
  }

  async allocatedSize(): Promise<number> {
    this.live('allocatedSize');
    try {
      return (await this.handle.stat()).blocks * 512;
    } catch (err) {
      throw ioError(this.path, 'stat failed', err);
    }
  }

  async truncate(length: number): Promise<void> {
    this.live('truncate');
    if (this.readOnly) throw new StorageError('ReadOnly', `${this.path}: truncate of a file opened read-only`);
    checkPosition(this.path, length, 0, 'truncate');
    try {
      await this.handle.truncate(length);
    } catch (err) {
      throw ioError(this.path, `truncate to ${length} bytes failed`, err);
    }
  }

  async flush(): Promise<void> {
    this.live('flush');
    if (this.readOnly || this.cache === 'unsafe') return;
    try {
      await this.handle.datasync();
    } catch (err) {
      throw ioError(this.path, 'flush failed', err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (err) {
      throw ioError(this.path, 'close failed', err);
    }
  }
}

/**
 * A `HostFile` held in memory: for tests, fuzzing and building images without touching the disk.
 * It grows as written; `allocatedSize` counts the 4 KiB pages that hold a non-zero byte.
 */
export class MemoryHostFile implements HostFile {
  private bytes: Uint8Array;
  private length: number;
  private closed = false;
  /** Every write, in order (for tests that assert a corrupt image is never written). */
  writes = 0;

  constructor(
    readonly path = 'memory',
    initial: Uint8Array = new Uint8Array(0),
    readonly readOnly = false,
  ) {
    this.bytes = new Uint8Array(Math.max(4096, initial.length));
    this.bytes.set(initial);
    this.length = initial.length;
  }

  /** A copy of the file's contents. */
  contents(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  private live(what: string): void {
    if (this.closed) throw new StorageError('Closed', `${this.path}: ${what} on a closed file`);
  }

  private ensure(capacity: number): void {
    if (capacity <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(capacity, this.bytes.length * 2));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  async read(position: number, buffer: Uint8Array): Promise<number> {
    this.live('read');
    checkPosition(this.path, position, buffer.length, 'read');
    const n = Math.max(0, Math.min(buffer.length, this.length - position));
    if (n > 0) buffer.set(this.bytes.subarray(position, position + n));
    return n;
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    this.live('write');
    if (this.readOnly) throw new StorageError('ReadOnly', `${this.path}: write to a file opened read-only`);
    checkPosition(this.path, position, data.length, 'write');
    this.writes++;
    this.ensure(position + data.length);
    this.bytes.set(data, position);
    this.length = Math.max(this.length, position + data.length);
  }

  async size(): Promise<number> {
    this.live('size');
    return this.length;
  }

  async allocatedSize(): Promise<number> {
    this.live('allocatedSize');
    let pages = 0;
    for (let p = 0; p < this.length; p += 4096) {
      const page = this.bytes.subarray(p, Math.min(p + 4096, this.length));
      if (page.some((b) => b !== 0)) pages++;
    }
    return pages * 4096;
  }

  async truncate(length: number): Promise<void> {
    this.live('truncate');
    if (this.readOnly) throw new StorageError('ReadOnly', `${this.path}: truncate of a file opened read-only`);
    checkPosition(this.path, length, 0, 'truncate');
    this.writes++;
    this.ensure(length);
    if (length < this.length) this.bytes.fill(0, length, this.length);
    this.length = length;
  }

  async flush(): Promise<void> {
    this.live('flush');
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
