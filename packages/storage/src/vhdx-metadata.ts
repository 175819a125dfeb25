import { ascii, setU64, u64Safe, viewOf, writeAscii } from './byte-fields.js';
import { StorageError } from './errors.js';
import { guidConstant, guidEquals, guidToString } from './guid.js';
import { KiB, MiB } from './vhdx-header.js';

/**
 * The VHDX metadata region ([MS-VHDX] 2.6): a table of items at its start and the items' values
 * after 64 KiB. Known items are the file parameters, virtual disk size and id, sector sizes and, for
 * differencing disks, the parent locator.
 */

const SIGNATURE = 'metadata';
const MAX_ENTRIES = 2047;
const TABLE_SIZE = 64 * KiB;

export const FILE_PARAMETERS = guidConstant('caa16737-fa36-4d43-b3b6-33f0aa44e76b');
export const VIRTUAL_DISK_SIZE = guidConstant('2fa54224-cd1b-4876-b211-5dbed83bf4b8');
export const VIRTUAL_DISK_ID = guidConstant('beca12ab-b2e6-4523-93ef-c309e000c746');
export const LOGICAL_SECTOR_SIZE = guidConstant('8141bf1d-a96f-4709-ba47-f233a8faab5f');
export const PHYSICAL_SECTOR_SIZE = guidConstant('cda348c7-445d-4471-9cc9-e9885251c556');
export const PARENT_LOCATOR = guidConstant('a8d35f2b-b30b-454d-abf7-d3d84834ab0c');
/** The only parent locator type [MS-VHDX] defines (2.6.2.6.1, "VHDX parent locator"). */
export const VHDX_PARENT_LOCATOR_TYPE = guidConstant('b04aefb7-d19e-4a81-b789-25b8e9445913');

const KNOWN = [FILE_PARAMETERS, VIRTUAL_DISK_SIZE, VIRTUAL_DISK_ID, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR];

/** The largest virtual disk [MS-VHDX] allows: 64 TiB. */
export const VHDX_MAX_SIZE = 64 * 1024 * 1024 * MiB;

export interface VhdxMetadata {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualDiskSize: number;
  virtualDiskId: Uint8Array;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Key/value pairs of the parent locator (differencing disks). */
  parentLocator?: Map<string, string>;
  /** Where the virtual disk size item lies in the region (set when parsed from a file). */
  virtualDiskSizeAt?: number;
}

interface Entry {
  offset: number;
  length: number;
}

function utf16le(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b[i] | (b[i + 1] << 8));
  return s;
}

function toUtf16le(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    b[i * 2] = s.charCodeAt(i) & 0xff;
    b[i * 2 + 1] = s.charCodeAt(i) >>> 8;
  }
  return b;
}

function parseParentLocator(b: Uint8Array, where: string): Map<string, string> {
  const bad = (what: string): StorageError => new StorageError('CorruptHeader', `${where}: parent locator: ${what}`);
  if (b.length < 20) throw bad('shorter than its header');
  const v = viewOf(b);
  if (!guidEquals(b.subarray(0, 16), VHDX_PARENT_LOCATOR_TYPE)) throw new StorageError('Unsupported', `${where}: parent locator type ${guidToString(b, 0)} is not the VHDX one`);
  const count = v.getUint16(18, true);
  if (20 + count * 12 > b.length) throw bad(`${count} entries do not fit in ${b.length} bytes`);
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const at = 20 + i * 12;
    const keyOffset = v.getUint32(at, true);
    const valueOffset = v.getUint32(at + 4, true);
    const keyLength = v.getUint16(at + 8, true);
    const valueLength = v.getUint16(at + 10, true);
    if (keyOffset + keyLength > b.length || valueOffset + valueLength > b.length || keyLength === 0 || keyLength % 2 || valueLength % 2) {
      throw bad(`entry ${i} lies outside the locator or has odd lengths`);
    }
    out.set(utf16le(b.subarray(keyOffset, keyOffset + keyLength)), utf16le(b.subarray(valueOffset, valueOffset + valueLength)));
  }
  return out;
}

