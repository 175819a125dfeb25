import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import type { CliCommand } from './command.js';
import { CliError } from './errors.js';
import { captureIo } from './test-io.js';

const echo: CliCommand = {
  name: 'echo',
  summary: 'print the arguments',
  help: 'Usage: tsvm echo WORDS...',
  run(args, io) {
    if (args.length === 0) throw new CliError('Usage', 'nothing to echo');
    io.stdout.write(`${args.join(' ')}\n`);
    return Promise.resolve(0);
  },
};

describe('tsvm command dispatch', () => {
  it('lists commands with --help and exits 0', async () => {
    const io = captureIo();
    expect(await runCli(['--help'], io, [echo])).toBe(0);
    expect(io.out()).toMatch(/echo\s+print the arguments/);
  });

  it('runs a command and returns its code', async () => {
    const io = captureIo();
    expect(await runCli(['echo', 'a', 'b'], io, [echo])).toBe(0);
    expect(io.out()).toBe('a b\n');
  });

  it('reports unknown commands and usage errors with exit code 2', async () => {
    const io = captureIo();
    expect(await runCli(['nope'], io, [echo])).toBe(2);
    expect(io.err()).toContain("unknown command 'nope'");
    expect(await runCli(['echo'], io, [echo])).toBe(2);
    expect(io.err()).toContain('nothing to echo');
  });

  it('prints per-command help', async () => {
    const io = captureIo();
    expect(await runCli(['echo', '--help'], io, [echo])).toBe(0);
    expect(io.out()).toBe('Usage: tsvm echo WORDS...\n');
  });
});
