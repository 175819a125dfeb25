import { ascii, setU64, u64AllOnes, u64Safe, viewOf, writeAscii } from './byte-fields.js';
import { StorageError } from './errors.js';

/**
 * The VHD dynamic disk header (Virtual Hard Disk Image Format Specification, "Dynamic Disk Header
 * Format"): 1024 bytes, big-endian, at the footer's data offset of dynamic and differencing disks.
 * It locates the block allocation table and, for a differencing disk, names the parent.
 */

export const VHD_HEADER_SIZE = 1024;
const HEADER_COOKIE = 'cxsparse';
const HEADER_VERSION = 0x0001_0000;
/** The spec's default block size, and the only one Virtual PC and Hyper-V create. */
export const VHD_DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;
/** Parent locator entries in the header. */
export const VHD_LOCATOR_COUNT = 8;

/** Parent locator platform codes. */
export const VHD_PLATFORM_NONE = 0;
/** "W2ru": a path relative to the child, UTF-16LE. */
export const VHD_PLATFORM_W2RU = 0x5732_7275;
/** "W2ku": an absolute Windows path, UTF-16LE. */
export const VHD_PLATFORM_W2KU = 0x5732_6b75;
/** "MacX": a file URL, UTF-8. */
export const VHD_PLATFORM_MACX = 0x4d61_6358;

const H_COOKIE = 0;
const H_DATA_OFFSET = 8;
const H_TABLE_OFFSET = 16;
const H_VERSION = 24;
const H_MAX_ENTRIES = 28;
const H_BLOCK_SIZE = 32;
const H_CHECKSUM = 36;
/** Where the max-table-entries field and the checksum lie, for changing the one in place. */
export const VHD_HEADER_MAX_ENTRIES = H_MAX_ENTRIES;
export const VHD_HEADER_CHECKSUM = H_CHECKSUM;
const H_PARENT_ID = 40;
const H_PARENT_TIMESTAMP = 56;
const H_PARENT_NAME = 64;
const PARENT_NAME_BYTES = 512;
const H_LOCATORS = 576;
const LOCATOR_SIZE = 24;

export interface VhdParentLocator {
  platformCode: number;
  /** Sectors reserved for the locator's data. */
  dataSpace: number;
  /** Bytes of locator data. */
  dataLength: number;
  /** Byte offset of the data in the file. */
  dataOffset: number;
}

export interface VhdDynamicHeader {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  parentUniqueId: Uint8Array;
  parentTimestamp: number;
  parentName: string;
  locators: VhdParentLocator[];
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < VHD_HEADER_SIZE; i++) {
    if (i >= H_CHECKSUM && i < H_CHECKSUM + 4) continue;
    sum = (sum + bytes[i]) >>> 0;
  }
  return ~sum >>> 0;
}

/** Decode UTF-16 big-endian text up to the first NUL. */
export function utf16beToString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const c = (bytes[i] << 8) | bytes[i + 1];
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Parse and validate a dynamic disk header read from `where`. `fileSize` bounds the BAT: a table
 * that cannot lie inside the file is corrupt, which also keeps a hostile entry count from driving a
 * huge allocation.
 */
