import { StorageError } from './errors.js';

// L1 and L2 entry bits (QEMU qcow2.txt, "Cluster mapping"). Entries are read as two 32-bit halves.
/** Bit 63: the refcount of the cluster (or L2 table) is exactly one, so it may be written in place. */
export const HI_COPIED = 0x8000_0000;
/** Bit 62 of an L2 entry: a compressed cluster. */
export const HI_COMPRESSED = 0x4000_0000;
/** Bit 0 of a standard L2 entry (v3): the cluster reads as zeros. */
export const LO_ZERO = 0x1;
/** Bits 9-55 hold a host offset. */
const HI_OFFSET_MASK = 0x00ff_ffff;
const LO_OFFSET_MASK = 0xffff_fe00;
/** Bits 1-8 and 56-61 of a standard L2 entry are reserved. */
const LO_RESERVED = 0x1fe;
const HI_RESERVED = 0x3f00_0000;
const TWO_32 = 0x1_0000_0000;

export type ClusterKind = 'unallocated' | 'zero' | 'normal' | 'compressed';

/** A decoded L2 entry. */
export interface ClusterMapping {
  kind: ClusterKind;
  /** Host offset: of the cluster (`normal`, or a preallocated `zero`), of the compressed bytes (`compressed`). */
  host: number;
  /** Byte length of the compressed data (`compressed` only). */
  compressedLength: number;
  copied: boolean;
}

/** The host offset of an L1 entry (0 = no L2 table). */
export function l1Offset(hi: number, lo: number): number {
  return (hi & HI_OFFSET_MASK) * TWO_32 + ((lo & LO_OFFSET_MASK) >>> 0);
}

/** Validate an L1 entry read from the table: reserved bits clear, offset aligned, safe. */
export function checkL1Entry(hi: number, lo: number, clusterSize: number, where: string): void {
  if ((hi & 0x7f00_0000) !== 0 || (lo & 0x1ff) !== 0 || (hi & HI_OFFSET_MASK) >= 0x20_0000) {
    throw new StorageError('CorruptTable', `${where}: L1 entry 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} has reserved bits set`);
  }
  if (l1Offset(hi, lo) % clusterSize !== 0) {
    throw new StorageError('CorruptTable', `${where}: L1 entry points to an L2 table that is not cluster-aligned`);
  }
}

/**
 * Decode an L2 entry. `where` names the table and offset for errors. Compressed entries pack the
 * offset in the low `62 - (cluster_bits - 8)` bits and the count of extra 512-byte sectors above it.
 */
export function decodeL2(hi: number, lo: number, clusterBits: number, version: number, where: string | (() => string)): ClusterMapping {
  // The name is built only for an error: this runs for every cluster read or written.
  const name = (): string => (typeof where === 'string' ? where : where());
  const copied = (hi & HI_COPIED) !== 0;
  if ((hi & HI_COMPRESSED) !== 0) {
    const offsetBits = 62 - (clusterBits - 8);
    const value = (BigInt(hi & 0x3fff_ffff) << 32n) | BigInt(lo >>> 0);
    const host = Number(value & ((1n << BigInt(offsetBits)) - 1n));
    const sectors = Number(value >> BigInt(offsetBits));
    if (!Number.isSafeInteger(host)) throw new StorageError('CorruptTable', `${name()}: compressed cluster offset is too large`);
    if (copied) throw new StorageError('CorruptTable', `${name()}: compressed cluster has the COPIED flag`);
    return { kind: 'compressed', host, compressedLength: (sectors + 1) * 512 - (host % 512), copied: false };
  }
  if ((lo & LO_RESERVED) !== 0 || (hi & HI_RESERVED) !== 0) {
    throw new StorageError('CorruptTable', `${name()}: L2 entry 0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')} has reserved bits set`);
  }
  if ((hi & HI_OFFSET_MASK) >= 0x20_0000) throw new StorageError('CorruptTable', `${name()}: L2 entry offset is too large`);
  const host = l1Offset(hi, lo);
  const zero = (lo & LO_ZERO) !== 0;
  if (zero && version < 3) throw new StorageError('CorruptTable', `${name()}: zero flag in a version 2 image`);
  if (host % 2 ** clusterBits !== 0) {
    throw new StorageError('CorruptTable', `${name()}: data cluster at 0x${host.toString(16)} is not cluster-aligned`);
  }
  if (zero) return { kind: 'zero', host, compressedLength: 0, copied };
  return { kind: host === 0 ? 'unallocated' : 'normal', host, compressedLength: 0, copied };
}

/** Encode a standard (normal or zero) L2 entry as its two halves. */
export function encodeStandard(host: number, copied: boolean, zero: boolean): [number, number] {
  const hi = (Math.floor(host / TWO_32) & HI_OFFSET_MASK) | (copied ? HI_COPIED : 0);
  const lo = ((host >>> 0) & LO_OFFSET_MASK) | (zero ? LO_ZERO : 0);
  return [hi >>> 0, lo >>> 0];
}

/** Encode a compressed-cluster descriptor: `length` bytes of compressed data at `host`. */
export function encodeCompressed(host: number, length: number, clusterBits: number): [number, number] {
  const offsetBits = 62 - (clusterBits - 8);
  const sectors = Math.ceil(((host % 512) + length) / 512) - 1;
  const value = (1n << 62n) | (BigInt(sectors) << BigInt(offsetBits)) | BigInt(host);
  return [Number(value >> 32n) >>> 0, Number(value & 0xffff_ffffn) >>> 0];
}
