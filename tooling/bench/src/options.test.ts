import { describe, expect, it } from 'vitest';
import { BenchError } from './errors.js';
import { DEFAULT_APPEND, parseCount, parseOptions, withBenchMode } from './options.js';

describe('linux-boot options', () => {
  it('defaults to all three peers, the issue command line in bench mode and one run', () => {
    const o = parseOptions([]);
    expect(o.peers).toEqual(['tsvm', 'v86', 'qemu']);
    expect(o.append).toBe(`${DEFAULT_APPEND} tsvm.mode=bench`);
    expect(o.runs).toBe(1);
    expect(o.tsvmMaxInstructions).toBe(20e9);
    expect(o.qemuIcount).toBe(true);
  });

  it('reads flags in both --flag value and --flag=value forms', () => {
    const o = parseOptions(['--peers=qemu,v86-nojit', '--runs', '3', '--tsvm-timeout', '30', '--tsvm-max-instructions=2.5G', '--no-qemu-icount', '--', '--json', 'out.json']);
    expect(o.peers).toEqual(['qemu', 'v86-nojit']);
    expect(o.runs).toBe(3);
    expect(o.tsvmTimeout).toBe(30);
    expect(o.tsvmMaxInstructions).toBe(2.5e9);
    expect(o.qemuIcount).toBe(false);
    expect(o.json).toBe('out.json');
  });

  it('keeps a mode the command line already sets', () => {
    expect(withBenchMode('console=ttyS0 tsvm.mode=shell')).toBe('console=ttyS0 tsvm.mode=shell');
    expect(withBenchMode(' console=ttyS0 ')).toBe('console=ttyS0 tsvm.mode=bench');
  });

  it('refuses unknown peers, flags and malformed numbers with a usage error', () => {
    for (const argv of [['--peers', 'bochs'], ['--frobnicate'], ['--runs', '1.5'], ['--timeout', '-1'], ['--tsvm-time', 'fast'], ['--memory']]) {
      expect(() => parseOptions(argv)).toThrow(BenchError);
    }
    expect(() => parseCount('12X', '--n')).toThrow(/K, M or G/);
    expect(parseCount('300M', '--n')).toBe(300e6);
    expect(parseCount('7k', '--n')).toBe(7000);
  });
});
