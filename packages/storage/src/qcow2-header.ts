import { StorageError } from './errors.js';

// Field layout of the qcow2 header (QEMU docs/interop/qcow2.txt, "Header"). All fields big-endian.
export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const V2_HEADER_LENGTH = 72;
const V3_HEADER_LENGTH = 104;
/** Header length qemu writes for v3 (with the compression type byte and padding). */
export const V3_HEADER_LENGTH_WITH_COMPRESSION = 112;

export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** Limits qemu enforces on open (block/qcow2.h): bigger tables are refused, not allocated. */
export const MAX_L1_BYTES = 32 << 20;
export const MAX_REFTABLE_BYTES = 8 << 20;
export const MAX_SNAPSHOTS = 65536;
const MAX_BACKING_NAME = 1023;

// Incompatible feature bits.
export const INCOMPAT_DIRTY = 1 << 0;
export const INCOMPAT_CORRUPT = 1 << 1;
export const INCOMPAT_DATA_FILE = 1 << 2;
export const INCOMPAT_COMPRESSION = 1 << 3;
export const INCOMPAT_EXTL2 = 1 << 4;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
// Compatible feature bits.
export const COMPAT_LAZY_REFCOUNTS = 1 << 0;
// Autoclear feature bits.
export const AUTOCLEAR_BITMAPS = 1 << 0;
export const AUTOCLEAR_DATA_FILE_RAW = 1 << 1;

// Header extension types.
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_TABLE = 0x6803f857;
const EXT_DATA_FILE = 0x44415441;
const EXT_ENCRYPTION = 0x0537be77;

export const COMPRESSION_ZLIB = 0;
export const COMPRESSION_ZSTD = 1;

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: number;
  compatible: number;
  autoclear: number;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  backingFile: string | undefined;
  backingFormat: string | undefined;
  dataFile: string | undefined;
  /** Extensions this implementation does not interpret, kept as they are when the header is rewritten. */
  otherExtensions: { type: number; data: Uint8Array }[];
}

function corrupt(path: string, what: string, offset: number): StorageError {
  return new StorageError('CorruptHeader', `${path}: qcow2 header: ${what} (at file offset ${offset})`);
}

/** A 64-bit big-endian field that must be a safe integer. */
export function readU64(view: DataView, at: number): number {
  const hi = view.getUint32(at);
  const lo = view.getUint32(at + 4);
  return hi * 0x1_0000_0000 + lo;
}

export function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

function safeU64(path: string, view: DataView, at: number, what: string): number {
  if (view.getUint32(at) >= 0x20_0000) throw corrupt(path, `${what} is too large`, at);
  return readU64(view, at);
}

