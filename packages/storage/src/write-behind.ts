import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { MAX_WRITEV_BUFFERS, writeFrom } from './host-file.js';

/** Data writes that may be in flight at once. */
const MAX_INFLIGHT_WRITES = 4;
/** Largest gathered write (qemu-img convert's buffer size). */
const MAX_GATHERED_BYTES = 2 << 20;

interface Gathered {
  host: number;
  end: number;
  parts: Uint8Array[];
  done: Promise<void>;
  settle: (err?: Error) => void;
}

/**
 * Data writes into newly allocated clusters of one file, run behind the request that made them so
 * the next request can start (qemu-img convert keeps several requests in flight the same way).
 * Writes to consecutive file offsets are gathered while requests keep coming and go out as one
 * vector write. The owner must `drain()` before anything may look at those clusters (a read, an
 * overwrite, a metadata write-back, a flush), and call `idle()` when no request is waiting.
 */
export class WriteBehind {
  private readonly inflight = new Set<Promise<void>>();
  private gathered: Gathered | undefined;

  constructor(private readonly file: HostFile) {}

  /**
   * Queue `data` for file offset `host`. Returns once it is gathered (or, with too many writes in
   * flight, once one of them is done); `written` settles when the data is in the file.
   */
  async add(host: number, data: Uint8Array): Promise<{ written: Promise<void> }> {
    const g = this.gathered;
    if (g !== undefined && (g.end !== host || g.end - g.host + data.length > MAX_GATHERED_BYTES || g.parts.length >= MAX_WRITEV_BUFFERS)) {
      await this.start();
    }
    let cur = this.gathered;
    if (cur === undefined) {
      let settle: (err?: Error) => void = () => undefined;
      const done = new Promise<void>((resolve, reject) => {
        settle = (err) => (err === undefined ? resolve() : reject(err));
      });
      // Rejections reach the writers through `written`; this keeps one from being unhandled meanwhile.
      done.catch(() => undefined);
      cur = { host, end: host, parts: [], done, settle };
      this.gathered = cur;
    }
    cur.parts.push(data);
    cur.end += data.length;
    // In an object: an async function returning the promise itself would wait for it.
    return { written: cur.done };
  }

  /** No request is waiting: start what is gathered now. */
  idle(): void {
    void this.start();
  }

  /** Start what is gathered and wait for every write in flight. */
  async drain(): Promise<void> {
    void this.start();
    while (this.inflight.size > 0) await Promise.all(this.inflight);
  }

  /** Start the gathered write; resolves when fewer than the limit are in flight. */
  private async start(): Promise<void> {
    const g = this.gathered;
    if (g === undefined) return;
    this.gathered = undefined;
    const write = writeFrom(this.file, g.host, g.parts);
    const settled = write.then(
      () => g.settle(),
      (err: unknown) => g.settle(err instanceof Error ? err : new StorageError('Io', `${this.file.path}: write at offset ${g.host} failed`, { cause: err })),
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    if (this.inflight.size >= MAX_INFLIGHT_WRITES) await Promise.race(this.inflight);
  }
}
