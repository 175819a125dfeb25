import type { VhdFooter } from './vhd-footer.js';
/**
 * CHS geometry of a VHD, as the Virtual Hard Disk Image Format Specification (appendix "CHS
 * calculation") computes it from the sector count, and qemu's rounding of a requested size up to
 * the next size a geometry can express.
 */

export interface ChsGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** The largest geometry the footer can hold: 65535 cylinders, 16 heads, 255 sectors. */
export const VHD_MAX_CHS_SECTORS = 65535 * 16 * 255;

/** The spec's algorithm, for `totalSectors` 512-byte sectors. */
export function vhdGeometry(totalSectors: number): ChsGeometry {
  const sectors = Math.min(totalSectors, VHD_MAX_CHS_SECTORS);
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (sectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}

export function chsSectors(g: ChsGeometry): number {
  return g.cylinders * g.heads * g.sectorsPerTrack;
}

/**
 * The virtual size `qemu-img create -f vpc` gives a requested size: the smallest CHS-expressible
 * size not below it (Virtual PC reads the disk size from the geometry), unless the size is beyond
 * what CHS can express, where the exact size is kept. Returns the size and its geometry.
 */
export function vhdSizeForCreate(requestedBytes: number): { size: number; geometry: ChsGeometry } {
  const wanted = Math.min(Math.floor(requestedBytes / 512), VHD_MAX_CHS_SECTORS);
  const exact = Math.floor(requestedBytes / 512) * 512;
  // Growing the sector count by one until the geometry covers it terminates within a few
  // cylinders' worth of steps: each geometry class has at most 255 sectors per cylinder-head.
  for (let extra = 0; extra <= 65535; extra++) {
    const g = vhdGeometry(wanted + extra);
    if (chsSectors(g) === VHD_MAX_CHS_SECTORS) return { size: exact, geometry: g };
    if (chsSectors(g) >= wanted) return { size: chsSectors(g) * 512, geometry: g };
  }
  return { size: exact, geometry: vhdGeometry(wanted) };
}

/** Creators whose images give their size in the footer rather than by CHS geometry (qemu's table). */
export const VHD_SIZE_FROM_FOOTER: ReadonlySet<string> = new Set(['win ', 'qem2', 'd2v ', 'tap\0', 'CTXS']);

/**
 * The virtual size a reader should use, as qemu decides it: Virtual PC and most tools size the disk
 * by its CHS geometry, Hyper-V and a few others by the footer's current size; a disk with the
 * largest geometry is sized by the footer.
 */
export function vhdVirtualSize(footer: Pick<VhdFooter, 'geometry' | 'creatorApp' | 'currentSize'>): number {
  const chs = chsSectors(footer.geometry);
  if (VHD_SIZE_FROM_FOOTER.has(footer.creatorApp) || chs === VHD_MAX_CHS_SECTORS) return footer.currentSize;
  return chs * 512;
}