function text(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/** Does `head` start like a qcow2 image? */
export function isQcow2(head: Uint8Array): boolean {
  return head.length >= 8 && new DataView(head.buffer, head.byteOffset, 8).getUint32(0) === QCOW2_MAGIC;
}

/**
 * Parse and validate the header and its extensions from the first cluster of the file (`first` holds
 * at least the first cluster, or the whole file when it is shorter). Every field is checked against
 * the spec's and qemu's limits before anything is read through it.
 */
export function parseHeader(path: string, first: Uint8Array, fileSize: number): Qcow2Header {
  if (first.length < V2_HEADER_LENGTH) {
    throw new StorageError('Truncated', `${path}: qcow2 header needs ${V2_HEADER_LENGTH} bytes, the file has ${first.length}`);
  }
  const v = new DataView(first.buffer, first.byteOffset, first.byteLength);
  if (v.getUint32(0) !== QCOW2_MAGIC) throw corrupt(path, 'bad magic', 0);
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) {
    throw new StorageError('Unsupported', `${path}: qcow2 version ${version} is not supported (2 and 3 are)`);
  }
  const clusterBits = v.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw corrupt(path, `cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`, 20);
  }
  const clusterSize = 2 ** clusterBits;
  if (first.length < Math.min(clusterSize, fileSize)) {
    throw new StorageError('InvalidArgument', `${path}: parseHeader needs the whole first cluster`);
  }
  const h: Qcow2Header = {
    version,
    clusterBits,
    size: safeU64(path, v, 24, 'virtual size'),
    cryptMethod: v.getUint32(32),
    l1Size: v.getUint32(36),
    l1TableOffset: safeU64(path, v, 40, 'l1_table_offset'),
    refcountTableOffset: safeU64(path, v, 48, 'refcount_table_offset'),
    refcountTableClusters: v.getUint32(56),
    nbSnapshots: v.getUint32(60),
    snapshotsOffset: safeU64(path, v, 64, 'snapshots_offset'),
    incompatible: 0,
    compatible: 0,
    autoclear: 0,
    refcountOrder: 4,
    headerLength: V2_HEADER_LENGTH,
    compressionType: COMPRESSION_ZLIB,
    backingFile: undefined,
    backingFormat: undefined,
    dataFile: undefined,
    otherExtensions: [],
  };
  if (version === 3) {
    if (first.length < V3_HEADER_LENGTH) throw new StorageError('Truncated', `${path}: qcow2 v3 header needs ${V3_HEADER_LENGTH} bytes`);
    if (v.getUint32(72) !== 0 || (v.getUint32(76) & ~INCOMPAT_KNOWN) !== 0) {
      const bits = (BigInt(v.getUint32(72)) << 32n) | BigInt(v.getUint32(76) & ~INCOMPAT_KNOWN);
      throw new StorageError('Unsupported', `${path}: qcow2 image uses unknown incompatible features 0x${bits.toString(16)}`);
    }
    h.incompatible = v.getUint32(76);
    h.compatible = v.getUint32(84);
    h.autoclear = v.getUint32(92);
    h.refcountOrder = v.getUint32(96);
    h.headerLength = v.getUint32(100);
    if (h.refcountOrder > 6) throw corrupt(path, `refcount_order ${h.refcountOrder} is above 6`, 96);
    if (h.headerLength < V3_HEADER_LENGTH || h.headerLength > clusterSize || h.headerLength % 8 !== 0) {
      throw corrupt(path, `header_length ${h.headerLength} is not a multiple of 8 between ${V3_HEADER_LENGTH} and the cluster size`, 100);
    }
    if (h.headerLength > V3_HEADER_LENGTH) h.compressionType = first[104] ?? 0;
  }
  if (h.cryptMethod !== 0) throw new StorageError('Unsupported', `${path}: encrypted qcow2 images (crypt_method ${h.cryptMethod}) are not supported`);
  if ((h.incompatible & INCOMPAT_COMPRESSION) !== 0) {
    if (h.compressionType !== COMPRESSION_ZLIB && h.compressionType !== COMPRESSION_ZSTD) {
      throw new StorageError('Unsupported', `${path}: qcow2 compression type ${h.compressionType} is not supported`);
    }
  } else if (h.compressionType !== COMPRESSION_ZLIB) {
    throw corrupt(path, `compression_type ${h.compressionType} is set without the compression-type feature bit`, 104);
  }
  if ((h.incompatible & INCOMPAT_EXTL2) !== 0 && clusterBits < 14) {
    throw corrupt(path, 'extended L2 entries need clusters of at least 16 KiB', 76);
  }
  checkCluster(path, h.l1TableOffset, clusterSize, 'l1_table_offset', 40);
  checkCluster(path, h.refcountTableOffset, clusterSize, 'refcount_table_offset', 48);
  checkCluster(path, h.snapshotsOffset, clusterSize, 'snapshots_offset', 64);
  if (h.refcountTableOffset === 0) throw corrupt(path, 'refcount_table_offset is 0', 48);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw corrupt(path, `l1_size ${h.l1Size} exceeds qemu's limit of ${MAX_L1_BYTES / 8}`, 36);
  if (h.refcountTableClusters === 0 || h.refcountTableClusters * clusterSize > MAX_REFTABLE_BYTES) {
    throw corrupt(path, `refcount_table_clusters ${h.refcountTableClusters} is 0 or exceeds ${MAX_REFTABLE_BYTES} bytes`, 56);
  }
  if (h.nbSnapshots > MAX_SNAPSHOTS) throw corrupt(path, `nb_snapshots ${h.nbSnapshots} exceeds ${MAX_SNAPSHOTS}`, 60);
  const entriesPerL2 = clusterSize / (((h.incompatible & INCOMPAT_EXTL2) !== 0) ? 16 : 8);
  const bytesPerL1 = entriesPerL2 * clusterSize;
  if (h.size > Number.MAX_SAFE_INTEGER - bytesPerL1 || Math.ceil(h.size / bytesPerL1) > h.l1Size) {
    throw corrupt(path, `l1_size ${h.l1Size} is too small for the virtual size ${h.size}`, 36);
  }
  if (h.l1Size > 0 && h.l1TableOffset === 0) throw corrupt(path, 'l1_table_offset is 0 with a non-empty L1 table', 40);

  // Backing file name.
  const backingOffset = safeU64(path, v, 8, 'backing_file_offset');
  const backingSize = v.getUint32(16);
  if (backingOffset !== 0) {
    if (backingSize > MAX_BACKING_NAME || backingOffset + backingSize > Math.min(clusterSize, first.length)) {
      throw corrupt(path, `backing file name (${backingSize} bytes at ${backingOffset}) lies outside the first cluster`, 8);
    }
    h.backingFile = text(first.subarray(backingOffset, backingOffset + backingSize));
  }
  parseExtensions(path, first, h, Math.min(clusterSize, first.length, backingOffset === 0 ? Infinity : backingOffset));
  return h;
}

