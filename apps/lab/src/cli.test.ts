import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLab } from './cli.js';
import { singleStep8086Dir } from './paths.js';
import { captureIo } from './test-io.js';

const dir = join(singleStep8086Dir(), 'moo');

describe('tsvm-lab', () => {
  it('lists suites with --help and exits 0', async () => {
    const io = captureIo();
    expect(await runLab(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/moo\s+CPU single-step vectors/);
  });

  it('reports unknown suites and bad options with exit code 2', async () => {
    const io = captureIo();
    expect(await runLab(['nope'], io)).toBe(2);
    expect(await runLab(['moo', '--model', 'z80'], io)).toBe(2);
    expect(io.err()).toContain("unknown model 'z80'");
    expect(await runLab(['moo', '--limit', '0'], io)).toBe(2);
  });

  it('moo --json prints per-file and total counts', async () => {
    const io = captureIo();
    expect(await runLab(['moo', '--dir', dir, '--only', '^0[0-3]$', '--limit', '5', '--json'], io)).toBe(0);
    const json = JSON.parse(io.out()) as { files: { stem: string; passed: number }[]; passed: number; failed: number };
    expect(json.files.map((f) => f.stem)).toEqual(['00', '01', '02', '03']);
    expect([json.passed, json.failed]).toEqual([20, 0]);
  });

  it('moo --diff shows the first failing test of a file (the 8086 pushes SP after decrementing; a P6 does not)', async () => {
    const io = captureIo();
    expect(await runLab(['moo', '--dir', dir, '--only', '^54$', '--limit', '20', '--model', 'p6', '--diff'], io)).toBe(1);
    expect(io.out()).toMatch(/first failure: test #\d+ '.*push sp.*' \(.*54\)/);
    expect(io.out()).toMatch(/ram\[0x[0-9a-f]{5}\]\s+expected/);
  });
});
