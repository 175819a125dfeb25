import { describe, expect, it } from 'vitest';
import { DecoderError } from './errors.js';
import { elfText } from './elf.js';

/** A minimal ELF32 file: header, one .text section with `code`, a section-name table. */
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

describe('elfText', () => {
  it('finds the .text section of a 32-bit ELF', () => {
    const t = elfText(elf32(Uint8Array.of(0x90, 0xc3)), 'a.out');
    expect(t.bits).toBe(32);
    expect(t.address).toBe(0x8049000);
    expect([...t.bytes]).toEqual([0x90, 0xc3]);
  });

  it('rejects files that are not ELF or are cut short, with a typed error naming the file', () => {
    expect(() => elfText(new Uint8Array(100), 'zeros.bin')).toThrow(DecoderError);
    expect(() => elfText(new Uint8Array(100), 'zeros.bin')).toThrow(/zeros\.bin: not a usable ELF file/);
    const cut = elf32(Uint8Array.of(0x90)).subarray(0, 60);
    expect(() => elfText(cut, 'cut.elf')).toThrow(/section headers past the end/);
  });
});
