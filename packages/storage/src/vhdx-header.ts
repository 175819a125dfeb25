import { ascii, setU64, u64Safe, viewOf, writeAscii } from './byte-fields.js';
import { crc32cWithZeroField } from './crc32c.js';
import { StorageError } from './errors.js';
import { guidEquals, guidIsZero } from './guid.js';

/**
 * The VHDX header section ([MS-VHDX] 2.2): the file type identifier at 0, two headers at 64 KiB and
 * 128 KiB (the valid one with the larger sequence number is current), and two copies of the region
 * table at 192 KiB and 256 KiB. All little-endian; checksums are CRC-32C with the field zeroed.
 */

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const VHDX_IDENTIFIER_SIGNATURE = 'vhdxfile';
export const VHDX_HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const;
export const VHDX_HEADER_SIZE = 4 * KiB;
export const VHDX_REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB] as const;
export const VHDX_REGION_TABLE_SIZE = 64 * KiB;
/** Everything before this is the header section; objects after it are 1 MiB aligned. */
export const VHDX_HEADER_SECTION_SIZE = MiB;

const HEADER_SIGNATURE = 'head';
const REGION_SIGNATURE = 'regi';
const MAX_REGION_ENTRIES = 2047;

/** [MS-VHDX] 2.2.3.1: the known regions. */
export const BAT_REGION_GUID = '2dc27766-f623-4200-9d64-115e9bfd4a08';
export const METADATA_REGION_GUID = '8b7ca206-4790-4b9a-b8fe-575f050f886e';

export interface VhdxHeader {
  sequenceNumber: bigint;
  fileWriteGuid: Uint8Array;
  dataWriteGuid: Uint8Array;
  /** Zero when the log holds nothing to replay. */
  logGuid: Uint8Array;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
}

export interface VhdxRegion {
  guid: Uint8Array;
  fileOffset: number;
  length: number;
  required: boolean;
}

/** The file type identifier: signature and creator, 64 KiB. */
export function serializeVhdxIdentifier(creator: string): Uint8Array {
  const b = new Uint8Array(64 * KiB);
  writeAscii(b, 0, VHDX_IDENTIFIER_SIGNATURE);
  const v = viewOf(b);
  for (let i = 0; i < Math.min(creator.length, 255); i++) v.setUint16(8 + i * 2, creator.charCodeAt(i), true);
  return b;
}

/** Parse one header copy, or `undefined` with the reason when it is not valid (the other copy may be). */
export function parseVhdxHeader(b: Uint8Array, where: number): VhdxHeader | string {
  if (b.length < VHDX_HEADER_SIZE) return `header at offset ${where} is truncated`;
  const v = viewOf(b);
  if (ascii(b, 0, 4) !== HEADER_SIGNATURE) return `header at offset ${where}: signature is not "head"`;
  const stored = v.getUint32(4, true);
  const computed = crc32cWithZeroField(b.subarray(0, VHDX_HEADER_SIZE), 4);
  if (stored !== computed) return `header at offset ${where}: checksum 0x${stored.toString(16)} does not match the contents (0x${computed.toString(16)})`;
  return {
    sequenceNumber: v.getBigUint64(8, true),
    fileWriteGuid: b.slice(16, 32),
    dataWriteGuid: b.slice(32, 48),
    logGuid: b.slice(48, 64),
    logVersion: v.getUint16(64, true),
    version: v.getUint16(66, true),
    logLength: v.getUint32(68, true),
    logOffset: (() => {
      try {
        return u64Safe(v, 72, true, 'log offset');
      } catch {
        return -1;
      }
    })(),
  };
}

export function serializeVhdxHeader(h: VhdxHeader): Uint8Array {
  const b = new Uint8Array(VHDX_HEADER_SIZE);
  const v = viewOf(b);
  writeAscii(b, 0, HEADER_SIGNATURE);
  v.setBigUint64(8, h.sequenceNumber, true);
  b.set(h.fileWriteGuid, 16);
  b.set(h.dataWriteGuid, 32);
  b.set(h.logGuid, 48);
  v.setUint16(64, h.logVersion, true);
  v.setUint16(66, h.version, true);
  v.setUint32(68, h.logLength, true);
  setU64(v, 72, h.logOffset, true);
  v.setUint32(4, crc32cWithZeroField(b, 4), true);
  return b;
}

/**
 * The current header: the valid copy with the larger sequence number ([MS-VHDX] 2.2.2). Validates
 * the fields a reader depends on; `fileSize` bounds the log.
 */
