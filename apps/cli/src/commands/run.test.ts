import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';

/** A 4 KiB ROM whose reset vector jumps to `code` at F000:F000 (the ROM's first byte below 1 MiB). */
function rom(code: number[]): Uint8Array {
  const image = new Uint8Array(4096).fill(0xf4);
  image.set(code, 0);
  // F000:FFF0 -> JMP F000:F000 (EA 00 F0 00 F0)
  image.set([0xea, 0x00, 0xf0, 0x00, 0xf0], 0xff0);
  return image;
}

/** OUT imm8 to COM1 for each character, then write `status` to isa-debug-exit. */
function printAndExit(text: string, status: number): number[] {
  const code: number[] = [0xba, 0xf8, 0x03]; // mov dx, 0x3f8
  for (const ch of Buffer.from(text)) code.push(0xb0, ch, 0xee); // mov al, ch; out dx, al
  code.push(0xb0, status, 0xe6, 0xf4); // mov al, status; out 0xf4, al
  code.push(0xf4); // hlt
  return code;
}

function tempFile(name: string, data: Uint8Array | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvm-run-'));
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

describe('tsvm run', () => {
  it('boots a ROM, shows COM1 on stdout and exits with the isa-debug-exit status', async () => {
    const io = captureIo();
    const bios = tempFile('bios.bin', rom(printAndExit('hi\n', 3)));
    const code = await runCli(['run', '--bios', bios, '--deterministic'], io);
    expect(io.out()).toBe('hi\n');
    expect(code).toBe(7);
  });

  it('accepts QEMU spellings (-bios, -serial file:PATH, -m) and writes the serial log to a file', async () => {
    const io = captureIo();
    const bios = tempFile('bios.bin', rom(printAndExit('log', 0)));
    const log = join(mkdtempSync(join(tmpdir(), 'tsvm-log-')), 'serial.txt');
    const code = await runCli(['run', '-bios', bios, '-m', '8M', `-serial=file:${log}`], io);
    expect(code).toBe(1);
    expect(io.out()).toBe('');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8')).toBe('log');
  });

  it('exits 0 on a guest reset with --no-reboot and says so', async () => {
    const io = captureIo();
    // mov al, 0xfe; out 0x64, al: the keyboard controller pulses the reset line.
    const bios = tempFile('bios.bin', rom([0xb0, 0xfe, 0xe6, 0x64, 0xf4]));
    const code = await runCli(['run', '--bios', bios, '--no-reboot', '--serial', 'none'], io);
    expect(code).toBe(0);
    expect(io.err()).toContain('keyboard-controller');
  });

  it('feeds stdin to COM1 and leaves on Ctrl-A X', async () => {
    // Echo COM1 input (polling LSR) until 'q', then exit with 'q' as the status.
    const echo = [0xba, 0xfd, 0x03, 0xec, 0xa8, 0x01, 0x74, 0xfb, 0xba, 0xf8, 0x03, 0xec, 0x3c, 0x71, 0x74, 0x03, 0xee, 0xeb, 0xed, 0xe6, 0xf4, 0xf4];
    const stdin = new PassThrough();
    const io = { ...captureIo(), stdin };
    const running = runCli(['run', '--bios', tempFile('echo.bin', rom(echo))], io);
    stdin.write('hello ');
    setTimeout(() => stdin.write('world\x01\x01q'), 20);
    expect(await running).toBe(((0x71 << 1) | 1) & 0xff);
    expect(io.out()).toBe('hello world\x01');

    const spinIn = new PassThrough();
    const spin = { ...captureIo(), stdin: spinIn };
    const spinning = runCli(['run', '--bios', tempFile('spin.bin', rom([0xeb, 0xfe]))], spin);
    setTimeout(() => spinIn.write('\x01x'), 20);
    expect(await spinning).toBe(0);
    expect(spin.err()).toContain('stopped by the host (Ctrl-A X');
  });

  it('stops at --max-instructions with exit code 124', async () => {
    const io = captureIo();
    const bios = tempFile('bios.bin', rom([0xeb, 0xfe])); // jmp $
    expect(await runCli(['run', '--bios', bios, '--max-instructions', '1000', '--deterministic'], io)).toBe(124);
  });

  it('traces instructions and port I/O to stderr', async () => {
    const io = captureIo();
    const bios = tempFile('bios.bin', rom(printAndExit('A', 0)));
    await runCli(['run', '--bios', bios, '--trace', '--serial', 'none'], io);
    expect(io.err()).toMatch(/f000:f000 {2}baf803 +mov dx,3F8h/i);
    expect(io.err()).toContain('out8 0x03f8 <- 0x41');
    expect(io.err()).toContain('out8 0x00f4 <- 0x0');
  });

  it('refuses unknown flags, missing values and an empty boot with a usage error', async () => {
    for (const args of [['--frobnicate'], ['--kernel'], [], ['--bios', 'x', '--kernel', 'y'], ['--cpu', 'z80', '--bios', 'x'], ['-m', 'lots', '--bios', 'x'], ['stray']]) {
      const io = captureIo();
      expect(await runCli(['run', ...args], io)).toBe(2);
      expect(io.err()).toMatch(/tsvm run: /);
    }
  });

  it('says clearly when a file is missing, empty or not a kernel', async () => {
    const cases: [string[], RegExp][] = [
      [['--kernel', '/nonexistent/vmlinuz'], /kernel '\/nonexistent\/vmlinuz' does not exist \[FileUnreadable\]/],
      [['--kernel', tempFile('empty', '')], /is empty \[InvalidImage\]/],
      [['--kernel', tempFile('notes.txt', 'hello world, not a kernel'.repeat(40))], /neither a Linux bzImage .* nor a Multiboot kernel .*\[InvalidImage\]/],
      [['--bios', tempFile('odd.bin', new Uint8Array(1000))], /multiple of 4 KiB .*\[InvalidImage\]/],
      [['--kernel', mkdtempSync(join(tmpdir(), 'tsvm-dir-'))], /is a directory/],
    ];
    // A bzImage whose decompressor needs RAM up to 17 MiB (pref_address 16 MiB + init_size 1 MiB).
    const kernel = new Uint8Array(1024 + 4096);
    const v = new DataView(kernel.buffer);
    kernel[0x1f1] = 1;
    v.setUint16(0x1fe, 0xaa55, true);
    kernel.set([0xeb, 0x6a, 0x48, 0x64, 0x72, 0x53, 0x0f, 0x02], 0x200);
    kernel[0x211] = 1;
    v.setUint32(0x214, 0x100000, true);
    v.setUint32(0x22c, 0x7fffffff, true);
    v.setUint32(0x238, 2047, true);
    v.setUint32(0x258, 0x1000000, true);
    v.setUint32(0x260, 0x100000, true);
    const bz = tempFile('bzImage', kernel);
    cases.push(
      [['-m', '16', '--kernel', bz], /the kernel needs 17 MiB of RAM .* the machine has 16 MiB \[OutOfMemory\]/],
      [['-m', '18', '--kernel', bz, '--initrd', tempFile('initrd', new Uint8Array(3 << 20))], /too little memory for the initrd: .*at least 20 MiB \[OutOfMemory\]/],
      [['--kernel', bz, '--initrd', '/nonexistent/initrd.gz'], /initrd '\/nonexistent\/initrd.gz' does not exist/],
    );
    for (const [args, message] of cases) {
      const io = captureIo();
      expect(await runCli(['run', ...args], io)).toBe(1);
      expect(io.err()).toMatch(message);
    }
  });
});
