import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';

/** A 4 KiB ROM whose reset vector jumps to `code` at F000:F000. */
function rom(code: number[]): Uint8Array {
  const image = new Uint8Array(4096).fill(0xf4);
  image.set(code, 0);
  image.set([0xea, 0x00, 0xf0, 0x00, 0xf0], 0xff0);
  return image;
}

/** Prints `text` on COM1 one OUT at a time, then exits through isa-debug-exit with `status`. */
function printAndExit(text: string, status: number): number[] {
  const code: number[] = [0xba, 0xf8, 0x03];
  for (const ch of Buffer.from(text)) code.push(0xb0, ch, 0xee);
  return [...code, 0xb0, status, 0xe6, 0xf4, 0xf4];
}

/** A directory holding `bios.bin` and `vm.yaml` (relative paths in the policy are relative to it). */
function vmDir(code: number[], policy: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvm-policy-'));
  writeFileSync(join(dir, 'bios.bin'), rom(code));
  writeFileSync(join(dir, 'vm.yaml'), policy);
  return dir;
}

const BASE = `version: 1
vm: { id: web-1 }
hardware:
  memory: 2M
  time: deterministic
  boot: { bios: bios.bin }
`;

describe('tsvm run --policy', () => {
  it('runs the VM a policy file describes, its paths relative to the file, and applies its rules', async () => {
    // out 0x80, 0x12 (denied by the policy), then print and exit.
    const dir = vmDir([0xb0, 0x12, 0xe6, 0x80, ...printAndExit('ok', 2)], `${BASE}access:\n  rules:\n    - { id: no-post, actions: [io.write], resource: { ports: [0x80, 0x80] }, effect: deny }\n`);
    const io = captureIo();
    expect(await runCli(['run', '--policy', join(dir, 'vm.yaml'), '--events'], io)).toBe(5);
    expect(io.out()).toBe('ok');
    const events = io
      .err()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; vmId: string; rule?: string });
    expect(events.map((e) => e.kind)).toEqual(['created', 'started', 'denied', 'stopped']);
    expect(events[2]).toMatchObject({ vmId: 'web-1', rule: 'no-post' });
  });

  it('lets command-line flags override the policy fields', async () => {
    const dir = vmDir(printAndExit('x', 0), `${BASE}limits: { budget: { instructions: 1000000 } }\n`);
    const log = join(dir, 'com1.txt');
    const io = captureIo(dir);
    // --serial replaces hardware.serial[0]; --max-instructions replaces limits.budget.instructions.
    expect(await runCli(['run', '--policy', 'vm.yaml', '--serial', 'file:com1.txt'], io)).toBe(1);
    expect(readFileSync(log, 'utf8')).toBe('x');
    const spin = vmDir([0xeb, 0xfe], BASE);
    expect(await runCli(['run', '--policy', join(spin, 'vm.yaml'), '--max-instructions', '500'], captureIo())).toBe(124);
  });

  it('exits 3 and says why when the policy pauses the VM on a trap', async () => {
    const dir = vmDir([0xb0, 0x07, 0xe6, 0x80, ...printAndExit('no', 0)], `${BASE}access:\n  rules:\n    - { id: watch-post, actions: [io.write], resource: { ports: [0x80, 0x80] }, effect: trap }\n`);
    const io = captureIo();
    expect(await runCli(['run', '--policy', join(dir, 'vm.yaml')], io)).toBe(3);
    expect(io.out()).toBe('');
    expect(io.err()).toContain('the policy paused the VM on trapped (io.write port 0x0080 value 0x7) by rule watch-post');
  });

  it('says which field of a bad policy file is wrong', async () => {
    const dir = vmDir([0xf4], `${BASE}limits: { disk: { bytes: { size: 0, refillTime: 10 } } }\n`);
    const io = captureIo();
    expect(await runCli(['run', '--policy', join(dir, 'vm.yaml')], io)).toBe(1);
    expect(io.err()).toContain("policy 'limits.disk.bytes.size'");
  });

  it('saves a snapshot on exit and continues from it with --restore', async () => {
    // Print "ab", spin 20000 times, print "cd", exit.
    const loop = [0xb9, 0x20, 0x4e, 0xe2, 0xfe]; // mov cx, 20000; loop $
    const dir = vmDir([0xba, 0xf8, 0x03, 0xb0, 0x61, 0xee, 0xb0, 0x62, 0xee, ...loop, 0xb0, 0x63, 0xee, 0xb0, 0x64, 0xee, 0xb0, 0x03, 0xe6, 0xf4, 0xf4], BASE);
    const first = captureIo(dir);
    expect(await runCli(['run', '--policy', 'vm.yaml', '--max-instructions', '5000', '--snapshot-on-exit', 'mid.tsnap'], first)).toBe(124);
    expect(first.out()).toBe('ab');
    const second = captureIo(dir);
    // The saved policy holds the first run's budget (5000 per run): the continuation needs more.
    expect(await runCli(['run', '--restore', 'mid.tsnap'], captureIo(dir))).toBe(124);
    expect(await runCli(['run', '--restore', 'mid.tsnap', '--events', '--max-instructions', '100000'], second)).toBe(7);
    expect(second.err()).toContain('"kind":"policy-changed"');
    expect(second.out()).toBe('cd');
    expect(second.err()).toContain('"kind":"restored"');
    const refused = captureIo(dir);
    expect(await runCli(['run', '--restore', 'mid.tsnap', '-m', '8M'], refused)).toBe(2);
    expect(refused.err()).toContain('--restore takes the machine and its policy from the snapshot');
    const damaged = readFileSync(join(dir, 'mid.tsnap'));
    damaged[100] ^= 1;
    writeFileSync(join(dir, 'bad.tsnap'), damaged);
    const bad = captureIo(dir);
    expect(await runCli(['run', '--restore', 'bad.tsnap'], bad)).toBe(1);
    expect(bad.err()).toContain('checksum mismatch');
  }, 30_000);
});
