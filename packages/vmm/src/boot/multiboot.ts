import type { CpuStatePatch } from '@tsvm/cpu';
import type { PhysicalMemory } from '@tsvm/mmu';
import type { MultibootModule } from '../config.js';
import { VmmError } from '../errors.js';
import { CONVENTIONAL_END, pcMemoryMap, writeBiosDataArea } from './e820.js';
import { isElf, parseElf32, type ElfSegment } from './elf32.js';
import { flatProtectedMode } from './protected-mode.js';

// Multiboot Specification version 0.6.96, section 3.
export const MULTIBOOT_HEADER_MAGIC = 0x1bad_b002;
/** EAX on entry: the loader is Multiboot-compliant. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2bad_b002;
/** The header lies, 32-bit aligned, in the first 8192 bytes of the image. */
const HEADER_SEARCH = 8192;
const FLAG_PAGE_ALIGN = 1 << 0;
const FLAG_MEMORY_INFO = 1 << 1;
const FLAG_VIDEO_MODE = 1 << 2;
const FLAG_AOUT_KLUDGE = 1 << 16;
/** Requirement bits (0-15) this loader honours; an image asking for another must not be booted (3.1.2). */
const SUPPORTED_REQUIREMENTS = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;
// Boot information flags (3.3).
const INFO_MEMORY = 1 << 0;
const INFO_CMDLINE = 1 << 2;
const INFO_MODS = 1 << 3;
const INFO_MMAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;
const INFO_SIZE = 88;
const MODULE_ENTRY_SIZE = 16;
const MMAP_ENTRY_SIZE = 24;

// This loader's low-memory layout: GDT, info structure, then strings and tables.
const GDT_ADDR = 0x6000;
const INFO_ADDR = 0x7000;
const TABLES_ADDR = 0x8000;
const TABLES_END = 0x10000;
const ONE_MIB = 0x10_0000;
const PAGE = 4096;
const LOADER_NAME = 'tsvm';

export interface MultibootBootSource {
  kernel: Uint8Array;
  cmdline?: string;
  modules?: readonly MultibootModule[];
}

export interface MultibootLayout {
  format: 'elf' | 'aout-kludge';
  entry: number;
  /** The first byte above the kernel image (including its bss). */
  kernelEnd: number;
  modules: { start: number; end: number }[];
  cpuState: CpuStatePatch;
}

export interface MultibootHeader {
  offset: number;
  flags: number;
}

function fail(code: 'InvalidImage' | 'OutOfMemory', message: string): never {
  throw new VmmError(code, message);
}

/** Finds and checks the Multiboot header, or returns null when the image has none. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | null {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(image.length, HEADER_SEARCH) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (v.getUint32(off, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = v.getUint32(off + 4, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + v.getUint32(off + 8, true)) >>> 0) !== 0) continue;
    return { offset: off, flags };
  }
  return null;
}

function aoutSegments(image: Uint8Array, header: MultibootHeader): { entry: number; segments: ElfSegment[] } {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const at = header.offset;
  if (at + 32 > image.length) fail('InvalidImage', 'Multiboot header with the a.out kludge runs past the end of the image');
  const headerAddr = v.getUint32(at + 12, true);
  const loadAddr = v.getUint32(at + 16, true);
  const loadEndAddr = v.getUint32(at + 20, true);
  const bssEndAddr = v.getUint32(at + 24, true);
  const entry = v.getUint32(at + 28, true);
  if (loadAddr > headerAddr) fail('InvalidImage', 'Multiboot load_addr is above header_addr');
  const fileOffset = at - (headerAddr - loadAddr);
  if (fileOffset < 0) fail('InvalidImage', 'Multiboot header_addr - load_addr points before the start of the image');
  const loadEnd = loadEndAddr === 0 ? loadAddr + (image.length - fileOffset) : loadEndAddr;
  if (loadEnd < loadAddr || fileOffset + (loadEnd - loadAddr) > image.length) fail('InvalidImage', 'Multiboot load_end_addr lies past the end of the image');
  const memEnd = bssEndAddr === 0 ? loadEnd : bssEndAddr;
  if (memEnd < loadEnd) fail('InvalidImage', 'Multiboot bss_end_addr is below load_end_addr');
  if (entry < loadAddr || entry >= memEnd) fail('InvalidImage', 'Multiboot entry_addr lies outside the loaded image');
  const data = image.subarray(fileOffset, fileOffset + (loadEnd - loadAddr));
  return { entry, segments: [{ address: loadAddr, data, memorySize: memEnd - loadAddr }] };
}

/**
 * Loads a Multiboot v1 kernel: its ELF segments (or the a.out kludge's load range), the modules
 * after it on page boundaries, and the boot information (memory sizes, E820-style memory map, command
 * line, modules, loader name); the CPU starts in flat 32-bit protected mode with EAX = 0x2BADB002
 * and EBX = the information structure.
 */
