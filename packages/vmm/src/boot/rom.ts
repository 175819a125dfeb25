import type { PhysicalMemory } from '@tsvm/mmu';
import { VmmError } from '../errors.js';

/** Largest firmware image accepted: 16 MiB, the size of the flash window below 4 GiB on PC chipsets. */
export const MAX_ROM_SIZE = 16 << 20;
/** The ISA BIOS window below 1 MiB ends at 0x100000; up to 128 KiB of the image show there (0xE0000-0xFFFFF). */
export const ISA_BIOS_WINDOW = 128 << 10;
const FOUR_GIB = 0x1_0000_0000;
const ONE_MIB = 0x10_0000;
const ROM_GRANULE = 4096;

/**
 * Maps a flat firmware image the way a PC's flash is decoded: the whole image ends at 4 GiB (so its last
 * 16 bytes hold the reset vector at 0xFFFFFFF0) and its last 128 KiB (or all of a smaller image) end at
 * 1 MiB, where real-mode code at F000:FFF0 runs it. The image must be a whole number of 4 KiB pages.
 */
export function loadRom(memory: PhysicalMemory, ramSize: number, image: Uint8Array, name = 'bios', isaWindow = true): void {
  if (image.length === 0) throw new VmmError('InvalidImage', `${name} image is empty`);
  if (image.length % ROM_GRANULE !== 0) {
    throw new VmmError('InvalidImage', `${name} image is ${image.length} bytes: a flat ROM must be a multiple of 4 KiB (its last 16 bytes are the reset vector)`);
  }
  if (image.length > MAX_ROM_SIZE) {
    throw new VmmError('InvalidImage', `${name} image is ${image.length} bytes, more than the ${MAX_ROM_SIZE >> 20} MiB flash window`);
  }
  const low = Math.min(image.length, ISA_BIOS_WINDOW);
  if (ramSize > FOUR_GIB - image.length) {
    throw new VmmError('OutOfMemory', `${name} image of ${image.length} bytes at the top of 4 GiB overlaps RAM ending at 0x${ramSize.toString(16)}`);
  }
  memory.mapRom(FOUR_GIB - image.length, image, name);
  // A chipset with shadow RAM decodes the ISA window itself (see firmware/shadow-ram.ts).
  if (isaWindow) memory.mapRom(ONE_MIB - low, image.subarray(image.length - low), `${name}-isa`);
}