export function serializeParentLocator(entries: ReadonlyMap<string, string>): Uint8Array {
  const pairs = [...entries].map(([k, v]) => [toUtf16le(k), toUtf16le(v)] as const);
  const head = 20 + pairs.length * 12;
  const total = head + pairs.reduce((n, [k, v]) => n + k.length + v.length, 0);
  const b = new Uint8Array(total);
  const view = viewOf(b);
  b.set(VHDX_PARENT_LOCATOR_TYPE, 0);
  view.setUint16(18, pairs.length, true);
  let at = head;
  pairs.forEach(([k, v], i) => {
    const e = 20 + i * 12;
    view.setUint32(e, at, true);
    b.set(k, at);
    at += k.length;
    view.setUint32(e + 4, at, true);
    b.set(v, at);
    at += v.length;
    view.setUint16(e + 8, k.length, true);
    view.setUint16(e + 10, v.length, true);
  });
  return b;
}

/** Parse and validate the metadata region (`region` is its whole content, read from `regionOffset`). */
export function parseVhdxMetadata(region: Uint8Array, regionOffset: number): VhdxMetadata {
  const where = `VHDX metadata region at offset ${regionOffset}`;
  const bad = (what: string): StorageError => new StorageError('CorruptHeader', `${where}: ${what}`);
  if (region.length < TABLE_SIZE) throw bad('shorter than its table');
  const v = viewOf(region);
  if (ascii(region, 0, 8) !== SIGNATURE) throw bad('signature is not "metadata"');
  const count = v.getUint16(10, true);
  if (count > MAX_ENTRIES) throw bad(`${count} entries, at most ${MAX_ENTRIES} allowed`);
  const items = new Map<string, Entry>();
  for (let i = 0; i < count; i++) {
    const at = 32 + i * 32;
    const id = region.subarray(at, at + 16);
    const offset = v.getUint32(at + 16, true);
    const length = v.getUint32(at + 20, true);
    const flags = v.getUint32(at + 24, true);
    const required = (flags & 4) !== 0;
    if (length > 0 && (offset < TABLE_SIZE || offset + length > region.length)) {
      throw bad(`item ${guidToString(id)} at offset ${offset} (${length} bytes) lies outside the region`);
    }
    if (length > MiB) throw bad(`item ${guidToString(id)} of ${length} bytes is larger than 1 MiB`);
    const known = KNOWN.some((k) => guidEquals(k, id));
    if (!known && required) throw new StorageError('Unsupported', `${where}: required metadata item ${guidToString(id)} is unknown`);
    const key = guidToString(id);
    if (items.has(key)) throw bad(`item ${key} appears twice`);
    items.set(key, { offset, length });
  }
  const item = (id: Uint8Array, name: string, size: number): DataView => {
    const e = items.get(guidToString(id));
    if (e === undefined) throw bad(`the ${name} item is missing`);
    if (e.length < size) throw bad(`the ${name} item is ${e.length} bytes, need ${size}`);
    return viewOf(region.subarray(e.offset, e.offset + e.length));
  };
  const fp = item(FILE_PARAMETERS, 'file parameters', 8);
  const blockSize = fp.getUint32(0, true);
  const fpFlags = fp.getUint32(4, true);
  if (blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) {
    throw bad(`block size ${blockSize} is not a power of two between 1 MiB and 256 MiB`);
  }
  const logicalSectorSize = item(LOGICAL_SECTOR_SIZE, 'logical sector size', 4).getUint32(0, true);
  const physicalSectorSize = item(PHYSICAL_SECTOR_SIZE, 'physical sector size', 4).getUint32(0, true);
  if (logicalSectorSize !== 512 && logicalSectorSize !== 4096) throw bad(`logical sector size ${logicalSectorSize} is not 512 or 4096`);
  if (physicalSectorSize !== 512 && physicalSectorSize !== 4096) throw bad(`physical sector size ${physicalSectorSize} is not 512 or 4096`);
  const virtualDiskSize = u64Safe(item(VIRTUAL_DISK_SIZE, 'virtual disk size', 8), 0, true, `${where}: virtual disk size`);
  if (virtualDiskSize % logicalSectorSize !== 0 || virtualDiskSize > VHDX_MAX_SIZE || virtualDiskSize === 0) {
    throw bad(`virtual disk size ${virtualDiskSize} is not a positive multiple of the sector size up to 64 TiB`);
  }
  const idView = item(VIRTUAL_DISK_ID, 'virtual disk id', 16);
  const md: VhdxMetadata = {
    blockSize,
    leaveBlocksAllocated: (fpFlags & 1) !== 0,
    hasParent: (fpFlags & 2) !== 0,
    virtualDiskSize,
    virtualDiskId: new Uint8Array(idView.buffer.slice(idView.byteOffset, idView.byteOffset + 16)),
    logicalSectorSize,
    physicalSectorSize,
    virtualDiskSizeAt: items.get(guidToString(VIRTUAL_DISK_SIZE))!.offset,
  };
  if (md.hasParent) {
    const pl = items.get(guidToString(PARENT_LOCATOR));
    if (pl === undefined || pl.length === 0) throw bad('a differencing disk has no parent locator');
    md.parentLocator = parseParentLocator(region.subarray(pl.offset, pl.offset + pl.length), where);
  }
  return md;
}

