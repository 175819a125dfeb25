import { VmmError } from '../errors.js';

// System V ABI, ELF header and program header (32-bit), as the Multiboot loader needs them.
const ELF_MAGIC = 0x464c_457f;
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;
const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const MAX_SEGMENTS = 64;

export interface ElfSegment {
  /** Physical load address (p_paddr). */
  address: number;
  /** Bytes from the file. */
  data: Uint8Array;
  /** Size in memory (p_memsz): the rest is zeroed. */
  memorySize: number;
}

export interface Elf32Image {
  entry: number;
  segments: ElfSegment[];
}

/** True when `image` starts with the ELF magic. */
export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && new DataView(image.buffer, image.byteOffset, 4).getUint32(0, true) === ELF_MAGIC;
}

function fail(message: string): never {
  throw new VmmError('InvalidImage', `kernel is not a loadable ELF: ${message}`);
}

/** Parses a 32-bit little-endian i386 executable and its loadable segments (untrusted bytes). */
export function parseElf32(image: Uint8Array): Elf32Image {
  if (!isElf(image)) fail('no ELF magic');
  if (image.length < EHDR_SIZE) fail(`${image.length} bytes is shorter than an ELF header`);
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image[4] !== ELFCLASS32) fail('not a 32-bit ELF (EI_CLASS)');
  if (image[5] !== ELFDATA2LSB) fail('not little-endian (EI_DATA)');
  if (v.getUint16(16, true) !== ET_EXEC) fail('not an executable (e_type)');
  if (v.getUint16(18, true) !== EM_386) fail('not an i386 image (e_machine)');
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phentsize < PHDR_SIZE) fail(`program header size ${phentsize} is smaller than ${PHDR_SIZE}`);
  if (phnum === 0 || phnum > MAX_SEGMENTS) fail(`${phnum} program headers (1-${MAX_SEGMENTS} accepted)`);
  if (phoff + phnum * phentsize > image.length) fail('program headers run past the end of the file');
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== PT_LOAD) continue;
    const offset = v.getUint32(at + 4, true);
    const paddr = v.getUint32(at + 12, true);
    const filesz = v.getUint32(at + 16, true);
    const memsz = v.getUint32(at + 20, true);
    if (offset + filesz > image.length) fail(`segment ${i} runs past the end of the file`);
    if (filesz > memsz) fail(`segment ${i} has p_filesz > p_memsz`);
    if (paddr + memsz > 0x1_0000_0000) fail(`segment ${i} ends above 4 GiB`);
    segments.push({ address: paddr, data: image.subarray(offset, offset + filesz), memorySize: memsz });
  }
  if (segments.length === 0) fail('no PT_LOAD segment');
  return { entry, segments };
}
