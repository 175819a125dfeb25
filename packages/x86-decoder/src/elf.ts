import { DecoderError } from './errors.js';

export interface TextSection {
  /** 32 or 64 (ELFCLASS). */
  bits: number;
  /** Virtual address of the first byte. */
  address: number;
  bytes: Uint8Array;
}

/** The `.text` section of an ELF file (32- or 64-bit, little-endian), validated field by field. */
export function elfText(file: Uint8Array, name: string): TextSection {
  const bad = (what: string): never => {
    throw new DecoderError('InvalidArgument', `${name}: not a usable ELF file: ${what}`);
  };
  if (file.length < 52 || file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) bad('no ELF magic');
  const cls = file[4];
  if (cls !== 1 && cls !== 2) bad(`ELF class ${String(cls)}`);
  if (file[5] !== 1) bad('not little-endian');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const is64 = cls === 2;
  const num = (off: number, size: 4 | 8): number => {
    if (off + size > file.length) bad(`field at ${off} past the end`);
    return size === 4 ? view.getUint32(off, true) : Number(view.getBigUint64(off, true));
  };
  const shoff = is64 ? num(0x28, 8) : num(0x20, 4);
  const shentsize = view.getUint16(is64 ? 0x3a : 0x2e, true);
  const shnum = view.getUint16(is64 ? 0x3c : 0x30, true);
  const shstrndx = view.getUint16(is64 ? 0x3e : 0x32, true);
  if (shentsize < (is64 ? 64 : 40) || shnum === 0 || shstrndx >= shnum) bad('bad section header table');
  if (shoff + shnum * shentsize > file.length) bad('section headers past the end');
  const header = (i: number): { name: number; addr: number; offset: number; size: number } => {
    const h = shoff + i * shentsize;
    return is64
      ? { name: num(h, 4), addr: num(h + 0x10, 8), offset: num(h + 0x18, 8), size: num(h + 0x20, 8) }
      : { name: num(h, 4), addr: num(h + 0x0c, 4), offset: num(h + 0x10, 4), size: num(h + 0x14, 4) };
  };
  const strtab = header(shstrndx);
  if (strtab.offset + strtab.size > file.length) bad('section names past the end');
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    let end = strtab.offset + h.name;
    while (end < file.length && file[end] !== 0) end++;
    const sectionName = new TextDecoder().decode(file.subarray(strtab.offset + h.name, end));
    if (sectionName !== '.text') continue;
    if (h.offset + h.size > file.length) bad('.text past the end');
    return { bits: is64 ? 64 : 32, address: h.addr, bytes: file.subarray(h.offset, h.offset + h.size) };
  }
  return bad('no .text section');
}