export function loadMultiboot(memory: PhysicalMemory, ramSize: number, source: MultibootBootSource): MultibootLayout {
  const image = source.kernel;
  const header = findMultibootHeader(image);
  if (header === null) fail('InvalidImage', 'kernel has no Multiboot header (magic 0x1BADB002 with a valid checksum) in its first 8 KiB');
  const unsupported = header.flags & 0xffff & ~SUPPORTED_REQUIREMENTS;
  if (unsupported !== 0) fail('InvalidImage', `Multiboot kernel requires features this loader lacks (flags 0x${unsupported.toString(16)})`);
  let format: MultibootLayout['format'];
  let loaded: { entry: number; segments: ElfSegment[] };
  if ((header.flags & FLAG_AOUT_KLUDGE) !== 0) {
    format = 'aout-kludge';
    loaded = aoutSegments(image, header);
  } else if (isElf(image)) {
    format = 'elf';
    loaded = parseElf32(image);
  } else {
    fail('InvalidImage', 'Multiboot kernel is neither ELF nor marked with the a.out kludge (flag 16)');
  }
  let kernelEnd = 0;
  for (const s of loaded.segments) {
    if (s.address < ONE_MIB && s.address + s.memorySize > TABLES_ADDR - PAGE) {
      fail('InvalidImage', `Multiboot segment at 0x${s.address.toString(16)} overlaps the loader's tables below 1 MiB`);
    }
    if (s.address + s.memorySize > ramSize) {
      fail('OutOfMemory', `Multiboot segment 0x${s.address.toString(16)}+0x${s.memorySize.toString(16)} lies beyond the machine's ${ramSize >> 20} MiB of RAM`);
    }
    kernelEnd = Math.max(kernelEnd, s.address + s.memorySize);
  }
  for (const s of loaded.segments) {
    memory.writeBytes(s.address, s.data);
    if (s.memorySize > s.data.length) memory.writeBytes(s.address + s.data.length, new Uint8Array(s.memorySize - s.data.length));
  }

  // Modules, page-aligned above the kernel.
  const modules: { start: number; end: number }[] = [];
  let next = Math.ceil(Math.max(kernelEnd, ONE_MIB) / PAGE) * PAGE;
  (source.modules ?? []).forEach((m, i) => {
    if (next + m.data.length > ramSize) {
      fail('OutOfMemory', `too little memory for Multiboot module ${i} (${m.data.length} bytes at 0x${next.toString(16)}); the machine has ${ramSize >> 20} MiB`);
    }
    memory.writeBytes(next, m.data);
    modules.push({ start: next, end: next + m.data.length });
    next = Math.ceil((next + m.data.length) / PAGE) * PAGE;
  });

  writeInfo(memory, ramSize, source, modules);
  writeBiosDataArea((a, v) => memory.write16(a, v));
  const cpuState: CpuStatePatch = { ...flatProtectedMode(memory, GDT_ADDR, loaded.entry), eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: INFO_ADDR };
  return { format, entry: loaded.entry, kernelEnd, modules, cpuState };
}

function writeInfo(memory: PhysicalMemory, ramSize: number, source: MultibootBootSource, modules: { start: number; end: number }[]): void {
  let cursor = TABLES_ADDR;
  const enc = new TextEncoder();
  const putString = (s: string, what: string): number => {
    const bytes = enc.encode(s);
    if (bytes.includes(0)) fail('InvalidImage', `${what} contains a NUL byte`);
    if (cursor + bytes.length + 1 > TABLES_END) fail('OutOfMemory', `Multiboot strings and tables exceed ${TABLES_END - TABLES_ADDR} bytes (${what})`);
    const at = cursor;
    memory.writeBytes(at, bytes);
    memory.write8(at + bytes.length, 0);
    cursor = (at + bytes.length + 4) & ~3;
    return at;
  };
  const reserve = (size: number, what: string): number => {
    if (cursor + size > TABLES_END) fail('OutOfMemory', `Multiboot strings and tables exceed ${TABLES_END - TABLES_ADDR} bytes (${what})`);
    const at = cursor;
    cursor += size;
    return at;
  };
  const info = new DataView(new ArrayBuffer(INFO_SIZE));
  let flags = INFO_MEMORY | INFO_MMAP | INFO_LOADER_NAME | INFO_MODS;
  info.setUint32(4, CONVENTIONAL_END >>> 10, true);
  info.setUint32(8, Math.floor((ramSize - ONE_MIB) / 1024), true);
  if (source.cmdline !== undefined) {
    flags |= INFO_CMDLINE;
    info.setUint32(16, putString(source.cmdline, 'the command line'), true);
  }
  const modTable = reserve(modules.length * MODULE_ENTRY_SIZE, 'module table');
  modules.forEach((m, i) => {
    const at = modTable + i * MODULE_ENTRY_SIZE;
    memory.write32(at, m.start);
    memory.write32(at + 4, m.end);
    memory.write32(at + 8, putString(source.modules?.[i]?.cmdline ?? '', `module ${i}'s string`));
    memory.write32(at + 12, 0);
  });
  info.setUint32(20, modules.length, true);
  info.setUint32(24, modTable, true);
  const map = pcMemoryMap(ramSize);
  const mmap = reserve(map.length * MMAP_ENTRY_SIZE, 'memory map');
  map.forEach((e, i) => {
    const at = mmap + i * MMAP_ENTRY_SIZE;
    memory.write32(at, MMAP_ENTRY_SIZE - 4);
    memory.write32(at + 4, e.base);
    memory.write32(at + 8, 0);
    memory.write32(at + 12, e.length);
    memory.write32(at + 16, 0);
    memory.write32(at + 20, e.type);
  });
  info.setUint32(44, map.length * MMAP_ENTRY_SIZE, true);
  info.setUint32(48, mmap, true);
  info.setUint32(64, putString(LOADER_NAME, 'the loader name'), true);
  info.setUint32(0, flags, true);
  memory.writeBytes(INFO_ADDR, new Uint8Array(info.buffer));
}
