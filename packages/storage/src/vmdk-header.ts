import { ascii, setU64, u64, u64Safe, viewOf, writeAscii } from './byte-fields.js';
import { StorageError } from './errors.js';

/**
 * The hosted sparse extent header of VMDK (VMware "Virtual Disk Format 5.0", "Hosted Sparse Extent
 * Header"): 512 bytes, little-endian, at the start of every sparse extent. Sizes and offsets are in
 * 512-byte sectors.
 */

export const VMDK_MAGIC = 'KDMV';
export const VMDK_SECTOR = 512;
/** The grain directory lies at the end (stream-optimized); the footer holds the real header. */
export const GD_AT_END = 'gd-at-end';

export const FLAG_VALID_NEWLINE_TEST = 1 << 0;
export const FLAG_REDUNDANT_GRAIN_TABLE = 1 << 1;
/** qemu's extension: a grain table entry of 1 means "this grain reads as zeros". */
export const FLAG_ZERO_GRAIN = 1 << 2;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
export const COMPRESSION_DEFLATE = 1;

/** Stream-optimized metadata markers (size field 0, then a type). */
export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;

export interface VmdkSparseHeader {
  version: number;
  flags: number;
  /** Virtual size in sectors. */
  capacity: number;
  /** Sectors per grain. */
  grainSize: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  /** Sector of the grain directory, or `GD_AT_END` when the footer gives it. */
  gdOffset: number | typeof GD_AT_END;
  overHead: number;
  uncleanShutdown: boolean;
  compressAlgorithm: number;
}

/** Parse and validate a sparse extent header read at byte `where`. */
export function parseVmdkSparseHeader(b: Uint8Array, where: number): VmdkSparseHeader {
  const bad = (what: string, code: 'CorruptHeader' | 'Unsupported' = 'CorruptHeader'): StorageError =>
    new StorageError(code, `VMDK sparse header at offset ${where}: ${what}`);
  if (b.length < VMDK_SECTOR) throw new StorageError('Truncated', `VMDK sparse header at offset ${where}: file ends inside it`);
  if (ascii(b, 0, 4) !== VMDK_MAGIC) throw bad('magic is not "KDMV"');
  const v = viewOf(b);
  const version = v.getUint32(4, true);
  if (version < 1 || version > 3) throw bad(`version ${version} is not 1, 2 or 3`, 'Unsupported');
  const flags = v.getUint32(8, true);
  const field = (at: number, name: string): number => u64Safe(v, at, true, `VMDK sparse header at offset ${where}: ${name}`);
  const capacity = field(12, 'capacity');
  const grainSize = field(20, 'grain size');
  if (grainSize < 1 || grainSize > 1 << 17 || (grainSize & (grainSize - 1)) !== 0) throw bad(`grain size ${grainSize} sectors is not a power of two up to 64 MiB`);
  if (capacity > 2 ** 53 / VMDK_SECTOR) throw bad(`capacity ${capacity} sectors is too large`);
  const numGTEsPerGT = v.getUint32(44, true);
  if (numGTEsPerGT < 1 || numGTEsPerGT > 4096) throw bad(`${numGTEsPerGT} entries per grain table is outside 1..4096`);
  const gdRaw = u64(v, 56, true);
  const gdAtEnd = v.getUint32(56, true) === 0xffff_ffff && v.getUint32(60, true) === 0xffff_ffff;
  const compressAlgorithm = v.getUint16(77, true);
  if ((flags & FLAG_COMPRESSED) !== 0 && compressAlgorithm !== COMPRESSION_DEFLATE) throw bad(`compression algorithm ${compressAlgorithm} is not deflate`, 'Unsupported');
  // The newline test bytes catch a file mangled by a text-mode transfer.
  if ((flags & FLAG_VALID_NEWLINE_TEST) !== 0 && (b[73] !== 0x0a || b[74] !== 0x20 || b[75] !== 0x0d || b[76] !== 0x0a)) {
    throw bad('the newline test bytes are damaged (was the file transferred in text mode?)');
  }
  return {
    version,
    flags,
    capacity,
    grainSize,
    descriptorOffset: field(28, 'descriptor offset'),
    descriptorSize: field(36, 'descriptor size'),
    numGTEsPerGT,
    rgdOffset: field(48, 'redundant grain directory offset'),
    gdOffset: gdAtEnd ? GD_AT_END : gdRaw > 2 ** 44 ? badOffset(where) : gdRaw,
    overHead: field(64, 'overhead'),
    uncleanShutdown: b[72] !== 0,
    compressAlgorithm,
  };
}

function badOffset(where: number): never {
  throw new StorageError('CorruptHeader', `VMDK sparse header at offset ${where}: grain directory offset is too large`);
}

export function serializeVmdkSparseHeader(h: VmdkSparseHeader): Uint8Array {
  const b = new Uint8Array(VMDK_SECTOR);
  const v = viewOf(b);
  writeAscii(b, 0, VMDK_MAGIC);
  v.setUint32(4, h.version, true);
  v.setUint32(8, h.flags, true);
  setU64(v, 12, h.capacity, true);
  setU64(v, 20, h.grainSize, true);
  setU64(v, 28, h.descriptorOffset, true);
  setU64(v, 36, h.descriptorSize, true);
  v.setUint32(44, h.numGTEsPerGT, true);
  setU64(v, 48, h.rgdOffset, true);
  if (h.gdOffset === GD_AT_END) {
    v.setUint32(56, 0xffff_ffff, true);
    v.setUint32(60, 0xffff_ffff, true);
  } else {
    setU64(v, 56, h.gdOffset, true);
  }
  setU64(v, 64, h.overHead, true);
  b[72] = h.uncleanShutdown ? 1 : 0;
  b[73] = 0x0a;
  b[74] = 0x20;
  b[75] = 0x0d;
  b[76] = 0x0a;
  v.setUint16(77, h.compressAlgorithm, true);
  return b;
}

/** Grain directory entries needed for `capacity` sectors. */
export function vmdkGdEntries(h: Pick<VmdkSparseHeader, 'capacity' | 'grainSize' | 'numGTEsPerGT'>): number {
  return Math.ceil(h.capacity / h.grainSize / h.numGTEsPerGT);
}
