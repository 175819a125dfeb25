import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';
import { findDemoDir } from './demo.js';

describe('tsvm demo', () => {
  it('finds the demo guest from the CLI package', () => {
    const dir = findDemoDir();
    expect(dir).toBeDefined();
    expect(readFileSync(join(dir!, 'demo.bin')).length).toBe(65536);
  });

  it("shows the demo's serial output byte for byte as QEMU prints it, then a summary, and exits 0", async () => {
    const io = captureIo();
    const code = await runCli(['demo'], io);
    const expected = readFileSync(join(findDemoDir()!, 'expected-output.txt'), 'latin1');
    const out = io.out();
    expect(out.startsWith(expected)).toBe(true);
    const summary = out.slice(expected.length);
    expect(summary).toMatch(/^\ndemo: [\d,]+ instructions in [\d.]+ s \([\d.]+ MIPS\); the guest exited through isa-debug-exit with status 1 \(as expected\); output matches QEMU\n$/);
    expect(code).toBe(0);
  });

  it('exits 1 when the ROM does not end as the demo should', async () => {
    const io = captureIo();
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = join(mkdtempSync(join(tmpdir(), 'tsvm-demo-')), 'other.bin');
    const image = new Uint8Array(4096).fill(0x90);
    image.set([0xb0, 0x05, 0xe6, 0xf4], 0xff0); // mov al, 5; out 0xf4, al
    writeFileSync(path, image);
    expect(await runCli(['demo', '--rom', path], io)).toBe(1);
    expect(io.out()).toContain('status 11 (expected status 1)');
  });
});
