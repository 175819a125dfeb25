import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VmmError } from '../errors.js';
import { Machine } from '../machine.js';
import { readContainer, writeContainer } from './container.js';

const rom = new Uint8Array(readFileSync(new URL('../../../../guests/demo/demo.bin', import.meta.url)));
const config = { boot: { kind: 'rom' as const, image: rom }, memory: 4 << 20, time: 'deterministic' as const };

/** xorshift32: the same cases every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const SNAPSHOT_CODES = ['SnapshotCorrupt', 'SnapshotVersion', 'SnapshotMismatch'];

/** Restores `bytes` ('restored', or the error code); a refusal must be a snapshot error and leave the machine as it was. */
function tryRestore(target: Machine, bytes: Uint8Array): string {
  const cpuBefore = target.cpu.getState();
  const devicesBefore = target.board.devices.map((d) => d.saveState());
  const instructions = target.instructions;
  try {
    target.restoreSnapshot(bytes);
    return 'restored';
  } catch (e) {
    if (!(e instanceof VmmError) || !SNAPSHOT_CODES.includes(e.code)) throw e;
    expect(target.cpu.getState()).toEqual(cpuBefore);
    expect(target.board.devices.map((d) => d.saveState())).toEqual(devicesBefore);
    expect(target.instructions).toBe(instructions);
    return e.code;
  }
}

/** A random JSON-ish value to put where a field was. */
function randomValue(r: () => number): unknown {
  const pick = Math.floor(r() * 9);
  return [-1, 2 ** 53, 0.5, 'x', null, true, [], {}, 0xffff_ffff][pick];
}

function mutateJson(value: unknown, r: () => number, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return r() < 0.5 ? randomValue(r) : value;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0 || depth > 6) return randomValue(r);
  const [key, child] = entries[Math.floor(r() * entries.length)];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) };
  (copy as Record<string, unknown>)[key] = r() < 0.7 ? mutateJson(child, r, depth + 1) : randomValue(r);
  if (r() < 0.1 && !Array.isArray(copy)) delete copy[key];
  return copy;
}

describe('snapshot files as hostile input', async () => {
  const source = new Machine(config);
  expect(await source.run({ maxInstructions: 500_000 })).toEqual({ reason: 'budget' });
  const good = source.saveSnapshot();
  const target = new Machine(config);

  it('refuses random byte damage (the checksum), truncation and garbage with snapshot errors', () => {
    const r = rng(1);
    for (let i = 0; i < 200; i++) {
      const bytes = good.slice();
      const flips = 1 + Math.floor(r() * 8);
      for (let f = 0; f < flips; f++) bytes[Math.floor(r() * bytes.length)] ^= 1 << Math.floor(r() * 8);
      expect(tryRestore(target, bytes)).not.toBe('restored');
      expect(tryRestore(target, good.subarray(0, Math.floor(r() * good.length)))).not.toBe('restored');
    }
    const garbage = new Uint8Array(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(r() * 256);
    expect(tryRestore(target, garbage)).toBe('SnapshotCorrupt');
  });

  it('survives damaged sections behind a valid checksum: refused with a snapshot error, or restored; never a crash', () => {
    const r = rng(2);
    const sections = readContainer(good);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const copy = new Map([...sections].map(([k, v]) => [k, v.slice()]));
      const names = [...copy.keys()];
      const name = names[Math.floor(r() * names.length)];
      const data = copy.get(name)!;
      const mode = r();
      if ((name === 'meta' || name === 'cpu' || name === 'devices' || name === 'disks') && mode < 0.7) {
        const text = Buffer.from(data).toString('utf8');
        copy.set(name, Buffer.from(JSON.stringify(mutateJson(JSON.parse(text), r))));
      } else if (mode < 0.8 && data.length > 0) {
        data[Math.floor(r() * data.length)] ^= 1 << Math.floor(r() * 8);
      } else if (mode < 0.9) {
        copy.set(name, data.subarray(0, Math.floor(r() * data.length)));
      } else {
        copy.delete(name);
      }
      const outcome = tryRestore(target, writeContainer(copy));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get('SnapshotCorrupt')).toBeGreaterThan(50);
  });

  it('still restores the good file after all that', async () => {
    target.restoreSnapshot(good);
    expect(target.instructions).toBe(source.instructions);
    expect(await target.run({ maxInstructions: 500_000_000 })).toEqual({ reason: 'exit', status: 1 });
  }, 60_000);
});
