import type { CpuStatePatch } from '@tsvm/cpu';
import type { PhysicalMemory } from '@tsvm/mmu';
import { VmmError } from '../errors.js';
import { parseBzImage, SETUP_HEADER_OFFSET, type BzImage } from './bzimage.js';
import { pcMemoryMap, writeBiosDataArea } from './e820.js';
import { flatProtectedMode } from './protected-mode.js';

// Where this loader puts things in low memory (all below the EBDA, above the BDA and real-mode IVT).
export const GDT_ADDR = 0x6000;
export const BOOT_PARAMS_ADDR = 0x7000;
export const CMDLINE_ADDR = 0x20000;
/** Room for the command line at CMDLINE_ADDR. */
const CMDLINE_ROOM = 0x10000;
/** The protected-mode kernel of a bzImage loads at 1 MiB. */
export const KERNEL_LOAD_ADDR = 0x10_0000;
const PAGE = 4096;

// struct boot_params (arch/x86/include/uapi/asm/bootparam.h).
const BP_SIZE = 4096;
const BP_EXT_MEM_K = 0x002;
const BP_EXT_RAMDISK_IMAGE = 0x0c0;
const BP_EXT_RAMDISK_SIZE = 0x0c4;
const BP_EXT_CMD_LINE_PTR = 0x0c8;
const BP_ALT_MEM_K = 0x1e0;
const BP_E820_ENTRIES = 0x1e8;
const BP_TYPE_OF_LOADER = 0x210;
const BP_RAMDISK_IMAGE = 0x218;
const BP_RAMDISK_SIZE = 0x21c;
const BP_CMD_LINE_PTR = 0x228;
const BP_E820_TABLE = 0x2d0;
const E820_ENTRY_SIZE = 20;
/** type_of_loader 0xFF: a boot loader without an assigned ID. */
const LOADER_UNDEFINED = 0xff;

export interface LinuxBootSource {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
}

/** Where the loader put things, for tests, traces and the CLI's messages. */
export interface LinuxLayout {
  image: BzImage;
  kernelEnd: number;
  initrdAddr: number;
  initrdSize: number;
  cpuState: CpuStatePatch;
}

function mib(bytes: number): string {
  return `${Math.ceil(bytes / 1048576)} MiB`;
}

/**
 * Loads a bzImage through the 32-bit boot protocol (boot.rst, "32-bit Boot Protocol"): the
 * protected-mode kernel at 1 MiB, boot_params with the setup header, an E820 map and the command
 * line, the initrd as high as `initrd_addr_max` allows, and a CPU state in flat protected mode with
 * ESI pointing at boot_params. Throws `VmmError` for an invalid image or too little memory.
 */
export function loadLinux(memory: PhysicalMemory, ramSize: number, source: LinuxBootSource): LinuxLayout {
  const image = parseBzImage(source.kernel);
  const pm = image.protectedMode;
  // The decompressor works in [max(load address, pref_address), + init_size).
  const kernelEnd = Math.max(KERNEL_LOAD_ADDR + pm.length, Math.max(KERNEL_LOAD_ADDR, image.prefAddress) + image.initSize);
  if (kernelEnd > ramSize) {
    throw new VmmError('OutOfMemory', `the kernel needs ${mib(kernelEnd)} of RAM to load and decompress; the machine has ${mib(ramSize)}`);
  }
  const cmdline = source.cmdline ?? '';
  const cmdBytes = new TextEncoder().encode(cmdline);
  const cmdMax = Math.min(image.cmdlineSize, CMDLINE_ROOM - 1);
  if (cmdBytes.length > cmdMax) {
    throw new VmmError('InvalidArgument', `kernel command line is ${cmdBytes.length} bytes; this kernel accepts at most ${cmdMax}`);
  }
  if (cmdBytes.includes(0)) throw new VmmError('InvalidArgument', 'kernel command line contains a NUL byte');

  let initrdAddr = 0;
  const initrdSize = source.initrd?.length ?? 0;
  if (source.initrd !== undefined && initrdSize > 0) {
    const top = Math.min(image.initrdAddrMax + 1, ramSize);
    initrdAddr = Math.floor((top - initrdSize) / PAGE) * PAGE;
    if (initrdAddr < kernelEnd) {
      const need = Math.ceil((kernelEnd + initrdSize) / PAGE) * PAGE;
      throw new VmmError(
        'OutOfMemory',
        `too little memory for the initrd: the kernel takes RAM up to ${mib(kernelEnd)} and the ${mib(initrdSize)} initrd must fit below ` +
          `${mib(top)}; give the machine at least ${mib(need)}${need > image.initrdAddrMax + 1 ? ' (more than this kernel can address for an initrd)' : ''}`,
      );
    }
    memory.writeBytes(initrdAddr, source.initrd);
  }

  memory.writeBytes(KERNEL_LOAD_ADDR, pm);
  memory.writeBytes(CMDLINE_ADDR, cmdBytes);
  memory.write8(CMDLINE_ADDR + cmdBytes.length, 0);
  writeBootParams(memory, ramSize, image, initrdAddr, initrdSize);
  writeBiosDataArea((a, v) => memory.write16(a, v));

  const cpuState: CpuStatePatch = { ...flatProtectedMode(memory, GDT_ADDR, image.code32Start), esi: BOOT_PARAMS_ADDR, ebp: 0, edi: 0, ebx: 0 };
  return { image, kernelEnd, initrdAddr, initrdSize, cpuState };
}

function writeBootParams(memory: PhysicalMemory, ramSize: number, image: BzImage, initrdAddr: number, initrdSize: number): void {
  const bp = new Uint8Array(BP_SIZE);
  const view = new DataView(bp.buffer);
  bp.set(image.header, SETUP_HEADER_OFFSET);
  bp[BP_TYPE_OF_LOADER] = LOADER_UNDEFINED;
  view.setUint32(BP_CMD_LINE_PTR, CMDLINE_ADDR, true);
  view.setUint32(BP_EXT_CMD_LINE_PTR, 0, true);
  view.setUint32(BP_RAMDISK_IMAGE, initrdAddr, true);
  view.setUint32(BP_RAMDISK_SIZE, initrdSize, true);
  view.setUint32(BP_EXT_RAMDISK_IMAGE, 0, true);
  view.setUint32(BP_EXT_RAMDISK_SIZE, 0, true);
  const extendedKiB = Math.floor((ramSize - KERNEL_LOAD_ADDR) / 1024);
  view.setUint16(BP_EXT_MEM_K, Math.min(extendedKiB, 0xffff), true);
  view.setUint32(BP_ALT_MEM_K, extendedKiB, true);
  const map = pcMemoryMap(ramSize);
  bp[BP_E820_ENTRIES] = map.length;
  map.forEach((e, i) => {
    const at = BP_E820_TABLE + i * E820_ENTRY_SIZE;
    view.setUint32(at, e.base, true);
    view.setUint32(at + 4, 0, true);
    view.setUint32(at + 8, e.length, true);
    view.setUint32(at + 12, 0, true);
    view.setUint32(at + 16, e.type, true);
  });
  memory.writeBytes(BOOT_PARAMS_ADDR, bp);
}