function checkCluster(path: string, value: number, clusterSize: number, what: string, at: number): void {
  if (value % clusterSize !== 0) throw corrupt(path, `${what} 0x${value.toString(16)} is not aligned to a cluster`, at);
}

function parseExtensions(path: string, first: Uint8Array, h: Qcow2Header, end: number): void {
  const v = new DataView(first.buffer, first.byteOffset, first.byteLength);
  let at = h.headerLength;
  // Each extension takes at least 8 bytes, so the loop ends within the first cluster.
  while (at + 8 <= end) {
    const type = v.getUint32(at);
    const length = v.getUint32(at + 4);
    if (type === EXT_END) return;
    const dataAt = at + 8;
    if (length > end - dataAt) throw corrupt(path, `header extension 0x${type.toString(16)} of ${length} bytes runs past the header`, at);
    const data = first.slice(dataAt, dataAt + length);
    switch (type) {
      case EXT_BACKING_FORMAT:
        h.backingFormat = text(data);
        break;
      case EXT_DATA_FILE:
        h.dataFile = text(data);
        break;
      case EXT_FEATURE_TABLE:
        break; // names of feature bits, for messages only; rewritten on update
      case EXT_ENCRYPTION:
        throw new StorageError('Unsupported', `${path}: encrypted qcow2 images are not supported`);
      default:
        h.otherExtensions.push({ type, data });
    }
    at = dataAt + ((length + 7) & ~7);
  }
  if (at + 8 > end && at < end) throw corrupt(path, 'header extensions are not terminated', at);
}

const FEATURES: readonly [number, number, string][] = [
  [0, 0, 'dirty bit'],
  [0, 1, 'corrupt bit'],
  [0, 2, 'external data file'],
  [0, 3, 'compression type'],
  [0, 4, 'extended L2 entries'],
  [1, 0, 'lazy refcounts'],
  [2, 0, 'bitmaps'],
  [2, 1, 'raw external data'],
];

/** The first cluster of an image with header `h`: header, extensions, backing file name. */
export function encodeHeader(h: Qcow2Header): Uint8Array {
  const clusterSize = 2 ** h.clusterBits;
  const out = new Uint8Array(clusterSize);
  const v = new DataView(out.buffer);
  v.setUint32(0, QCOW2_MAGIC);
  v.setUint32(4, h.version);
  v.setUint32(20, h.clusterBits);
  writeU64(v, 24, h.size);
  v.setUint32(32, h.cryptMethod);
  v.setUint32(36, h.l1Size);
  writeU64(v, 40, h.l1TableOffset);
  writeU64(v, 48, h.refcountTableOffset);
  v.setUint32(56, h.refcountTableClusters);
  v.setUint32(60, h.nbSnapshots);
  writeU64(v, 64, h.snapshotsOffset);
  let at = V2_HEADER_LENGTH;
  if (h.version === 3) {
    v.setUint32(76, h.incompatible);
    v.setUint32(84, h.compatible);
    v.setUint32(92, h.autoclear);
    v.setUint32(96, h.refcountOrder);
    v.setUint32(100, h.headerLength);
    if (h.headerLength > V3_HEADER_LENGTH) out[104] = h.compressionType;
    at = h.headerLength;
  }
  const enc = new TextEncoder();
  const ext = (type: number, data: Uint8Array): void => {
    if (at + 8 + data.length + 8 > clusterSize) throw new StorageError('InvalidArgument', 'qcow2 header extensions do not fit in the first cluster');
    v.setUint32(at, type);
    v.setUint32(at + 4, data.length);
    out.set(data, at + 8);
    at += 8 + ((data.length + 7) & ~7);
  };
  if (h.backingFormat !== undefined) ext(EXT_BACKING_FORMAT, enc.encode(h.backingFormat));
  if (h.dataFile !== undefined) ext(EXT_DATA_FILE, enc.encode(h.dataFile));
  if (h.version === 3) {
    const table = new Uint8Array(FEATURES.length * 48);
    FEATURES.forEach(([kind, bit, name], i) => {
      table[i * 48] = kind;
      table[i * 48 + 1] = bit;
      table.set(enc.encode(name), i * 48 + 2);
    });
    ext(EXT_FEATURE_TABLE, table);
  }
  for (const e of h.otherExtensions) ext(e.type, e.data);
  at += 8; // end-of-extensions marker (zeros)
  if (h.backingFile !== undefined) {
    const name = enc.encode(h.backingFile);
    if (name.length > MAX_BACKING_NAME || at + name.length > clusterSize) {
      throw new StorageError('InvalidArgument', `backing file name of ${name.length} bytes does not fit in the qcow2 header`);
    }
    writeU64(v, 8, at);
    v.setUint32(16, name.length);
    out.set(name, at);
    at += name.length;
  }
  return out;
}
