import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Helpers for the differential tests against `qemu-img` (Debian's qemu-utils). Not part of the
 * package's API. Tests skip with a message when qemu-img is absent.
 */
export const QEMU_IMG: string | undefined = (() => {
  const r = spawnSync('qemu-img', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'qemu-img' : undefined;
})();

export const QEMU_SKIP_REASON = 'qemu-img is not installed (Debian: apt-get install qemu-utils); differential tests skipped';

/** Run qemu-img and return stdout; throws with stderr on failure. */
export function qemuImg(...args: string[]): string {
  return execFileSync(QEMU_IMG ?? 'qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run qemu-img and return its exit code and output without throwing. */
export function qemuImgStatus(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(QEMU_IMG ?? 'qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Run a `qemu-io` command (shipped with qemu-img in qemu-utils) on an image. */
export function qemuIo(path: string, format: string, command: string): void {
  execFileSync('qemu-io', ['-f', format, '-c', command, path], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The logical content of an image as qemu-img sees it (convert to raw). */
export function qemuContent(path: string, rawOut: string, format?: string): Uint8Array {
  qemuImg('convert', ...(format === undefined ? [] : ['-f', format]), '-O', 'raw', path, rawOut);
  return new Uint8Array(readFileSync(rawOut));
}

/**
 * Deterministic test content: a mix of random bytes, zero runs and repeated patterns in blocks of
 * `block` bytes, the way a used disk looks.
 */
export function mixedContent(size: number, seed = 1, block = 4096): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let at = 0; at < size; at += block) {
    const end = Math.min(size, at + block);
    const kind = next() % 4;
    if (kind === 0) continue; // zeros
    if (kind === 1) {
      for (let i = at; i < end; i += 4) {
        const r = next();
        out[i] = r;
        out[i + 1] = r >>> 8;
        out[i + 2] = r >>> 16;
        out[i + 3] = r >>> 24;
      }
    } else {
      const pattern = next();
      for (let i = at; i < end; i++) out[i] = (pattern >>> ((i & 3) * 8)) & 0xff;
    }
  }
  return out;
}

/**
 * Where two byte arrays first differ (`-1` when equal), for assertions on large images: comparing
 * megabytes with a deep-equality matcher is far too slow and prints useless diffs.
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
