import { ascii, setU64, u64AllOnes, u64Safe, viewOf, writeAscii } from './byte-fields.js';
import { StorageError } from './errors.js';
import { guidIsZero, randomGuid } from './guid.js';
import type { ChsGeometry } from './vhd-geometry.js';

/**
 * The VHD hard disk footer (Virtual Hard Disk Image Format Specification, "Hard Disk Footer
 * Format"): 512 bytes, big-endian, at the end of every VHD and copied at offset 0 of dynamic and
 * differencing disks.
 */

export const VHD_FOOTER_SIZE = 512;
export const VHD_FOOTER_COOKIE = 'conectix';
/** Bit 1 of Features is reserved and must always be set. */
const FEATURES_RESERVED = 0x2;
const FILE_FORMAT_VERSION = 0x0001_0000;
/** Seconds between 1970-01-01 and the spec's epoch, 2000-01-01 00:00:00 UTC. */
const VHD_EPOCH = 946_684_800;
/** "Wi2k", the creator host OS Windows. */
const HOST_OS_WINDOWS = 0x5769_326b;

export const VHD_TYPE_FIXED = 2;
export const VHD_TYPE_DYNAMIC = 3;
export const VHD_TYPE_DIFFERENCING = 4;
export type VhdDiskType = typeof VHD_TYPE_FIXED | typeof VHD_TYPE_DYNAMIC | typeof VHD_TYPE_DIFFERENCING;

// Field offsets.
const F_COOKIE = 0;
const F_FEATURES = 8;
const F_VERSION = 12;
const F_DATA_OFFSET = 16;
const F_TIMESTAMP = 24;
const F_CREATOR_APP = 28;
const F_CREATOR_VERSION = 32;
const F_CREATOR_OS = 36;
const F_ORIGINAL_SIZE = 40;
const F_CURRENT_SIZE = 48;
const F_GEOMETRY = 56;
const F_DISK_TYPE = 60;
const F_CHECKSUM = 64;
const F_UNIQUE_ID = 68;
const F_SAVED_STATE = 84;

export interface VhdFooter {
  features: number;
  /** Byte offset of the dynamic disk header; `undefined` for fixed disks (all ones on disk). */
  dataOffset: number | undefined;
  /** Seconds since 2000-01-01 UTC. */
  timestamp: number;
  creatorApp: string;
  creatorVersion: number;
  creatorHostOs: number;
  originalSize: number;
  currentSize: number;
  geometry: ChsGeometry;
  diskType: VhdDiskType;
  uniqueId: Uint8Array;
  savedState: boolean;
}

/** The spec's checksum: the one's complement of the sum of all bytes, the checksum field excluded. */
export function vhdChecksum(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (i >= checksumOffset && i < checksumOffset + 4) continue;
    sum = (sum + bytes[i]) >>> 0;
  }
  return ~sum >>> 0;
}

/** Parse and validate a footer read from `where` (an offset, for error messages). */
export function parseVhdFooter(bytes: Uint8Array, where: number): VhdFooter {
  if (bytes.length < VHD_FOOTER_SIZE) {
    throw new StorageError('Truncated', `VHD footer at offset ${where}: ${bytes.length} bytes, need ${VHD_FOOTER_SIZE}`);
  }
  const b = bytes.subarray(0, VHD_FOOTER_SIZE);
  const v = viewOf(b);
  const bad = (what: string): StorageError => new StorageError('CorruptHeader', `VHD footer at offset ${where}: ${what}`);
  if (ascii(b, F_COOKIE, 8) !== VHD_FOOTER_COOKIE) throw bad('cookie is not "conectix"');
  const stored = v.getUint32(F_CHECKSUM);
  const computed = vhdChecksum(b, F_CHECKSUM);
  if (stored !== computed) {
    throw bad(`checksum 0x${stored.toString(16)} does not match the contents (0x${computed.toString(16)})`);
  }
  const version = v.getUint32(F_VERSION);
  if (version >>> 16 !== 1) throw bad(`file format version 0x${version.toString(16)} is not 1.x`);
  const diskType = v.getUint32(F_DISK_TYPE);
  if (diskType !== VHD_TYPE_FIXED && diskType !== VHD_TYPE_DYNAMIC && diskType !== VHD_TYPE_DIFFERENCING) {
    throw new StorageError('Unsupported', `VHD footer at offset ${where}: disk type ${diskType} is not fixed, dynamic or differencing`);
  }
  const currentSize = u64Safe(v, F_CURRENT_SIZE, false, `VHD footer at offset ${where}: current size`);
  const originalSize = u64AllOnes(v, F_ORIGINAL_SIZE) ? currentSize : u64Safe(v, F_ORIGINAL_SIZE, false, `VHD footer at offset ${where}: original size`);
  let dataOffset: number | undefined;
  if (diskType === VHD_TYPE_FIXED) {
    dataOffset = undefined;
  } else {
    if (u64AllOnes(v, F_DATA_OFFSET)) throw bad('a dynamic disk must give the offset of its dynamic header');
    dataOffset = u64Safe(v, F_DATA_OFFSET, false, `VHD footer at offset ${where}: data offset`);
    if (dataOffset % 512 !== 0) throw bad(`data offset ${dataOffset} is not sector-aligned`);
  }
  return {
    features: v.getUint32(F_FEATURES),
    dataOffset,
    timestamp: v.getUint32(F_TIMESTAMP),
    creatorApp: ascii(b, F_CREATOR_APP, 4),
    creatorVersion: v.getUint32(F_CREATOR_VERSION),
    creatorHostOs: v.getUint32(F_CREATOR_OS),
    originalSize,
    currentSize,
    geometry: { cylinders: v.getUint16(F_GEOMETRY), heads: b[F_GEOMETRY + 2], sectorsPerTrack: b[F_GEOMETRY + 3] },
    diskType,
    uniqueId: b.slice(F_UNIQUE_ID, F_UNIQUE_ID + 16),
    savedState: b[F_SAVED_STATE] !== 0,
  };
}

