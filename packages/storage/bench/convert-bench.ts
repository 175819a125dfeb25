/**
 * `tsvm img convert` against `qemu-img convert`, measured in the same run on the same files.
 *
 *   pnpm --filter @tsvm/storage bench [-- --size-mib 1024 --runs 2 --dir /tmp --only 'raw -> qcow2' --cache unsafe]
 *
 * The source is a raw image with realistic content in 64 KiB blocks: random bytes (incompressible),
 * zeros (what sparse output skips) and repeated patterns, mixed in fixed proportions. Each case is
 * run `runs` times per tool, alternating, and the best time of each counts. tsvm runs in this
 * process with the code `tsvm img convert` uses (createImage + openImage + copyImage); qemu-img is
 * spawned. Both use the same cache mode for the output: `unsafe` by default, which is what
 * `qemu-img convert` does when not given `-t` (the output is written, never fdatasync'ed), or
 * `--cache writeback` for both (flushed to disk at the end).
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type CacheMode, FORMATS, copyImage, createImage, openImage } from '../src/index.js';

interface Args {
  /** Run only the cases whose name contains this text (e.g. `qcow2 -c`). */
  only: string;
  sizeMiB: number;
  runs: number;
  dir: string;
  cache: CacheMode;
}

function parse(argv: string[]): Args {
  const get = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const cache = get('--cache', 'unsafe');
  if (cache !== 'unsafe' && cache !== 'writeback') throw new Error(`--cache must be unsafe or writeback, not ${cache}`);
  return { sizeMiB: Number(get('--size-mib', '1024')), runs: Number(get('--runs', '2')), dir: get('--dir', '/tmp'), only: get('--only', ''), cache };
}

/** 40% random, 30% zeros, 30% a repeated 4 KiB pattern, in 64 KiB blocks, deterministic order. */
function writeSource(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const block = 64 * 1024;
  const chunk = new Uint8Array(16 << 20);
  const pattern = new Uint8Array(4096);
  for (let i = 0; i < pattern.length; i++) pattern[i] = 'tsvm disk image line\n'.charCodeAt(i % 21);
  let x = 12345;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 10;
  };
  for (let at = 0; at < bytes; at += chunk.length) {
    const n = Math.min(chunk.length, bytes - at);
    for (let b = 0; b < n; b += block) {
      const part = chunk.subarray(b, Math.min(n, b + block));
      const r = rnd();
      if (r < 4) randomFillSync(part);
      else if (r < 7) part.fill(0);
      else for (let p = 0; p < part.length; p += pattern.length) part.set(pattern.subarray(0, Math.min(pattern.length, part.length - p)), p);
    }
    writeSync(fd, chunk, 0, n, at);
  }
  closeSync(fd);
}

function qemu(args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('qemu-img', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qemu-img ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function tsvm(src: string, dst: string, format: string, cache: CacheMode, compress = false): Promise<number> {
  const t = process.hrtime.bigint();
  const input = await openImage(src);
  try {
    await createImage(dst, { format, size: input.size });
    const output = await openImage(dst, { format, readOnly: false, cache });
    try {
      await copyImage(input, output, { compress });
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (spawnSync('qemu-img', ['--version']).status !== 0) {
    console.error('qemu-img is not installed (Debian: apt-get install qemu-utils); nothing to compare against');
    process.exitCode = 1;
    return;
  }
  const dir = mkdtempSync(join(args.dir, 'tsvm-bench-'));
  const bytes = args.sizeMiB << 20;
  try {
    const raw = join(dir, 'source.raw');
    writeSource(raw, bytes);
    const qcow = join(dir, 'source.qcow2');
    qemu(['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
    console.log(`source: ${args.sizeMiB} MiB raw (40% random, 30% zero, 30% repeated), best of ${args.runs} runs each, output cache ${args.cache}`);
    console.log(`${'case'.padEnd(22)}${'tsvm s'.padStart(9)}${'qemu s'.padStart(9)}${'tsvm MiB/s'.padStart(12)}${'qemu MiB/s'.padStart(12)}${'ratio'.padStart(8)}  (ratio > 1: tsvm faster)`);
    const cases: { name: string; src: string; fmt: string; qemuFmt: string; inFmt: string; compress?: boolean }[] = [
      { name: 'raw -> qcow2', src: raw, fmt: 'qcow2', qemuFmt: 'qcow2', inFmt: 'raw' },
      { name: 'qcow2 -> raw', src: qcow, fmt: 'raw', qemuFmt: 'raw', inFmt: 'qcow2' },
      { name: 'raw -> qcow2 -c', src: raw, fmt: 'qcow2', qemuFmt: 'qcow2', inFmt: 'raw', compress: true },
    ];
    for (const f of ['vpc', 'vhdx', 'vmdk']) if (FORMATS.has(f)) cases.push({ name: `raw -> ${f}`, src: raw, fmt: f, qemuFmt: f, inFmt: 'raw' });
    for (const c of cases.filter((x) => x.name.includes(args.only))) {
      const out = join(dir, `out.${c.fmt}`);
      let bestT = Infinity;
      let bestQ = Infinity;
      for (let r = 0; r < args.runs; r++) {
        rmSync(out, { force: true });
        bestQ = Math.min(bestQ, qemu(['convert', '-t', args.cache, '-f', c.inFmt, '-O', c.qemuFmt, ...(c.compress === true ? ['-c'] : []), c.src, out]));
        rmSync(out, { force: true });
        bestT = Math.min(bestT, await tsvm(c.src, out, c.fmt, args.cache, c.compress));
      }
      const size = statSync(out).size;
      const mib = args.sizeMiB;
      console.log(
        `${c.name.padEnd(22)}${bestT.toFixed(2).padStart(9)}${bestQ.toFixed(2).padStart(9)}${(mib / bestT).toFixed(0).padStart(12)}${(mib / bestQ).toFixed(0).padStart(12)}${(bestQ / bestT).toFixed(2).padStart(8)}  (tsvm output ${(size / 2 ** 20).toFixed(0)} MiB)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
