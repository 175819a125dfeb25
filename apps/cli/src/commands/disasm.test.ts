import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';
import { disasmCommand, parseHexBytes, parseNumber } from './disasm.js';

/** A minimal ELF32 file whose .text holds `code` at 0x8049000. */
function elf32(code: Uint8Array): Uint8Array {
  const names = new TextEncoder().encode('\0.text\0.shstrtab\0');
  const textOff = 52;
  const namesOff = textOff + code.length;
  const shoff = namesOff + names.length;
  const out = new Uint8Array(shoff + 3 * 40);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint32(0x20, shoff, true);
  v.setUint16(0x2e, 40, true);
  v.setUint16(0x30, 3, true);
  v.setUint16(0x32, 2, true);
  out.set(code, textOff);
  out.set(names, namesOff);
  const sh = (i: number, name: number, addr: number, off: number, size: number): void => {
    const h = shoff + i * 40;
    v.setUint32(h, name, true);
    v.setUint32(h + 0x0c, addr, true);
    v.setUint32(h + 0x10, off, true);
    v.setUint32(h + 0x14, size, true);
  };
  sh(1, 1, 0x8049000, textOff, code.length);
  sh(2, 7, 0, namesOff, names.length);
  return out;
}

async function disasm(args: string[], cwd?: string): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(cwd);
  const code = await runCli(['disasm', ...args], io, [disasmCommand]);
  return { code, out: io.out(), err: io.err() };
}

describe('tsvm disasm', () => {
  it('lists hex bytes with address, bytes and Intel text', async () => {
    const r = await disasm(['--hex', '55 89E5 83EC08 C9 C3', '--org', '0x401000']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      '00401000  55                    push ebp',
      '00401001  89E5                  mov ebp,esp',
      '00401003  83EC08                sub esp,8',
      '00401006  C9                    leave',
      '00401007  C3                    ret',
      '',
    ]);
  });

  it('decodes in 16- and 64-bit mode', async () => {
    expect((await disasm(['--bits', '16', '--hex', 'B8 01 00 CD 21', '--org', '100h'])).out).toBe(
      '00000100  B80100                mov ax,1\n00000103  CD21                  int 21h\n',
    );
    expect((await disasm(['--bits=64', '--hex', '48 8B 05 00 00 00 00'])).out).toBe('0000000000000000  488B0500000000        mov rax,[7]\n');
  });

  it('lists undecodable bytes one at a time and goes on', async () => {
    const r = await disasm(['--hex', 'F0 01 CE 90 0F']);
    expect(r.out.split('\n').slice(0, 3)).toEqual(['00000000  F0                    (bad)', '00000001  01CE                  add esi,ecx', '00000003  90                    nop']);
    expect(r.out).toContain('00000004  0F                    (bad)');
  });

  it('disassembles the .text of an ELF file at its address, or the raw bytes with --raw', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvm-disasm-'));
    writeFileSync(join(dir, 'a.out'), elf32(Uint8Array.of(0x31, 0xc0, 0xc3)));
    const r = await disasm(['a.out'], dir);
    expect(r.out).toBe('08049000  31C0                  xor eax,eax\n08049002  C3                    ret\n');
    const raw = await disasm(['--raw', '--count', '1', 'a.out'], dir);
    expect(raw.out).toBe('00000000  7F45                  jg short 00000047h\n');
  });

  it('rejects bad options as usage errors and unreadable files as errors', async () => {
    expect((await disasm(['--bits', '8', '--hex', '90'])).code).toBe(2);
    expect((await disasm(['--hex', '9'])).err).toMatch(/even number of hex digits/);
    expect((await disasm([])).err).toMatch(/give a FILE or --hex BYTES/);
    const missing = await disasm(['/nonexistent/file.bin']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOENT/);
  });
});

describe('argument parsing', () => {
  it('reads numbers in 0x, h and decimal forms', () => {
    expect(parseNumber('0x10', 'n')).toBe(16);
    expect(parseNumber('10h', 'n')).toBe(16);
    expect(parseNumber('10', 'n')).toBe(10);
    expect(() => parseNumber('ten', 'n')).toThrow(/must be a number/);
  });

  it('reads hex bytes with spaces', () => {
    expect([...parseHexBytes('0f 1f 4400 00')]).toEqual([0x0f, 0x1f, 0x44, 0x00, 0x00]);
  });
});
