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
  /** Bytes per source read (default 2 MiB, as qemu-img convert). */
  chunkSize?: number;
  /**
   * What the target shows where nothing is written (its backing image, `convert -B`): blocks equal
   * to it are not written, blocks of zeros that differ from it are written as zeros.
   */
  baseline?: BlockDevice;
  /** Called as bytes are done: `(done, total)`. */
  onProgress?: (done: number, total: number) => void;
}

/** qemu-img convert's buffer size. */
const DEFAULT_CHUNK = 2 << 20;
/** Chunks in the copy pipeline at once (qemu-img convert runs 8 requests of up to 2 MiB by default). */
const PIPELINE_BUFFERS = 4;

let zeros = Buffer.alloc(0);

/**
 * Is `buf[at, at + n)` all zeros? Scanned a 32-bit word at a time in place (data blocks end at their
 * first word, and no native call is made per block); unaligned ranges are compared with a shared
 * zero buffer instead.
 */
function zeroAt(buf: Buffer, at: number, n: number, words?: Int32Array): boolean {
  if (words === undefined || ((at | n) & 3) !== 0) {
    if (zeros.length < n) zeros = Buffer.alloc(n);
    return buf.compare(zeros, 0, n, at, at + n) === 0;
  }
  let i = at >>> 2;
  const end = (at + n) >>> 2;
  // Eight words a step, OR-ed: one branch per 32 bytes.
  for (; i + 8 <= end; i += 8) {
    if ((words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] | words[i + 7]) !== 0) return false;
  }
  for (; i < end; i++) if (words[i] !== 0) return false;
  return true;
}

/** A 32-bit view of `buf` when it is aligned for one. */
function wordsOf(buf: Buffer): Int32Array | undefined {
  return (buf.byteOffset & 3) === 0 ? new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2) : undefined;
}

/**
 * Data ranges of `src` (by its allocation map), widened to `grain` and merged across gaps shorter
 * than `gap`: reading a short hole costs less than another round of the pipeline, and the zeros it
 * reads are skipped like any others.
 */
async function dataRanges(src: BlockDevice, grain: number, gap: number): Promise<{ offset: number; length: number }[]> {
  const out: { offset: number; length: number }[] = [];
  for (const e of await src.allocation(0, src.size)) {
    if (e.status !== 'data') continue;
    const start = Math.floor(e.offset / grain) * grain;
    const end = Math.min(src.size, Math.ceil((e.offset + e.length) / grain) * grain);
    const last = out[out.length - 1];
    if (last !== undefined && last.offset + last.length + gap >= start) last.length = Math.max(last.length, end - last.offset);
    else out.push({ offset: start, length: end - start });
  }
  return out;
}

/**
 * Copy the logical content of `src` into `dst` (`qemu-img convert`): only the ranges the source's
 * allocation map says hold data are read; blocks of zeros are skipped (sparse output) or, with
 * `compress`, every non-zero cluster is stored compressed. Several chunks are read and written at
 * once.
 */
export async function copyImage(
  src: BlockDevice,
  dst: BlockDevice & Partial<Pick<ImageDevice, 'writeCompressed' | 'clusterSize' | 'writeUnit'>>,
  options: CopyOptions = {},
): Promise<void> {
  if (dst.size < src.size) throw new StorageError('InvalidArgument', `target of ${dst.size} bytes is smaller than the source (${src.size} bytes)`);
  const compress = options.compress ?? false;
  if (compress && dst.writeCompressed === undefined) throw new StorageError('Unsupported', 'the target format does not support compression');
  const cluster = dst.clusterSize ?? 65536;
  const sparse = options.sparseSize ?? 4096;
  // Zeros are looked for in blocks of the sparse size, or of the target's write unit when bigger: a
  // cluster format allocates whole clusters anyway, and a part of a new cluster costs a read-modify-write.
  const step = compress ? cluster : sparse === 0 ? 0 : Math.max(sparse, dst.writeUnit ?? dst.clusterSize ?? 0);
  const grain = compress ? cluster : Math.max(512, step === 0 ? 4096 : step);
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

  /** Start every write of one chunk (in order, without waiting between them); resolves when all are done. */
  const writeChunk = (offset: number, buf: Buffer, words: Int32Array | undefined): Promise<void> => {
    const jobs: Promise<void>[] = [];
    if (compress) {
      for (let at = 0; at < buf.length; at += cluster) {
        const n = Math.min(cluster, buf.length - at);
        if (zeroAt(buf, at, n, words)) {
          if (!targetIsZero) jobs.push(dst.writeZeroes(offset + at, n));
        } else jobs.push(dst.writeCompressed!(offset + at, buf.subarray(at, at + n)));
      }
    } else if (step === 0) {
      jobs.push(dst.write(offset, buf));
    } else {
      let runStart = -1;
      for (let at = 0; at < buf.length; at += step) {
        const n = Math.min(step, buf.length - at);
        if (!zeroAt(buf, at, n, words)) {
          if (runStart < 0) runStart = at;
          continue;
        }
        if (runStart >= 0) jobs.push(dst.write(offset + runStart, buf.subarray(runStart, at)));
        runStart = -1;
        if (!targetIsZero) jobs.push(dst.writeZeroes(offset + at, n));
      }
      // The last block may be shorter than `step`: the run ends at the end of the buffer.
      if (runStart >= 0) jobs.push(dst.write(offset + runStart, buf.subarray(runStart)));
    }
    return Promise.all(jobs).then(() => progress(buf.length));
  };

  // A small pipeline, as qemu-img convert keeps several requests in flight: up to BUFFERS chunks
  // are being read or written at once. Reads may complete in any order; the writes of each chunk
  // are started in chunk order, after those of the chunk before, so the target is laid out as the
  // source is. A buffer is reused once the writes of its chunk are done.
  const pool = Array.from({ length: PIPELINE_BUFFERS }, () => Buffer.allocUnsafe(chunk));
  const views = pool.map(wordsOf);
  const slots: Promise<void>[] = pool.map(() => Promise.resolve());
  let turn: Promise<void> = Promise.resolve();
  let pos = 0;
  let k = 0;
  const fail = (): void => undefined;
  try {
    for (const r of await dataRanges(src, grain, chunk)) {
      if (r.offset > pos) {
        if (!targetIsZero) await dst.writeZeroes(pos, r.offset - pos);
        progress(r.offset - pos);
      }
      for (let at = r.offset; at < r.offset + r.length; at += chunk) {
        const n = Math.min(chunk, r.offset + r.length - at);
        const slot = k++ % pool.length;
        await slots[slot];
        const buf = pool[slot].subarray(0, n);
        const read = src.read(at, buf);
        read.catch(fail);
        const ready = turn.then(() => read);
        const words = views[slot];
        slots[slot] = ready.then(() => writeChunk(at, buf, words));
        // Failures surface through `slots`; these handlers only keep them from being unhandled meanwhile.
        slots[slot].catch(fail);
        turn = ready;
        turn.catch(fail);
      }
      pos = r.offset + r.length;
    }
    await Promise.all(slots);
  } catch (err) {
    // Nothing may still be running on the devices when the caller closes them.
    await Promise.allSettled(slots);
    throw err;
  }
  if (total > pos) {
    if (!targetIsZero) await dst.writeZeroes(pos, total - pos);
    progress(total - pos);
  }
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
