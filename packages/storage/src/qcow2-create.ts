import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import type { CreateOptions } from './image-format.js';
import type { Qcow2Header } from './qcow2-header.js';
import {
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  COMPRESSION_ZLIB,
  COMPRESSION_ZSTD,
  INCOMPAT_COMPRESSION,
  INCOMPAT_DATA_FILE,
  MAX_CLUSTER_BITS,
  MAX_L1_BYTES,
  MIN_CLUSTER_BITS,
  V3_HEADER_LENGTH_WITH_COMPRESSION,
  encodeHeader,
  writeU64,
} from './qcow2-header.js';
import { Qcow2Refcounts } from './qcow2-refcounts.js';

/** The `-o` options `qemu-img create -f qcow2` knows that tsvm implements. */
export const QCOW2_CREATE_OPTIONS = [
  'cluster_size',
  'compat',
  'lazy_refcounts',
  'refcount_bits',
  'compression_type',
  'data_file',
  'data_file_raw',
  'extended_l2',
  'preallocation',
  'backing_file',
  'backing_fmt',
] as const;

function flag(options: Readonly<Record<string, string>>, key: string): boolean {
  const v = options[key];
  if (v === undefined || v === 'off' || v === 'false') return false;
  if (v === 'on' || v === 'true') return true;
  throw new StorageError('InvalidArgument', `qcow2: option ${key}=${v} must be on or off`);
}

/** Turn `CreateOptions` into a validated header for an empty image. */
export function newHeader(options: CreateOptions): Qcow2Header {
  const o = options.options;
  const clusterSize = o.cluster_size === undefined ? 65536 : parseSize(o.cluster_size, 'cluster_size');
  const clusterBits = Math.log2(clusterSize);
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new StorageError('InvalidArgument', `qcow2: cluster_size ${clusterSize} must be a power of two between 512 and 2M`);
  }
  const compat = o.compat ?? '1.1';
  if (compat !== '1.1' && compat !== 'v3' && compat !== '0.10' && compat !== 'v2') {
    throw new StorageError('InvalidArgument', `qcow2: compat=${compat} (use 0.10 or 1.1)`);
  }
  const version = compat === '0.10' || compat === 'v2' ? 2 : 3;
  const refcountBits = o.refcount_bits === undefined ? 16 : Number(o.refcount_bits);
  const refcountOrder = Math.log2(refcountBits);
  if (!Number.isInteger(refcountOrder) || refcountOrder < 0 || refcountOrder > 6) {
    throw new StorageError('InvalidArgument', `qcow2: refcount_bits=${o.refcount_bits} must be a power of two up to 64`);
  }
  const compression = o.compression_type ?? 'zlib';
  if (compression !== 'zlib' && compression !== 'zstd') throw new StorageError('InvalidArgument', `qcow2: compression_type=${compression} (zlib or zstd)`);
  const lazy = flag(o, 'lazy_refcounts');
  if (flag(o, 'extended_l2')) throw new StorageError('Unsupported', 'qcow2: creating images with extended L2 entries is not supported (reading them is)');
  const prealloc = o.preallocation ?? 'off';
  if (prealloc !== 'off') throw new StorageError('Unsupported', `qcow2: preallocation=${prealloc} is not supported (off is)`);
  const dataFile = o.data_file;
  const dataRaw = flag(o, 'data_file_raw');
  if (version === 2 && (lazy || refcountBits !== 16 || compression !== 'zlib' || dataFile !== undefined)) {
    throw new StorageError('InvalidArgument', 'qcow2: lazy_refcounts, refcount_bits, compression_type and data_file need compat=1.1');
  }
  if (dataRaw && dataFile === undefined) throw new StorageError('InvalidArgument', 'qcow2: data_file_raw needs data_file');
  const backingFile = options.backingFile ?? o.backing_file;
  const backingFormat = options.backingFormat ?? o.backing_fmt;
  const l2Entries = clusterSize / 8;
  const l1Size = Math.ceil(options.size / (clusterSize * l2Entries));
  if (l1Size * 8 > MAX_L1_BYTES) throw new StorageError('InvalidArgument', `qcow2: ${options.size} bytes need an L1 table over qemu's 32 MiB limit`);
  return {
    version,
    clusterBits,
    size: options.size,
    cryptMethod: 0,
    l1Size,
    l1TableOffset: 0,
    refcountTableOffset: clusterSize,
    refcountTableClusters: 1,
    nbSnapshots: 0,
    snapshotsOffset: 0,
    incompatible: (compression === 'zstd' ? INCOMPAT_COMPRESSION : 0) | (dataFile !== undefined ? INCOMPAT_DATA_FILE : 0),
    compatible: lazy ? COMPAT_LAZY_REFCOUNTS : 0,
    autoclear: dataRaw ? AUTOCLEAR_DATA_FILE_RAW : 0,
    refcountOrder,
    headerLength: version === 3 ? V3_HEADER_LENGTH_WITH_COMPRESSION : 72,
    compressionType: compression === 'zstd' ? COMPRESSION_ZSTD : COMPRESSION_ZLIB,
    backingFile,
    backingFormat: backingFile === undefined ? undefined : backingFormat,
    dataFile,
    otherExtensions: [],
  };
}

/** Parse a qemu-style size: `65536`, `64k`, `2M`. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgtpe]?)i?b?$/i.exec(text.trim());
  if (m === null) throw new StorageError('InvalidArgument', `${what}: '${text}' is not a size`);
  const unit = 'bkmgtpe'.indexOf((m[2] ?? '').toLowerCase() || 'b');
  const value = Number(m[1]) * 1024 ** unit;
  if (!Number.isSafeInteger(value)) throw new StorageError('InvalidArgument', `${what}: '${text}' is not a whole number of bytes`);
  return value;
}

/** Write an empty qcow2 image with header `h` into the empty `file` (layout as qemu: header, refcount table, block, L1). */
export async function writeEmptyQcow2(file: HostFile, h: Qcow2Header): Promise<void> {
  const cs = 2 ** h.clusterBits;
  await file.write(0, encodeHeader(h));
  const table = new Uint8Array(cs);
  writeU64(new DataView(table.buffer), 0, 2 * cs);
  await file.write(cs, table);
  await file.write(2 * cs, new Uint8Array(cs));
  const refs = await Qcow2Refcounts.load(file, h.clusterBits, h.refcountOrder, { offset: cs, clusters: 1 }, async (loc) => {
    h.refcountTableOffset = loc.offset;
    h.refcountTableClusters = loc.clusters;
    await file.write(0, encodeHeader(h));
  });
  await refs.adjust(0, 3, 1);
  if (h.l1Size > 0) {
    const l1Clusters = Math.ceil((h.l1Size * 8) / cs);
    h.l1TableOffset = await refs.allocate(l1Clusters);
    await file.write(h.l1TableOffset, new Uint8Array(l1Clusters * cs));
  }
  await refs.sync();
  await file.write(0, encodeHeader(h));
}
