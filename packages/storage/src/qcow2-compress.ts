import { constants, deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { StorageError } from './errors.js';
import { COMPRESSION_ZSTD } from './qcow2-header.js';

/**
 * Compressed clusters (QEMU qcow2.txt, "Compressed Clusters Descriptor"): raw deflate with a 4 KiB
 * window (zlib, what qemu writes) or one zstd frame. The stored length is rounded up to a sector, so
 * bytes after the compressed stream are ignored.
 */
export function decompressCluster(type: number, input: Uint8Array, clusterSize: number, where: string): Uint8Array {
  let out: Uint8Array;
  try {
    if (type === COMPRESSION_ZSTD) {
      out = zstdDecompress(input.subarray(0, zstdFrameLength(input, where)), new Uint8Array(clusterSize));
    } else {
      out = inflateRawSync(input, { maxOutputLength: clusterSize, finishFlush: constants.Z_SYNC_FLUSH });
    }
  } catch (err) {
    throw new StorageError('CorruptTable', `${where}: compressed cluster does not decompress`, { cause: err });
  }
  if (out.length !== clusterSize) {
    throw new StorageError('CorruptTable', `${where}: compressed cluster holds ${out.length} bytes, not ${clusterSize}`);
  }
  return out;
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_FCS_BYTES = [0, 2, 4, 8];
const ZSTD_DICT_BYTES = [0, 1, 2, 4];

/**
 * The byte length of the zstd frame at the start of `input` (RFC 8878, section 3.1.1), found by
 * walking its block headers, so the sector padding after it is not taken for a second frame.
 */
export function zstdFrameLength(input: Uint8Array, where: string): number {
  const bad = (why: string): StorageError => new StorageError('CorruptTable', `${where}: zstd frame ${why}`);
  if (input.length < 6) throw bad('is truncated');
  const magic = (input[0] | (input[1] << 8) | (input[2] << 16) | (input[3] << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC) throw bad('has a bad magic number');
  const fhd = input[4];
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  let p = 5 + (singleSegment === 1 ? 0 : 1) + ZSTD_DICT_BYTES[fhd & 3] + (fcsFlag === 0 ? singleSegment : ZSTD_FCS_BYTES[fcsFlag]);
  // Each block header moves p forward by at least 3 bytes, so the loop ends within the input.
  for (;;) {
    if (p + 3 > input.length) throw bad('is truncated');
    const bh = input[p] | (input[p + 1] << 8) | (input[p + 2] << 16);
    const type = (bh >> 1) & 3;
    if (type === 3) throw bad('has a reserved block type');
    p += 3 + (type === 1 ? 1 : bh >>> 3);
    if ((bh & 1) === 1) break;
  }
  if (((fhd >> 2) & 1) === 1) p += 4;
  if (p > input.length) throw bad('is truncated');
  return p;
}

/** Compress one cluster the way qemu does (raw deflate, window bits 12); `undefined` when it does not shrink. */
export function compressClusterSync(data: Uint8Array): Uint8Array | undefined {
  const out = deflateRawSync(data, { windowBits: 12, level: constants.Z_DEFAULT_COMPRESSION });
  return out.length < data.length ? out : undefined;
}

/** `compressClusterSync` on the libuv thread pool, so several clusters compress at once. */
export function compressCluster(data: Uint8Array): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    deflateRaw(data, { windowBits: 12, level: constants.Z_DEFAULT_COMPRESSION }, (err, out) => {
      if (err !== null) reject(new StorageError('Io', 'deflate failed', { cause: err }));
      else resolve(out.length < data.length ? out : undefined);
    });
  });
}
