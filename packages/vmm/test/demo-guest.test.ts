import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/index.js';

const demoDir = fileURLToPath(new URL('../../../guests/demo/', import.meta.url));
const rom = new Uint8Array(readFileSync(`${demoDir}demo.bin`));
const expected = readFileSync(`${demoDir}expected-output.txt`);

async function runDemo(time: 'deterministic' | 'realtime'): Promise<{ serial: Buffer; debugcon: Buffer; exit: unknown; instructions: number }> {
  const machine = new Machine({ boot: { kind: 'rom', image: rom }, memory: 4 << 20, time });
  const serial: number[] = [];
  const debugcon: number[] = [];
  machine.serial(0).setSink((b) => serial.push(b));
  machine.setDebugConsoleSink((b) => debugcon.push(b));
  const exit = await machine.run({ maxInstructions: 500_000_000 });
  return { serial: Buffer.from(serial), debugcon: Buffer.from(debugcon), exit, instructions: machine.instructions };
}

describe('the demo guest ROM', () => {
  it('prints what QEMU prints, byte for byte, and exits through isa-debug-exit with status 1', async () => {
    const run = await runDemo('deterministic');
    expect(run.exit).toEqual({ reason: 'exit', status: 1 });
    expect(run.serial.toString('latin1')).toBe(expected.toString('latin1'));
  });

  it('gives the same output and instruction count twice in deterministic mode', async () => {
    const a = await runDemo('deterministic');
    const b = await runDemo('deterministic');
    expect(b.serial.equals(a.serial)).toBe(true);
    expect(b.debugcon.equals(a.debugcon)).toBe(true);
    expect(b.instructions).toBe(a.instructions);
    expect(a.debugcon.length).toBeGreaterThan(0);
  });

  it('gives the same serial output in real-time mode', async () => {
    const run = await runDemo('realtime');
    expect(run.exit).toEqual({ reason: 'exit', status: 1 });
    expect(run.serial.equals(expected)).toBe(true);
  });
});