export function parseVhdDynamicHeader(bytes: Uint8Array, where: number, fileSize: number): VhdDynamicHeader {
  const bad = (what: string): StorageError => new StorageError('CorruptHeader', `VHD dynamic header at offset ${where}: ${what}`);
  if (bytes.length < VHD_HEADER_SIZE) throw new StorageError('Truncated', `VHD dynamic header at offset ${where}: file ends inside it`);
  const v = viewOf(bytes);
  if (ascii(bytes, H_COOKIE, 8) !== HEADER_COOKIE) throw bad('cookie is not "cxsparse"');
  const stored = v.getUint32(H_CHECKSUM);
  const computed = checksum(bytes);
  if (stored !== computed) throw bad(`checksum 0x${stored.toString(16)} does not match the contents (0x${computed.toString(16)})`);
  const version = v.getUint32(H_VERSION);
  if (version >>> 16 !== 1) throw bad(`header version 0x${version.toString(16)} is not 1.x`);
  if (!u64AllOnes(v, H_DATA_OFFSET)) {
    // The spec reserves this field and requires all ones; some writers leave zeros. Accept both.
    const raw = u64Safe(v, H_DATA_OFFSET, false, `VHD dynamic header at offset ${where}: data offset`);
    if (raw !== 0) throw bad(`data offset field is ${raw}, expected all ones`);
  }
  const tableOffset = u64Safe(v, H_TABLE_OFFSET, false, `VHD dynamic header at offset ${where}: table offset`);
  const maxTableEntries = v.getUint32(H_MAX_ENTRIES);
  const blockSize = v.getUint32(H_BLOCK_SIZE);
  if (blockSize < 512 || blockSize > 0x8000_0000 || (blockSize & (blockSize - 1)) !== 0) {
    throw bad(`block size ${blockSize} is not a power of two of at least 512 bytes`);
  }
  if (tableOffset % 512 !== 0) throw bad(`BAT offset ${tableOffset} is not sector-aligned`);
  if (tableOffset + maxTableEntries * 4 > fileSize) {
    throw bad(`BAT of ${maxTableEntries} entries at offset ${tableOffset} runs past the end of the file (${fileSize} bytes)`);
  }
  const locators: VhdParentLocator[] = [];
  for (let i = 0; i < VHD_LOCATOR_COUNT; i++) {
    const at = H_LOCATORS + i * LOCATOR_SIZE;
    const platformCode = v.getUint32(at);
    if (platformCode === VHD_PLATFORM_NONE) continue;
    const dataSpace = v.getUint32(at + 4);
    const dataLength = v.getUint32(at + 8);
    const dataOffset = u64Safe(v, at + 16, false, `VHD dynamic header at offset ${where}: parent locator ${i} data offset`);
    locators.push({ platformCode, dataSpace, dataLength, dataOffset });
  }
  return {
    tableOffset,
    maxTableEntries,
    blockSize,
    parentUniqueId: bytes.slice(H_PARENT_ID, H_PARENT_ID + 16),
    parentTimestamp: v.getUint32(H_PARENT_TIMESTAMP),
    parentName: utf16beToString(bytes.subarray(H_PARENT_NAME, H_PARENT_NAME + PARENT_NAME_BYTES)),
    locators,
  };
}

export function serializeVhdDynamicHeader(h: VhdDynamicHeader): Uint8Array {
  if (h.locators.length > VHD_LOCATOR_COUNT) throw new StorageError('InvalidArgument', `at most ${VHD_LOCATOR_COUNT} parent locators fit in a VHD header`);
  const b = new Uint8Array(VHD_HEADER_SIZE);
  const v = viewOf(b);
  writeAscii(b, H_COOKIE, HEADER_COOKIE);
  v.setUint32(H_DATA_OFFSET, 0xffff_ffff);
  v.setUint32(H_DATA_OFFSET + 4, 0xffff_ffff);
  setU64(v, H_TABLE_OFFSET, h.tableOffset, false);
  v.setUint32(H_VERSION, HEADER_VERSION);
  v.setUint32(H_MAX_ENTRIES, h.maxTableEntries);
  v.setUint32(H_BLOCK_SIZE, h.blockSize);
  b.set(h.parentUniqueId.subarray(0, 16), H_PARENT_ID);
  v.setUint32(H_PARENT_TIMESTAMP, h.parentTimestamp >>> 0);
  const name = h.parentName.slice(0, PARENT_NAME_BYTES / 2 - 1);
  for (let i = 0; i < name.length; i++) v.setUint16(H_PARENT_NAME + i * 2, name.charCodeAt(i));
  h.locators.forEach((l, i) => {
    const at = H_LOCATORS + i * LOCATOR_SIZE;
    v.setUint32(at, l.platformCode);
    v.setUint32(at + 4, l.dataSpace);
    v.setUint32(at + 8, l.dataLength);
    setU64(v, at + 16, l.dataOffset, false);
  });
  v.setUint32(H_CHECKSUM, checksum(b));
  return b;
}
