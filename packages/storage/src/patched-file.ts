import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';

/** A change to lay over a file: bytes at an offset, or a zeroed range. */
export type FilePatch = { kind: 'data'; offset: number; data: Uint8Array } | { kind: 'zero'; offset: number; length: number };

/**
 * A read-only view of a host file with patches laid over it, later patches winning, and a length
 * of at least `minLength`. It lets an image whose journal must be replayed be read without
 * writing to it (a read-only open), and lets the result be validated before any write.
 */
export class PatchedFile implements HostFile {
  readonly readOnly = true;
  private readonly patches: readonly FilePatch[];

  constructor(
    private readonly base: HostFile,
    patches: readonly FilePatch[],
    private readonly minLength: number,
  ) {
    this.patches = patches;
  }

  get path(): string {
    return this.base.path;
  }

  async read(position: number, buffer: Uint8Array): Promise<number> {
    const total = await this.size();
    const n = Math.max(0, Math.min(buffer.length, total - position));
    const got = await this.base.read(position, buffer.subarray(0, n));
    if (got < n) buffer.fill(0, got, n);
    const end = position + n;
    for (const p of this.patches) {
      const pLen = p.kind === 'data' ? p.data.length : p.length;
      const lo = Math.max(position, p.offset);
      const hi = Math.min(end, p.offset + pLen);
      if (lo >= hi) continue;
      if (p.kind === 'data') buffer.set(p.data.subarray(lo - p.offset, hi - p.offset), lo - position);
      else buffer.fill(0, lo - position, hi - position);
    }
    return n;
  }

  async size(): Promise<number> {
    let size = Math.max(await this.base.size(), this.minLength);
    for (const p of this.patches) size = Math.max(size, p.offset + (p.kind === 'data' ? p.data.length : p.length));
    return size;
  }

  async allocatedSize(): Promise<number> {
    return this.base.allocatedSize();
  }

  write(): Promise<void> {
    return Promise.reject(new StorageError('ReadOnly', `${this.base.path}: write to a read-only patched view`));
  }

  truncate(): Promise<void> {
    return Promise.reject(new StorageError('ReadOnly', `${this.base.path}: truncate of a read-only patched view`));
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.base.close();
  }
}
