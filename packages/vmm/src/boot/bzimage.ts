import { VmmError } from '../errors.js';

// The Linux/x86 boot protocol, Documentation/arch/x86/boot.rst: the real-mode kernel header.
export const SETUP_HEADER_OFFSET = 0x1f1;
const OFF_SETUP_SECTS = 0x1f1;
const OFF_BOOT_FLAG = 0x1fe;
const OFF_JUMP = 0x200;
const OFF_HEADER = 0x202;
const OFF_VERSION = 0x206;
const OFF_LOADFLAGS = 0x211;
const OFF_CODE32_START = 0x214;
const OFF_INITRD_ADDR_MAX = 0x22c;
const OFF_KERNEL_ALIGNMENT = 0x230;
const OFF_RELOCATABLE = 0x234;
const OFF_XLOADFLAGS = 0x236;
const OFF_CMDLINE_SIZE = 0x238;
const OFF_PREF_ADDRESS = 0x258;
const OFF_INIT_SIZE = 0x260;
const BOOT_FLAG = 0xaa55;
/** "HdrS" */
const HEADER_MAGIC = 0x5372_6448;
/** Bit 0 of loadflags: the protected-mode code loads at 0x100000 (a bzImage, not a zImage). */
export const LOADED_HIGH = 0x01;
const SECTOR = 512;
/** Version 2.02 brought cmd_line_ptr, which the 32-bit protocol needs to pass a command line. */
export const MIN_PROTOCOL = 0x0202;
/** Before 2.03 initrd_addr_max is not in the header; the documented value is 0x37FFFFFF. */
const DEFAULT_INITRD_ADDR_MAX = 0x37ff_ffff;
/** Before 2.06 the command line is limited to 255 characters. */
const DEFAULT_CMDLINE_SIZE = 255;

/** What a loader needs from a bzImage's setup header, validated. */
export interface BzImage {
  /** Protocol version, e.g. 0x020f for 2.15. */
  version: number;
  /** Bytes of the real-mode setup, including the boot sector: (setup_sects + 1) * 512. */
  setupSize: number;
  /** The setup header bytes to copy into boot_params (0x1F1 up to the end given by the jump at 0x200). */
  header: Uint8Array;
  /** The protected-mode kernel: everything after the setup. */
  protectedMode: Uint8Array;
  code32Start: number;
  initrdAddrMax: number;
  cmdlineSize: number;
  relocatable: boolean;
  kernelAlignment: number;
  prefAddress: number;
  /** Memory the kernel needs from its load address while it decompresses (2.10+; else 0). */
  initSize: number;
  xloadflags: number;
}

function fail(message: string): never {
  throw new VmmError('InvalidImage', `kernel is not a usable bzImage: ${message}`);
}

/** Parses and validates the setup header of a Linux bzImage (untrusted bytes). */
export function parseBzImage(image: Uint8Array): BzImage {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < OFF_HEADER + 8) fail(`${image.length} bytes is too short for a setup header`);
  if (view.getUint16(OFF_BOOT_FLAG, true) !== BOOT_FLAG) fail('no 0xAA55 boot flag at offset 0x1FE');
  if (view.getUint32(OFF_HEADER, true) !== HEADER_MAGIC) fail('no "HdrS" signature at offset 0x202 (a kernel older than protocol 2.00, or not a kernel)');
  const version = view.getUint16(OFF_VERSION, true);
  const v = `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
  if (version < MIN_PROTOCOL) fail(`boot protocol ${v} is older than 2.02`);
  const loadflags = image[OFF_LOADFLAGS];
  if ((loadflags & LOADED_HIGH) === 0) fail('loadflags has no LOADED_HIGH: a zImage, which loads below 1 MiB, is not supported');
  const setupSects = image[OFF_SETUP_SECTS] === 0 ? 4 : image[OFF_SETUP_SECTS];
  const setupSize = (setupSects + 1) * SECTOR;
  if (setupSize >= image.length) fail(`setup of ${setupSects} sectors leaves no protected-mode kernel in ${image.length} bytes`);
  const headerEnd = OFF_HEADER + image[OFF_JUMP + 1];
  if (image[OFF_JUMP] !== 0xeb || headerEnd > setupSize) fail('the jump at 0x200 does not end the header inside the setup');
  const u32 = (off: number, since: number, fallback: number): number => (version >= since && off + 4 <= headerEnd ? view.getUint32(off, true) : fallback);
  const kernelAlignment = u32(OFF_KERNEL_ALIGNMENT, 0x0205, 0x10_0000);
  const prefHigh = version >= 0x020a && OFF_PREF_ADDRESS + 8 <= headerEnd ? view.getUint32(OFF_PREF_ADDRESS + 4, true) : 0;
  const prefAddress = u32(OFF_PREF_ADDRESS, 0x020a, 0x10_0000);
  if (prefHigh !== 0) fail('pref_address is above 4 GiB');
  const code32Start = view.getUint32(OFF_CODE32_START, true);
  if (code32Start < 0x10_0000) fail(`code32_start 0x${code32Start.toString(16)} is below 1 MiB`);
  const cmdlineSize = u32(OFF_CMDLINE_SIZE, 0x0206, DEFAULT_CMDLINE_SIZE);
  return {
    version,
    setupSize,
    header: image.slice(SETUP_HEADER_OFFSET, headerEnd),
    protectedMode: image.subarray(setupSize),
    code32Start,
    initrdAddrMax: u32(OFF_INITRD_ADDR_MAX, 0x0203, DEFAULT_INITRD_ADDR_MAX),
    cmdlineSize,
    relocatable: version >= 0x0205 && image[OFF_RELOCATABLE] !== 0,
    kernelAlignment,
    prefAddress,
    initSize: u32(OFF_INIT_SIZE, 0x020a, 0),
    xloadflags: version >= 0x020c && OFF_XLOADFLAGS + 2 <= headerEnd ? view.getUint16(OFF_XLOADFLAGS, true) : 0,
  };
}
