/**
 * The assembly test programs in guests/tests: each 64 KiB ROM image boots at the reset vector on a
 * bare CPU with physical memory, a debug console (port 0xE9) and isa-debug-exit (port 0xF4), and
 * must print exactly what QEMU printed for it (`<area>.expected`, recorded by record-expected.sh).
 * A second check rebuilds each committed `.bin` from its `.asm` with nasm, when nasm is installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import type { IoPorts } from './bus.js';
import { Cpu } from './interpreter.js';

const TESTS_DIR = fileURLToPath(new URL('../../../guests/tests/', import.meta.url));
const DEBUGCON = 0xe9;
const DEBUG_EXIT = 0xf4;
/** RAM the programs may use, as `-m 16` gives them under QEMU. */
const RAM_SIZE = 16 << 20;
const ROM_SIZE = 64 << 10;
/** Instructions a program may take before it counts as hung. */
const BUDGET = 20_000_000;
const SLICE = 100_000;

const areas = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => f.slice(0, -'.bin'.length))
  .sort();

interface GuestRun {
  output: string;
  /** The value written to port 0xF4, or null if the program never got there. */
  exitCode: number | null;
  stop: string;
  instructions: number;
}

/** The board of a test program: port 0xE9 collects bytes, a write to 0xF4 ends the run. */
function bootRom(image: Uint8Array): GuestRun {
  if (image.length !== ROM_SIZE) throw new Error(`a test ROM is ${ROM_SIZE} bytes, this one ${image.length}`);
  const memory = new PhysicalMemory({ ramSize: RAM_SIZE });
  // The flat ROM mapping a PC's chipset decodes: at the top of 4 GiB (the reset vector) and below 1 MiB.
  memory.mapRom(0x1_0000_0000 - ROM_SIZE, image, 'rom');
  memory.mapRom(0x10_0000 - ROM_SIZE, image, 'rom-isa');
  const bytes: number[] = [];
  let exitCode: number | null = null;
  let cpu: Cpu | null = null;
  const out8 = (port: number, value: number): void => {
    if (port === DEBUGCON) bytes.push(value & 0xff);
    else if (port === DEBUG_EXIT && exitCode === null) {
      exitCode = value & 0xff;
      cpu?.requestStop();
    }
  };
  const io: IoPorts = {
    in8: () => 0xff,
    in16: () => 0xffff,
    in32: () => 0xffffffff,
    out8,
    out16: (port, value) => out8(port, value),
    out32: (port, value) => out8(port, value),
  };
  cpu = new Cpu({ model: 'p6', memory, io });
  let stop = 'budget';
  while (exitCode === null && cpu.instructions < BUDGET) {
    stop = cpu.run(SLICE);
    if (stop === 'halt' || stop === 'shutdown') break;
  }
  return { output: Buffer.from(bytes).toString('latin1'), exitCode, stop, instructions: cpu.instructions };
}

const lines = (text: string): string[] => text.split('\n');

describe('guest test programs (guests/tests) print what QEMU prints', () => {
  it('finds the programs', () => {
    expect(areas.length).toBeGreaterThan(0);
  });

  for (const area of areas) {
    it(area, () => {
      const expectedPath = join(TESTS_DIR, `${area}.expected`);
      if (!existsSync(expectedPath)) throw new Error(`${area}.expected is missing: record it with guests/tests/record-expected.sh ${area}`);
      const run = bootRom(readFileSync(join(TESTS_DIR, `${area}.bin`)));
      // Line by line, so a failure shows the checks that differ.
      expect(lines(run.output)).toEqual(lines(readFileSync(expectedPath, 'latin1')));
      expect({ exitCode: run.exitCode, stop: run.stop }).toEqual({ exitCode: 0, stop: 'stopped' });
    });
  }
});

function nasmVersion(): string | null {
  try {
    return execFileSync('nasm', ['-v'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

const nasm = nasmVersion();
if (nasm === null) console.warn('guest-programs: nasm is not installed, so the committed .bin files are not checked against their .asm sources');

describe.skipIf(nasm === null)('guest test programs: each committed .bin is what nasm builds from its .asm', () => {
  const sources = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.asm'));
  for (const source of sources) {
    const area = source.slice(0, -'.asm'.length);
    it(area, () => {
      const dir = mkdtempSync(join(tmpdir(), 'tsvm-guest-'));
      try {
        const out = join(dir, `${area}.bin`);
        execFileSync('nasm', ['-f', 'bin', '-o', out, source], { cwd: TESTS_DIR, stdio: 'pipe' });
        const built = readFileSync(out);
        const committedPath = join(TESTS_DIR, `${area}.bin`);
        expect(existsSync(committedPath), `${area}.bin is not committed: run guests/tests/build.sh`).toBe(true);
        expect(built.equals(readFileSync(committedPath)), `${area}.bin differs from what nasm builds from ${source}: run guests/tests/build.sh ${source}`).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
