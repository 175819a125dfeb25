import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, readBootFile, type MachineConfig } from '@tsvm/vmm';
import type { CliCommand, CliIo } from '../command.js';
import { CliError } from '../errors.js';
import { describeExit, runSession } from './run/session.js';

/** The demo ROM ends by writing 0 to isa-debug-exit: status (0 << 1) | 1. */
export const DEMO_EXIT_STATUS = 1;
const DEMO_DIR = join('guests', 'demo');
/** The demo needs 4 MiB, as QEMU's reference run gives it. */
const DEMO_MEMORY = 4 << 20;
/** Far more than the demo takes (about 100 M instructions): a guard against a runaway ROM. */
const DEMO_BUDGET = 5_000_000_000;
/** How far up from this file the repository root may be (src/commands or dist). */
const MAX_LEVELS = 6;

const HELP = `Usage: tsvm demo [--rom FILE] [--realtime]

Boots the built-in demo guest (guests/demo/demo.bin: a BIOS-less ROM that draws the Mandelbrot set
on COM1 and exits through isa-debug-exit), shows its output, and prints one line: instructions
executed, MIPS, and how the guest ended. Exits 0 when it ended as expected (status 1, and the same
output as QEMU's when guests/demo/expected-output.txt is present).

  --rom FILE    boot another ROM instead
  --realtime    guest time from the host clock (default: deterministic, from the instruction count)
`;

/** Finds guests/demo from the CLI package's location (its sources or its build). */
export function findDemoDir(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < MAX_LEVELS; i++) {
    const candidate = join(dir, DEMO_DIR);
    if (existsSync(join(candidate, 'demo.bin'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

async function demo(argv: string[], io: CliIo): Promise<number> {
  let romPath: string | undefined;
  let realtime = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--realtime') realtime = true;
    else if (arg === '--rom') {
      romPath = argv[++i];
      if (romPath === undefined) throw new CliError('Usage', '--rom needs a file');
      romPath = resolve(io.cwd, romPath);
    } else if (arg.startsWith('--rom=')) romPath = resolve(io.cwd, arg.slice(6));
    else throw new CliError('Usage', `unknown argument '${arg}'`);
  }
  let expected: Buffer | undefined;
  if (romPath === undefined) {
    const dir = findDemoDir();
    if (dir === undefined) throw new CliError('Usage', `cannot find ${join(DEMO_DIR, 'demo.bin')} above the CLI package; give --rom FILE`);
    romPath = join(dir, 'demo.bin');
    const expectedPath = join(dir, 'expected-output.txt');
    if (existsSync(expectedPath)) expected = readFileSync(expectedPath);
  }
  const image = await readBootFile(romPath, 'demo ROM');
  const captured: number[] = [];
  const config: MachineConfig = { boot: { kind: 'rom', image }, memory: DEMO_MEMORY, time: realtime ? 'realtime' : 'deterministic', noReboot: true };
  const result = await runSession(
    (options) => new Machine(config, options),
    { serial: { kind: 'stdio' }, debugcon: { kind: 'none' }, maxInstructions: DEMO_BUDGET, input: false, serialTap: (b) => captured.push(b) },
    io,
  );
  const mips = result.seconds > 0 ? result.instructions / result.seconds / 1e6 : 0;
  const ended = result.exit.reason === 'exit' && result.exit.status === DEMO_EXIT_STATUS;
  const matches = expected === undefined ? undefined : Buffer.from(captured).equals(expected);
  const check = matches === undefined ? '' : matches ? '; output matches QEMU' : '; output DIFFERS from QEMU (guests/demo/expected-output.txt)';
  io.stdout.write(
    `\ndemo: ${formatCount(result.instructions)} instructions in ${result.seconds.toFixed(2)} s (${mips.toFixed(1)} MIPS); ` +
      `${describeExit(result.exit)}${ended ? ' (as expected)' : ` (expected status ${DEMO_EXIT_STATUS})`}${check}\n`,
  );
  return ended && matches !== false ? 0 : 1;
}

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'boot the built-in demo guest (ASCII Mandelbrot on the serial console)',
  help: HELP,
  run: demo,
};
