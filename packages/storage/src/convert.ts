import type { BlockDevice } from './block-device.js';
import { readBacking } from './backing.js';
import { StorageError } from './errors.js';
import type { ImageDevice } from './image-format.js';

export interface CopyOptions {
  /** Store clusters compressed (`convert -c`); the target must support `writeCompressed`. */
  compress?: boolean;
  /** Blocks of this many bytes that are all zeros are not written (sparse output); 0 writes everything. */
  sparseSize?: number;
  /** The target already reads as zeros everywhere (a new image), so zero ranges need no write. Default true. */
  targetIsZero?: boolean;
  /** Bytes per read/write (default 1 MiB; bigger writes were slower on the hosts measured). */
  chunkSize?: number;
  /**
   * What the target shows where nothing is written (its backing image, `convert -B`): blocks equal
   * to it are not written, blocks of zeros that differ from it are written as zeros.
   */
  baseline?: BlockDevice;
  /** Called as bytes are done: `(done, total)`. */
  onProgress?: (done: number, total: number) => void;
}

const DEFAULT_CHUNK = 1 << 20;

let zeros = Buffer.alloc(0);

/** Is `buf[at, at + n)` all zeros? memcmp against a shared zero buffer, no allocation per call. */
function zeroAt(buf: Buffer, at: number, n: number): boolean {
  if (zeros.length < n) zeros = Buffer.alloc(n);
  return buf.compare(zeros, 0, n, at, at + n) === 0;
}

/** Data ranges of `src` (by its allocation map), widened to `grain` and merged. */
async function dataRanges(src: BlockDevice, grain: number): Promise<{ offset: number; length: number }[]> {
  const out: { offset: number; length: number }[] = [];
  for (const e of await src.allocation(0, src.size)) {
    if (e.status !== 'data') continue;
    const start = Math.floor(e.offset / grain) * grain;
    const end = Math.min(src.size, Math.ceil((e.offset + e.length) / grain) * grain);
    const last = out[out.length - 1];
    if (last !== undefined && last.offset + last.length >= start) last.length = Math.max(last.length, end - last.offset);
    else out.push({ offset: start, length: end - start });
  }
  return out;
}

/**
 * Copy the logical content of `src` into `dst` (`qemu-img convert`): only the ranges the source's
 * allocation map says hold data are read; blocks of zeros are skipped (sparse output) or, with
 * `compress`, every non-zero cluster is stored compressed. Reading the next chunk overlaps writing
 * the previous one.
 */
export async function copyImage(src: BlockDevice, dst: BlockDevice & Partial<Pick<ImageDevice, 'writeCompressed' | 'clusterSize'>>, options: CopyOptions = {}): Promise<void> {
  if (dst.size < src.size) throw new StorageError('InvalidArgument', `target of ${dst.size} bytes is smaller than the source (${src.size} bytes)`);
  const compress = options.compress ?? false;
  if (compress && dst.writeCompressed === undefined) throw new StorageError('Unsupported', 'the target format does not support compression');
  const cluster = dst.clusterSize ?? 65536;
  const sparse = options.sparseSize ?? 4096;
  // A cluster format allocates whole clusters anyway: testing smaller blocks for zeros gains nothing.
  const grain = compress ? cluster : Math.max(512, sparse > 0 ? sparse : 4096, dst.clusterSize ?? 0);
  const chunk = Math.max(grain, Math.floor((options.chunkSize ?? DEFAULT_CHUNK) / grain) * grain);
  const targetIsZero = options.targetIsZero ?? true;
  const total = src.size;
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    options.onProgress?.(done, total);
  };
  options.onProgress?.(0, total);

  const baseline = options.baseline;
  if (baseline !== undefined) {
    await copyAgainstBaseline(src, dst, baseline, grain, chunk, compress, progress);
    return;
  }
  const ranges = await dataRanges(src, grain);
  let pos = 0;
  let pending: Promise<void> = Promise.resolve();
  const skipTo = async (end: number): Promise<void> => {
    if (end <= pos) return;
    if (!targetIsZero) await dst.writeZeroes(pos, end - pos);
    progress(end - pos);
    pos = end;
  };

  const step = compress ? cluster : sparse === 0 ? 0 : Math.max(sparse, dst.clusterSize ?? 0);
  const writeChunk = async (offset: number, buf: Buffer): Promise<void> => {
    if (compress) {
      const jobs: Promise<void>[] = [];
      for (let at = 0; at < buf.length; at += cluster) {
        const part = buf.subarray(at, Math.min(buf.length, at + cluster));
        if (zeroAt(buf, at, part.length)) {
          if (!targetIsZero) jobs.push(dst.writeZeroes(offset + at, part.length));
          continue;
        }
        jobs.push(dst.writeCompressed!(offset + at, part));
      }
      await Promise.all(jobs);
    } else if (sparse === 0) {
      await dst.write(offset, buf);
    } else {
      let runStart = -1;
      for (let at = 0; at <= buf.length; at += step) {
        const isData = at < buf.length && !zeroAt(buf, at, Math.min(step, buf.length - at));
        if (isData && runStart < 0) runStart = at;
        if (!isData && runStart >= 0) {
          await dst.write(offset + runStart, buf.subarray(runStart, Math.min(at, buf.length)));
          runStart = -1;
        }
        if (!isData && at < buf.length && !targetIsZero) await dst.writeZeroes(offset + at, Math.min(step, buf.length - at));
      }
    }
    progress(buf.length);
  };

  // Three buffers in turn: one being read, one being written, one spare for compression jobs.
  const pool = [Buffer.alloc(chunk), Buffer.alloc(chunk), Buffer.alloc(chunk)];
  let turn = 0;
  for (const r of ranges) {
    await skipTo(r.offset);
    for (let at = r.offset; at < r.offset + r.length; at += chunk) {
      const n = Math.min(chunk, r.offset + r.length - at);
      const buf = pool[turn++ % pool.length].subarray(0, n);
      await src.read(at, buf);
      await pending;
      pending = writeChunk(at, buf);
      // Handled here so a failed write is not reported as unhandled while the next read runs.
      pending.catch(() => undefined);
      pos = at + n;
    }
  }
  await pending;
  await skipTo(total);
}

/** `convert -B`: write only the grains where `src` differs from what `dst` already shows. */
async function copyAgainstBaseline(
  src: BlockDevice,
  dst: BlockDevice & Partial<Pick<ImageDevice, 'writeCompressed'>>,
  baseline: BlockDevice,
  grain: number,
  chunk: number,
  compress: boolean,
  progress: (n: number) => void,
): Promise<void> {
  const a = Buffer.alloc(chunk);
  const b = Buffer.alloc(chunk);
  for (let at = 0; at < src.size; at += chunk) {
    const n = Math.min(chunk, src.size - at);
    await src.read(at, a.subarray(0, n));
    await readBacking(baseline, at, b.subarray(0, n));
    for (let g = 0; g < n; g += grain) {
      const len = Math.min(grain, n - g);
      if (a.compare(b, g, g + len, g, g + len) === 0) continue;
      if (zeroAt(a, g, len)) await dst.writeZeroes(at + g, len);
      else if (compress && len === grain) await dst.writeCompressed!(at + g, a.subarray(g, g + len));
      else await dst.write(at + g, a.subarray(g, g + len));
    }
    progress(n);
  }
}