export function chooseVhdxHeader(copies: readonly Uint8Array[], fileSize: number): { header: VhdxHeader; slot: number } {
  const parsed = copies.map((c, i) => parseVhdxHeader(c, VHDX_HEADER_OFFSETS[i]));
  let best: { header: VhdxHeader; slot: number } | undefined;
  parsed.forEach((p, slot) => {
    if (typeof p !== 'string' && (best === undefined || p.sequenceNumber > best.header.sequenceNumber)) best = { header: p, slot };
  });
  if (best === undefined) {
    throw new StorageError('CorruptHeader', `VHDX: no valid header (${parsed.filter((p) => typeof p === 'string').join('; ')})`);
  }
  const { header, slot } = best;
  const where = `VHDX header at offset ${VHDX_HEADER_OFFSETS[slot]}`;
  if (header.version !== 1) throw new StorageError('Unsupported', `${where}: version ${header.version} is not 1`);
  if (header.logVersion !== 0) throw new StorageError('Unsupported', `${where}: log version ${header.logVersion} is not 0`);
  if (header.logOffset < VHDX_HEADER_SECTION_SIZE || header.logOffset % MiB !== 0 || header.logLength % MiB !== 0 || header.logLength === 0) {
    throw new StorageError('CorruptHeader', `${where}: log at offset ${header.logOffset} of ${header.logLength} bytes is not 1 MiB aligned after the header section`);
  }
  if (header.logOffset + header.logLength > fileSize) {
    throw new StorageError('Truncated', `${where}: log at offset ${header.logOffset} (${header.logLength} bytes) runs past the end of the file (${fileSize} bytes)`);
  }
  return best;
}

/** Parse and validate a region table copy; the BAT and metadata regions must be present. */
export function parseVhdxRegionTable(b: Uint8Array, where: number, fileSize: number): VhdxRegion[] {
  const bad = (what: string, code: 'CorruptHeader' | 'Unsupported' | 'Truncated' = 'CorruptHeader'): StorageError =>
    new StorageError(code, `VHDX region table at offset ${where}: ${what}`);
  if (b.length < VHDX_REGION_TABLE_SIZE) throw bad('truncated', 'Truncated');
  const v = viewOf(b);
  if (ascii(b, 0, 4) !== REGION_SIGNATURE) throw bad('signature is not "regi"');
  const stored = v.getUint32(4, true);
  const computed = crc32cWithZeroField(b.subarray(0, VHDX_REGION_TABLE_SIZE), 4);
  if (stored !== computed) throw bad(`checksum 0x${stored.toString(16)} does not match the contents (0x${computed.toString(16)})`);
  const count = v.getUint32(8, true);
  if (count > MAX_REGION_ENTRIES) throw bad(`${count} entries, at most ${MAX_REGION_ENTRIES} allowed`);
  const regions: VhdxRegion[] = [];
  for (let i = 0; i < count; i++) {
    const at = 16 + i * 32;
    const guid = b.slice(at, at + 16);
    const fileOffset = u64Safe(v, at + 16, true, `VHDX region table at offset ${where}: entry ${i} offset`);
    const length = v.getUint32(at + 24, true);
    const required = (v.getUint32(at + 28, true) & 1) === 1;
    if (fileOffset < VHDX_HEADER_SECTION_SIZE || fileOffset % MiB !== 0 || length % MiB !== 0 || length === 0) {
      throw bad(`entry ${i}: region at offset ${fileOffset} of ${length} bytes is not 1 MiB aligned after the header section`);
    }
    if (fileOffset + length > fileSize) throw bad(`entry ${i}: region at offset ${fileOffset} (${length} bytes) runs past the end of the file`, 'Truncated');
    for (const r of regions) {
      if (guidEquals(r.guid, guid)) throw bad(`entry ${i} repeats a region`);
      if (fileOffset < r.fileOffset + r.length && r.fileOffset < fileOffset + length) throw bad(`entry ${i} overlaps another region`);
    }
    regions.push({ guid, fileOffset, length, required });
  }
  if (regions.some((r) => guidIsZero(r.guid))) throw bad('a region has a zero GUID');
  return regions;
}

export function serializeVhdxRegionTable(regions: readonly VhdxRegion[]): Uint8Array {
  const b = new Uint8Array(VHDX_REGION_TABLE_SIZE);
  const v = viewOf(b);
  writeAscii(b, 0, REGION_SIGNATURE);
  v.setUint32(8, regions.length, true);
  regions.forEach((r, i) => {
    const at = 16 + i * 32;
    b.set(r.guid, at);
    setU64(v, at + 16, r.fileOffset, true);
    v.setUint32(at + 24, r.length, true);
    v.setUint32(at + 28, r.required ? 1 : 0, true);
  });
  v.setUint32(4, crc32cWithZeroField(b, 4), true);
  return b;
}
