/**
 * Decoder throughput on the .text of a real 32-bit binary, tsvm against the iced-x86 npm package in
 * the same run. Usage: `pnpm bench [path-to-i386-ELF]`; without a path it fetches Debian's gdb:i386
 * with `apt-get download` into a cache folder outside the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as Iced from 'iced-x86';
import { Instruction, decode, elfText } from '../src/index.js';

const require = createRequire(import.meta.url);
const iced = require('iced-x86') as typeof Iced;

const PACKAGE = 'gdb:i386';
const BINARY = 'usr/bin/gdb';

function fetchBinary(): string {
  const cache = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tsvm', 'x86-decoder-bench');
  const target = join(cache, 'root', BINARY);
  if (existsSync(target)) return target;
  mkdirSync(cache, { recursive: true });
  process.stdout.write(`fetching ${PACKAGE} into ${cache} ...\n`);
  execFileSync('apt-get', ['download', PACKAGE], { cwd: cache, stdio: 'inherit' });
  const deb = readdirSync(cache).find((f) => f.endsWith('.deb'));
  if (deb === undefined) throw new Error(`apt-get download ${PACKAGE} left no .deb in ${cache}`);
  execFileSync('dpkg-deb', ['-x', join(cache, deb), join(cache, 'root')]);
  return target;
}

/** Linear sweep with tsvm; returns the number of instructions. */
function sweepTsvm(text: Uint8Array, ip: number, ins: Instruction): number {
  let n = 0;
  for (let off = 0; off < text.length; n++) {
    decode(text, off, ip + off, 32, ins);
    off += ins.length > 0 ? ins.length : 1;
  }
  return n;
}

/** Linear sweep with iced-x86 (its allocation-free decodeOut). */
function sweepIced(text: Uint8Array, ip: number): number {
  const decoder = new iced.Decoder(32, text, iced.DecoderOptions.None);
  const ins = new iced.Instruction();
  decoder.ip = BigInt(ip);
  let n = 0;
  while (decoder.canDecode) {
    decoder.decodeOut(ins);
    n++;
  }
  ins.free();
  decoder.free();
  return n;
}

interface Timing {
  ms: number;
  count: number;
}

/**
 * Best time of each sweep over `runs` rounds, the two sweeps alternating within a round, so that both
 * see the same background load on a shared machine.
 */
function bestInterleaved(runs: number, a: () => number, b: () => number): [Timing, Timing] {
  const ta: Timing = { ms: Infinity, count: 0 };
  const tb: Timing = { ms: Infinity, count: 0 };
  for (let i = 0; i < runs; i++) {
    for (const [fn, t] of [[a, ta], [b, tb]] as const) {
      const t0 = process.hrtime.bigint();
      t.count = fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ms < t.ms) t.ms = ms;
    }
  }
  return [ta, tb];
}

const path = process.argv[2] ?? fetchBinary();
const text = elfText(new Uint8Array(readFileSync(path)), path);
if (text.bits !== 32) throw new Error(`${path} is not a 32-bit ELF`);
const mb = text.bytes.length / 1e6;
process.stdout.write(`${path}: .text ${text.bytes.length} bytes at 0x${text.address.toString(16)}\n`);

const ins = new Instruction();
sweepTsvm(text.bytes, text.address, ins); // warm-up
sweepIced(text.bytes, text.address);
const runs = Number(process.env['BENCH_RUNS'] ?? 7);
const [ours, theirs] = bestInterleaved(runs, () => sweepTsvm(text.bytes, text.address, ins), () => sweepIced(text.bytes, text.address));

const line = (name: string, r: Timing): string =>
  `${name.padEnd(10)} ${r.count} instructions in ${r.ms.toFixed(1)} ms: ${((r.count / r.ms) * 1000 / 1e6).toFixed(2)} M instructions/s, ${(mb / (r.ms / 1000)).toFixed(1)} MB/s\n`;
process.stdout.write(line('tsvm', ours));
process.stdout.write(line('iced-x86', theirs));
process.stdout.write(`ratio: tsvm is ${(theirs.ms / ours.ms).toFixed(2)}x iced-x86 (npm ${String((require('iced-x86/package.json') as { version: string }).version)})\n`);