/** The metadata region's content for `md` (`regionLength` bytes). */
export function serializeVhdxMetadata(md: VhdxMetadata, regionLength: number): Uint8Array {
  const b = new Uint8Array(regionLength);
  const v = viewOf(b);
  writeAscii(b, 0, SIGNATURE);
  const IS_VIRTUAL_DISK = 2;
  const IS_REQUIRED = 4;
  const values: { id: Uint8Array; data: Uint8Array; flags: number }[] = [];
  const u32 = (n: number): Uint8Array => {
    const d = new Uint8Array(4);
    viewOf(d).setUint32(0, n, true);
    return d;
  };
  const fp = new Uint8Array(8);
  viewOf(fp).setUint32(0, md.blockSize, true);
  viewOf(fp).setUint32(4, (md.leaveBlocksAllocated ? 1 : 0) | (md.hasParent ? 2 : 0), true);
  values.push({ id: FILE_PARAMETERS, data: fp, flags: IS_REQUIRED });
  const size = new Uint8Array(8);
  setU64(viewOf(size), 0, md.virtualDiskSize, true);
  values.push({ id: VIRTUAL_DISK_SIZE, data: size, flags: IS_VIRTUAL_DISK | IS_REQUIRED });
  values.push({ id: VIRTUAL_DISK_ID, data: md.virtualDiskId, flags: IS_VIRTUAL_DISK | IS_REQUIRED });
  values.push({ id: LOGICAL_SECTOR_SIZE, data: u32(md.logicalSectorSize), flags: IS_VIRTUAL_DISK | IS_REQUIRED });
  values.push({ id: PHYSICAL_SECTOR_SIZE, data: u32(md.physicalSectorSize), flags: IS_VIRTUAL_DISK | IS_REQUIRED });
  if (md.parentLocator !== undefined) values.push({ id: PARENT_LOCATOR, data: serializeParentLocator(md.parentLocator), flags: IS_REQUIRED });
  v.setUint16(10, values.length, true);
  let at = TABLE_SIZE;
  values.forEach((item, i) => {
    const e = 32 + i * 32;
    b.set(item.id, e);
    v.setUint32(e + 16, at, true);
    v.setUint32(e + 20, item.data.length, true);
    v.setUint32(e + 24, item.flags, true);
    b.set(item.data, at);
    at += Math.ceil(item.data.length / 4096) * 4096;
  });
  return b;
}
