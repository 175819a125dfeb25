import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { BlockDevice } from './block-device.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { MemoryHostFile } from './host-file.js';
import type { ImageFormat, OpenContext } from './image-format.js';

/**
 * Helpers the format tests share: running `qemu-img`, building test content, and fuzzing a driver
 * with corrupted copies of an image held in memory. Not part of the package's API.
 */

function probeQemuImg(): boolean {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether `qemu-img` can run here; differential tests skip (and say so) when it cannot. */
export const HAVE_QEMU_IMG = probeQemuImg();
export const QEMU_SKIP_REASON = 'qemu-img is not installed (Debian: apt-get install qemu-utils); differential tests skipped';

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `qemu-img check`'s exit status (0 clean, 2 corrupt, 3 leaks, 63 unsupported) and output. */
export function qemuCheck(path: string, format: string): { status: number; output: string } {
  try {
    return { status: 0, output: qemuImg('check', '-f', format, path) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The logical content of an image as qemu-img reads it. */
export function qemuToRaw(path: string, format: string, rawPath: string): Uint8Array {
  qemuImg('convert', '-f', format, '-O', 'raw', path, rawPath);
  return new Uint8Array(readFileSync(rawPath));
}

/** Content with random, zero and repeated stretches, `size` bytes. */
export function mixedContent(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let s = seed;
  for (let at = 0; at < size; ) {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    const len = Math.min(size - at, 4096 + (s % 200_000));
    const kind = (s >>> 8) % 3;
    if (kind === 0) out.set(randomBytes(len), at);
    else if (kind === 1) out.fill((s >>> 16) & 0xff || 1, at, at + len);
    at += len;
  }
  return out;
}

export async function readAll(dev: BlockDevice): Promise<Uint8Array> {
  const out = new Uint8Array(dev.size);
  const step = 1 << 20;
  for (let at = 0; at < dev.size; at += step) await dev.read(at, out.subarray(at, Math.min(dev.size, at + step)));
  return out;
}

/** An `OpenContext` for a file in memory with no other files around it. */
export function memoryContext(readOnly: boolean, backing?: BlockDevice): OpenContext {
  return {
    readOnly,
    path: '/images/test',
    openFile: () => Promise.reject(new StorageError('Io', 'no other files in a memory test')),
    openBacking: async () => backing,
  };
}

export interface FuzzOutcome {
  opened: number;
  rejected: number;
  codes: Set<string>;
}

/**
 * Open `mutations` corrupted copies of `image` with `format` (each differs in 1-4 bytes inside
 * `ranges`), read every byte of those that open, and assert that every failure is a `StorageError`
 * and that no copy is written while opening read-write fails.
 */
export async function fuzzImage(
  format: ImageFormat,
  image: Uint8Array,
  ranges: readonly [number, number][],
  mutations: number,
  seed = 7,
  context: () => OpenContext = () => memoryContext(false),
): Promise<FuzzOutcome> {
  // mulberry32: small, seedable, and its low bits are as good as its high ones.
  let s = seed >>> 0;
  const next = (n: number): number => {
    s = (s + 0x6d2b_79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const outcome: FuzzOutcome = { opened: 0, rejected: 0, codes: new Set() };
  for (let m = 0; m < mutations; m++) {
    const copy = image.slice();
    const flips = 1 + next(4);
    for (let f = 0; f < flips; f++) {
      const [lo, hi] = ranges[next(ranges.length)];
      const at = lo + next(hi - lo);
      copy[at] = next(3) === 0 ? 0xff : next(256);
    }
    const file: HostFile & { writes: number } = new MemoryHostFile('/images/fuzz', copy);
    try {
      const dev = await format.open(file, context());
      outcome.opened++;
      try {
        // A corrupt size may be huge: read a bounded prefix and the last sector.
        const chunk = new Uint8Array(1 << 20);
        for (let at = 0; at < Math.min(dev.size, 8 << 20); at += chunk.length) {
          await dev.read(at, chunk.subarray(0, Math.min(chunk.length, dev.size - at)));
        }
        if (dev.size >= 512) await dev.read(dev.size - 512, chunk.subarray(0, 512));
        await dev.allocation(0, Math.min(dev.size, 8 << 20));
        await dev.close();
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        outcome.codes.add(err.code);
      }
    } catch (err) {
      if (!(err instanceof StorageError)) throw new Error(`mutation ${m} crashed with ${String(err)}`, { cause: err });
      if (file.writes !== 0) throw new Error(`mutation ${m}: a rejected image was written`, { cause: err });
      outcome.rejected++;
      outcome.codes.add(err.code);
    }
  }
  return outcome;
}

/**
 * Where two byte arrays first differ (-1 when equal, the shorter length when one is a prefix).
 * Asserting on this is fast where `toEqual` on megabytes is not, and the failure says where.
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  if (Buffer.compare(a, b) === 0) return -1;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
