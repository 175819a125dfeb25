import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '@tsvm/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { policyWith } from '../policy/test-policy.js';
import { cloneFromSnapshot } from './clone.js';

const rom = new Uint8Array(await readFile(new URL('../../../../guests/demo/demo.bin', import.meta.url)));
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('clones', () => {
  it('start several machines from one snapshot, each on its own copy-on-write overlay, each finishing the run the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsvm-clone-'));
    dirs.push(dir);
    const base = new Uint8Array(1 << 20).fill(0x5a);
    await writeFile(join(dir, 'base.raw'), base);
    const policy = policyWith([], { vm: { id: 'web' }, hardware: { disks: [{ id: 'root', path: 'base.raw', format: 'raw' }], time: 'deterministic', memory: '4M' } });
    const config = { boot: { kind: 'rom' as const, image: rom }, memory: 4 << 20, time: 'deterministic' as const };

    const whole = new Machine(config, { policy });
    const wholeOut: number[] = [];
    whole.serial(0).setSink((b) => wholeOut.push(b));
    await whole.run({ maxInstructions: 500_000_000 });

    const original = new Machine(config, { policy });
    const before: number[] = [];
    original.serial(0).setSink((b) => before.push(b));
    await original.run({ maxInstructions: Math.floor(whole.instructions / 2) });
    const snapshot = original.saveSnapshot();

    const clones = await cloneFromSnapshot(snapshot, { count: 3, overlayDir: join(dir, 'clones'), baseDir: dir });
    expect(clones.map((c) => c.vmId)).toEqual(['web-clone-1', 'web-clone-2', 'web-clone-3']);
    const paths = clones.map((c) => c.overlays.get('root')!);
    expect(new Set(paths).size).toBe(3);

    // Each overlay is a qcow2 over the base image; a write through one is seen by neither the base nor the others.
    const first = await openImage(paths[0], { readOnly: false });
    expect(first.format).toBe('qcow2');
    expect(first.backingFile).toBe(join(dir, 'base.raw'));
    await first.write(0, new Uint8Array(512).fill(0x11));
    await first.close();
    const second = await openImage(paths[1]);
    const sector = new Uint8Array(512);
    await second.read(0, sector);
    await second.close();
    expect(sector.every((b) => b === 0x5a)).toBe(true);
    expect((await readFile(join(dir, 'base.raw')))[0]).toBe(0x5a);

    for (const clone of clones) {
      expect(clone.machine.policy?.document.vm.id).toBe(clone.vmId);
      expect(clone.machine.policy?.document.hardware.disks[0]).toMatchObject({ path: join(dir, 'base.raw'), overlay: clone.overlays.get('root') });
      expect(clone.machine.policy?.events.events().map((e) => e.kind)).toEqual(['created', 'restored']);
      const out: number[] = [];
      clone.machine.serial(0).setSink((b) => out.push(b));
      expect(await clone.machine.run({ maxInstructions: 500_000_000 })).toEqual({ reason: 'exit', status: 1 });
      expect(Buffer.from([...before, ...out]).equals(Buffer.from(wholeOut))).toBe(true);
    }
  }, 120_000);

  it('refuses a bad count', async () => {
    const machine = new Machine({ boot: { kind: 'rom', image: rom }, memory: 4 << 20 });
    await expect(cloneFromSnapshot(machine.saveSnapshot(), { count: 0, overlayDir: tmpdir(), baseDir: tmpdir() })).rejects.toThrow(/clone count/);
  });
});
