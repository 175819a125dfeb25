import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';
import { parseBreakAddress } from './run/debug-output.js';

/** A 4 KiB ROM whose reset vector jumps to `code` at F000:F000 (linear 0xFF000). */
function rom(code: number[]): string {
  const image = new Uint8Array(4096).fill(0xf4);
  image.set(code, 0);
  image.set([0xea, 0x00, 0xf0, 0x00, 0xf0], 0xff0);
  const path = join(mkdtempSync(join(tmpdir(), 'tsvm-debug-')), 'bios.bin');
  writeFileSync(path, image);
  return path;
}

// mov eax, 12345678h / mov al, 'A' / out 0E9h, al / mov al, 0 / out 0F4h, al / hlt
const PROGRAM = [0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, 0xb0, 0x41, 0xe6, 0xe9, 0xb0, 0x00, 0xe6, 0xf4, 0xf4];

describe('tsvm run: breakpoints and the register trace', () => {
  it('--break stops before the instruction, prints it with the registers and exits with 4', async () => {
    const io = captureIo();
    const code = await runCli(['run', '--bios', rom(PROGRAM), '--break', '0xff008', '--debugcon', 'stdio', '--serial', 'none', '--deterministic'], io);
    expect(code).toBe(4);
    expect(io.out()).toBe(''); // the OUT at the breakpoint did not run
    const err = io.err();
    expect(err).toMatch(/breakpoint at 0x000ff008 after 3 instructions: f000:f008 {2}e6e9 +out 0E9h,al/i);
    expect(err).toContain('EAX=12345641');
    expect(err).toMatch(/EIP=0000f008 EFL=00000002 CPL=0/);
    expect(err).toContain('CS=f000(000f0000)');
    expect(err).toContain('stopped at the breakpoint at 0xff008 (--break)');
  });

  it('--break-action=print reports every hit and goes on', async () => {
    const io = captureIo();
    const code = await runCli(['run', '--bios', rom(PROGRAM), '--break=f000:f006,0xff00a', '--break-action=print', '--debugcon', 'stdio', '--serial', 'none'], io);
    expect(code).toBe(1); // the guest's own exit
    expect(io.out()).toBe('A');
    expect(io.err().match(/^breakpoint at/gm)).toHaveLength(2);
    expect(io.err()).toContain('breakpoint at 0x000ff006');
    expect(io.err()).toContain('breakpoint at 0x000ff00a');
  });

  it('--trace=regs prints each instruction with the general registers and EFLAGS', async () => {
    const io = captureIo();
    await runCli(['run', '--bios', rom(PROGRAM), '--trace=regs', '--serial', 'none'], io);
    const lines = io.err().split('\n').filter((l) => l.startsWith('f000:'));
    expect(lines).toHaveLength(6); // up to the OUT to isa-debug-exit
    expect(lines[2]).toMatch(/^f000:f006 {2}b041 +mov al,41h +EAX=12345678 EBX=00000000 ECX=00000000 EDX=00000652 ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000 EFL=00000002$/);
    expect(io.err()).not.toContain('out8'); // no port trace
  });

  it('refuses addresses and actions it cannot use', async () => {
    for (const args of [['--break', 'main'], ['--break', '0x1_0000_0000'], ['--break', '0x100000000'], ['--break', '1,,2'], ['--break-action', 'pause']]) {
      const io = captureIo();
      expect(await runCli(['run', '--bios', 'x', ...args], io)).toBe(2);
      expect(io.err()).toMatch(/tsvm run: --break/);
    }
    expect(parseBreakAddress('fee00000h')).toBe(0xfee00000);
    expect(parseBreakAddress('ffff:0010')).toBe(0x100000);
    expect(parseBreakAddress('4096')).toBe(4096);
  });
});