export function serializeVhdFooter(f: VhdFooter): Uint8Array {
  const b = new Uint8Array(VHD_FOOTER_SIZE);
  const v = viewOf(b);
  writeAscii(b, F_COOKIE, VHD_FOOTER_COOKIE);
  v.setUint32(F_FEATURES, f.features | FEATURES_RESERVED);
  v.setUint32(F_VERSION, FILE_FORMAT_VERSION);
  if (f.dataOffset === undefined) {
    v.setUint32(F_DATA_OFFSET, 0xffff_ffff);
    v.setUint32(F_DATA_OFFSET + 4, 0xffff_ffff);
  } else {
    setU64(v, F_DATA_OFFSET, f.dataOffset, false);
  }
  v.setUint32(F_TIMESTAMP, f.timestamp >>> 0);
  writeAscii(b, F_CREATOR_APP, f.creatorApp.padEnd(4, ' ').slice(0, 4));
  v.setUint32(F_CREATOR_VERSION, f.creatorVersion >>> 0);
  v.setUint32(F_CREATOR_OS, f.creatorHostOs >>> 0);
  setU64(v, F_ORIGINAL_SIZE, f.originalSize, false);
  setU64(v, F_CURRENT_SIZE, f.currentSize, false);
  v.setUint16(F_GEOMETRY, f.geometry.cylinders);
  b[F_GEOMETRY + 2] = f.geometry.heads;
  b[F_GEOMETRY + 3] = f.geometry.sectorsPerTrack;
  v.setUint32(F_DISK_TYPE, f.diskType);
  b.set(f.uniqueId.subarray(0, 16), F_UNIQUE_ID);
  b[F_SAVED_STATE] = f.savedState ? 1 : 0;
  v.setUint32(F_CHECKSUM, vhdChecksum(b, F_CHECKSUM));
  return b;
}

/** Seconds since the VHD epoch for a JavaScript time. */
export function vhdTimestamp(ms: number = Date.now()): number {
  return Math.max(0, Math.floor(ms / 1000) - VHD_EPOCH) >>> 0;
}

/** A new footer as tsvm writes it. */
export function newVhdFooter(options: {
  diskType: VhdDiskType;
  size: number;
  geometry: ChsGeometry;
  dataOffset: number | undefined;
  uniqueId?: Uint8Array;
}): VhdFooter {
  const uniqueId = options.uniqueId ?? randomGuid();
  return {
    features: FEATURES_RESERVED,
    dataOffset: options.dataOffset,
    timestamp: vhdTimestamp(),
    // "tsvm" is not in qemu's table of creators that mean "size from CHS", so every reader takes the
    // exact current size from the footer.
    creatorApp: 'tsvm',
    creatorVersion: 0x0001_0000,
    creatorHostOs: HOST_OS_WINDOWS,
    originalSize: options.size,
    currentSize: options.size,
    geometry: options.geometry,
    diskType: options.diskType,
    uniqueId: guidIsZero(uniqueId) ? randomGuid() : uniqueId,
    savedState: false,
  };
}
