import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VmmError } from '../errors.js';
import { Machine, type MachineExit } from '../machine.js';
import { parseSnapshot } from './machine-snapshot.js';

const demoDir = fileURLToPath(new URL('../../../../guests/demo/', import.meta.url));
const rom = new Uint8Array(readFileSync(`${demoDir}demo.bin`));
const MAX = 500_000_000;

function demo(): { machine: Machine; serial: number[] } {
  const machine = new Machine({ boot: { kind: 'rom', image: rom }, memory: 4 << 20, time: 'deterministic' });
  const serial: number[] = [];
  machine.serial(0).setSink((b) => serial.push(b));
  return { machine, serial };
}

async function uninterrupted(): Promise<{ serial: Buffer; exit: MachineExit; instructions: number }> {
  const { machine, serial } = demo();
  const exit = await machine.run({ maxInstructions: MAX });
  return { serial: Buffer.from(serial), exit, instructions: machine.instructions };
}

describe('machine snapshots', () => {
  it('a restored demo run prints the rest of the uninterrupted run byte for byte, at the same instruction count', async () => {
    const whole = await uninterrupted();
    expect(whole.exit).toEqual({ reason: 'exit', status: 1 });
    for (const fraction of [0.37, 0.83]) {
      const cut = Math.floor(whole.instructions * fraction);
      const first = demo();
      expect(await first.machine.run({ maxInstructions: cut })).toEqual({ reason: 'budget' });
      const before = first.serial.length;
      const snapshot = first.machine.saveSnapshot();

      const second = demo();
      second.machine.restoreSnapshot(snapshot);
      expect(second.machine.instructions).toBe(cut);
      const exit = await second.machine.run({ maxInstructions: MAX });
      expect(exit).toEqual(whole.exit);
      expect(Buffer.from(second.serial).equals(whole.serial.subarray(before))).toBe(true);
      expect(second.machine.instructions).toBe(whole.instructions);

      // A machine built from the file alone does the same.
      const third = Machine.fromSnapshot(snapshot);
      const out: number[] = [];
      third.serial(0).setSink((b) => out.push(b));
      await third.run({ maxInstructions: MAX });
      expect(Buffer.from(out).equals(whole.serial.subarray(before))).toBe(true);
    }
  }, 120_000);

  it('carries virtual time across a restore in real-time mode', async () => {
    const machine = new Machine({ boot: { kind: 'rom', image: rom }, memory: 4 << 20, time: 'realtime' });
    await machine.run({ maxInstructions: 200_000 });
    const saved = machine.time.now(machine.instructions);
    const bytes = machine.saveSnapshot();
    const restored = Machine.fromSnapshot(bytes);
    expect(restored.config.time).toBe('realtime');
    expect(restored.instructions).toBe(machine.instructions);
    expect(restored.time.now(restored.instructions)).toBeGreaterThanOrEqual(saved);
    expect(restored.board.clock.now()).toBe(machine.board.clock.now());
  });

  it('skips zero pages: a 64 MiB machine snapshot is a small file', async () => {
    const machine = new Machine({ boot: { kind: 'rom', image: rom }, memory: 64 << 20, time: 'deterministic' });
    await machine.run({ maxInstructions: 100_000 });
    const bytes = machine.saveSnapshot();
    expect(bytes.length).toBeLessThan(256 << 10);
    expect(parseSnapshot(bytes).meta.machine.memory).toBe(64 << 20);
  });

  it('refuses a snapshot of another machine, naming what differs, and changes nothing', async () => {
    const { machine } = demo();
    await machine.run({ maxInstructions: 50_000 });
    const snapshot = machine.saveSnapshot();
    const other = new Machine({ boot: { kind: 'rom', image: rom }, memory: 8 << 20, time: 'deterministic', cpu: '486' });
    const before = other.cpu.getState();
    const error = (() => {
      try {
        other.restoreSnapshot(snapshot);
      } catch (e) {
        return e as VmmError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('SnapshotMismatch');
    expect(error?.message).toMatch(/memory 4194304 \(this machine: 8388608\)/);
    expect(error?.message).toMatch(/cpu "p6" \(this machine: "486"\)/);
    expect(other.cpu.getState()).toEqual(before);
    const otherRom = rom.slice();
    otherRom[10] ^= 1;
    const differentRom = new Machine({ boot: { kind: 'rom', image: otherRom }, memory: 4 << 20, time: 'deterministic' });
    expect(() => differentRom.restoreSnapshot(snapshot)).toThrow(/boot image/);
  });

  it('refuses damaged, truncated and future-version files with typed errors', async () => {
    const { machine } = demo();
    await machine.run({ maxInstructions: 50_000 });
    const good = machine.saveSnapshot();
    const target = demo().machine;
    const code = (bytes: Uint8Array): string | undefined => {
      try {
        target.restoreSnapshot(bytes);
        return undefined;
      } catch (e) {
        return (e as VmmError).code;
      }
    };
    const flipped = good.slice();
    flipped[good.length >> 1] ^= 0x40;
    expect(code(flipped)).toBe('SnapshotCorrupt');
    expect(code(good.subarray(0, good.length - 100))).toBe('SnapshotCorrupt');
    const future = good.slice();
    future[8] = 2;
    expect(code(future)).toBe('SnapshotVersion');
    expect(code(new Uint8Array(10))).toBe('SnapshotCorrupt');
    expect(() => target.restoreSnapshot(flipped)).toThrow(/checksum mismatch/);
  });
});
