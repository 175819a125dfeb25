import { basename, dirname, resolve } from 'node:path';
import type { BlockDevice } from './block-device.js';
import { ascii } from './byte-fields.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CreateOptions, ImageFormat, OpenContext, ProbeInput } from './image-format.js';
import { guidEquals } from './guid.js';
import { VHD_BAT_UNUSED, VhdImage } from './vhd.js';
import type { VhdFooter } from './vhd-footer.js';
import {
  VHD_FOOTER_COOKIE,
  VHD_FOOTER_SIZE,
  VHD_TYPE_DIFFERENCING,
  VHD_TYPE_DYNAMIC,
  VHD_TYPE_FIXED,
  newVhdFooter,
  parseVhdFooter,
  serializeVhdFooter,
} from './vhd-footer.js';
import { vhdGeometry, vhdSizeForCreate, vhdVirtualSize } from './vhd-geometry.js';

export { vhdVirtualSize };
import type { VhdParentLocator } from './vhd-header.js';
import {
  VHD_DEFAULT_BLOCK_SIZE,
  VHD_HEADER_SIZE,
  VHD_PLATFORM_W2KU,
  VHD_PLATFORM_W2RU,
  parseVhdDynamicHeader,
  serializeVhdDynamicHeader,
} from './vhd-header.js';
import { vhdLocatorData, vhdParentCandidates } from './vhd-parent.js';

const SECTOR = 512;
/** The largest disk the spec allows: 2040 GiB (qemu's limit too). */
export const VHD_MAX_SIZE = 0xff00_0000 * SECTOR;
/** More BAT entries than this (64 MiB of table) is not a disk we open. */
const MAX_BAT_ENTRIES = 1 << 24;
function isFooter(bytes: Uint8Array): boolean {
  if (bytes.length < VHD_FOOTER_SIZE || ascii(bytes, 0, 8) !== VHD_FOOTER_COOKIE) return false;
  try {
    parseVhdFooter(bytes, 0);
    return true;
  } catch {
    return false;
  }
}

async function readFooter(file: HostFile, fileSize: number, readOnly: boolean): Promise<VhdFooter> {
  if (fileSize < VHD_FOOTER_SIZE) throw new StorageError('Truncated', `${file.path}: ${fileSize} bytes cannot hold a VHD footer`);
  const tail = new Uint8Array(VHD_FOOTER_SIZE);
  const at = fileSize - VHD_FOOTER_SIZE;
  await readExact(file, at, tail, 'VHD footer');
  try {
    return parseVhdFooter(tail, at);
  } catch (err) {
    // The spec keeps a copy at offset 0 of dynamic disks precisely to survive a damaged footer.
    const head = new Uint8Array(VHD_FOOTER_SIZE);
    await readExact(file, 0, head, 'VHD footer copy');
    let copy: VhdFooter;
    try {
      copy = parseVhdFooter(head, 0);
    } catch {
      throw err instanceof StorageError ? new StorageError(err.code, `${file.path}: ${err.message}`, { cause: err }) : err;
    }
    if (copy.diskType === VHD_TYPE_FIXED) throw err;
    if (!readOnly) {
      throw new StorageError('CorruptHeader', `${file.path}: the VHD footer at offset ${at} is damaged (the copy at offset 0 is intact); open read-only to recover the data`, { cause: err });
    }
    return copy;
  }
}

function readBat(raw: Uint8Array, count: number): Uint32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const bat = new Uint32Array(count);
  for (let i = 0; i < count; i++) bat[i] = view.getUint32(i * 4);
  return bat;
}

/** Every mapped block must lie inside the file, after the metadata, and no two may overlap. */
function validateBat(path: string, bat: Uint32Array, blockBytes: number, metadataEnd: number, footerOffset: number, tableOffset: number): void {
  const starts: number[] = [];
  for (let i = 0; i < bat.length; i++) {
    if (bat[i] === VHD_BAT_UNUSED) continue;
    const start = bat[i] * SECTOR;
    if (start < metadataEnd || start + blockBytes > footerOffset) {
      throw new StorageError('CorruptTable', `${path}: VHD BAT entry ${i} (at offset ${tableOffset + i * 4}) maps block to offset ${start}, outside the data area [${metadataEnd}, ${footerOffset})`);
    }
    starts.push(start);
  }
  starts.sort((a, b) => a - b);
  for (let i = 1; i < starts.length; i++) {
    if (starts[i] - starts[i - 1] < blockBytes) {
      throw new StorageError('CorruptTable', `${path}: VHD BAT maps two blocks that overlap at offsets ${starts[i - 1]} and ${starts[i]}`);
    }
  }
}

async function openVhd(file: HostFile, context: OpenContext): Promise<VhdImage> {
  const fileSize = await file.size();
  const footer = await readFooter(file, fileSize, context.readOnly);
  const size = vhdVirtualSize(footer);
  const footerOffset = fileSize - VHD_FOOTER_SIZE;
  if (footer.diskType === VHD_TYPE_FIXED) {
    if (size > footerOffset) {
      throw new StorageError('Truncated', `${file.path}: fixed VHD of ${size} bytes needs a ${size + VHD_FOOTER_SIZE}-byte file, found ${fileSize}`);
    }
    return new VhdImage({ file, footer, size, readOnly: context.readOnly, footerOffset });
  }
  const headerAt = footer.dataOffset!;
  if (headerAt + VHD_HEADER_SIZE > fileSize) {
    throw new StorageError('Truncated', `${file.path}: VHD dynamic header at offset ${headerAt} lies past the end of the file (${fileSize} bytes)`);
  }
  const rawHeader = new Uint8Array(VHD_HEADER_SIZE);
  await readExact(file, headerAt, rawHeader, 'VHD dynamic header');
  const header = parseVhdDynamicHeader(rawHeader, headerAt, fileSize);
  const needed = Math.ceil(size / header.blockSize);
  if (needed > MAX_BAT_ENTRIES) throw new StorageError('Unsupported', `${file.path}: VHD of ${needed} blocks is larger than supported (${MAX_BAT_ENTRIES})`);
  if (header.maxTableEntries < needed) {
    throw new StorageError('CorruptHeader', `${file.path}: VHD dynamic header at offset ${headerAt}: ${header.maxTableEntries} BAT entries cannot map ${size} bytes in ${header.blockSize}-byte blocks`);
  }
  const rawBat = new Uint8Array(needed * 4);
  await readExact(file, header.tableOffset, rawBat, 'VHD block allocation table');
  const bat = readBat(rawBat, needed);
  const bitmapBytes = Math.ceil(header.blockSize / SECTOR / 8 / SECTOR) * SECTOR;
  const metadataEnd = Math.max(headerAt + VHD_HEADER_SIZE, header.tableOffset + Math.ceil((header.maxTableEntries * 4) / SECTOR) * SECTOR);
  validateBat(file.path, bat, bitmapBytes + header.blockSize, metadataEnd, footerOffset, header.tableOffset);

  let parent: BlockDevice | undefined;
  let parentName: string | undefined;
  if (footer.diskType === VHD_TYPE_DIFFERENCING) {
    const candidates = await vhdParentCandidates(file, header, fileSize);
    if (candidates.length === 0) throw new StorageError('BackingChain', `${file.path}: differencing VHD names no parent (no usable parent locator)`);
    let lastError: unknown;
    for (const name of candidates) {
      try {
        parent = await context.openBacking(name, 'vpc');
        parentName = name;
        break;
      } catch (err) {
        lastError = err;
      }
    }
    if (parentName === undefined) {
      throw new StorageError('BackingChain', `${file.path}: cannot open the parent of this differencing VHD (tried ${candidates.join(', ')})`, { cause: lastError });
    }
    if (parent instanceof VhdImage && !guidEquals(parent.footer.uniqueId, header.parentUniqueId)) {
      await parent.close();
      throw new StorageError('BackingChain', `${file.path}: parent ${parentName} is not the disk this differencing VHD was made from (unique id differs)`);
    }
  }
  return new VhdImage({ file, footer, size, readOnly: context.readOnly, header, bat, footerOffset, parent, parentName });
}

function parseSubformat(value: string | undefined, differencing: boolean): number {
  if (differencing) {
    if (value !== undefined && value !== 'dynamic') throw new StorageError('InvalidArgument', `a VHD with a backing file is differencing; subformat '${value}' does not apply`);
    return VHD_TYPE_DIFFERENCING;
  }
  if (value === undefined || value === 'dynamic') return VHD_TYPE_DYNAMIC;
  if (value === 'fixed') return VHD_TYPE_FIXED;
  throw new StorageError('InvalidArgument', `VHD subformat '${value}' is not 'dynamic' or 'fixed'`);
}

function parseBool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === 'off' || value === 'false') return false;
  if (value === 'on' || value === 'true') return true;
  throw new StorageError('InvalidArgument', `option ${name}=${value}: expected on or off`);
}

async function parentFooter(options: CreateOptions): Promise<VhdFooter> {
  const pf = await options.openFile(options.backingFile!, { readOnly: true });
  try {
    const footer = await readFooter(pf, await pf.size(), true);
    return footer;
  } catch (err) {
    throw new StorageError('BackingChain', `the parent of a differencing VHD must be a VHD; ${options.backingFile} is not one`, { cause: err });
  } finally {
    await pf.close();
  }
}

async function createVhd(file: HostFile, options: CreateOptions): Promise<void> {
  const differencing = options.backingFile !== undefined;
  if (differencing && options.backingFormat !== undefined && options.backingFormat !== 'vpc') {
    throw new StorageError('Unsupported', `the parent of a differencing VHD must be a VHD, not ${options.backingFormat}`);
  }
  const diskType = parseSubformat(options.options.subformat, differencing);
  const forceSize = parseBool('force_size', options.options.force_size);
  const parent = differencing ? await parentFooter(options) : undefined;
  let size: number;
  let geometry;
  if (parent !== undefined) {
    size = vhdVirtualSize(parent);
    geometry = parent.geometry;
  } else if (forceSize) {
    size = Math.ceil(options.size / SECTOR) * SECTOR;
    geometry = vhdGeometry(size / SECTOR);
  } else {
    ({ size, geometry } = vhdSizeForCreate(Math.ceil(options.size / SECTOR) * SECTOR));
  }
  if (size > VHD_MAX_SIZE) throw new StorageError('InvalidArgument', `a VHD holds at most ${VHD_MAX_SIZE} bytes; ${size} requested`);

  if (diskType === VHD_TYPE_FIXED) {
    const footer = newVhdFooter({ diskType: VHD_TYPE_FIXED, size, geometry, dataOffset: undefined });
    if (forceSize) footer.creatorApp = 'qem2';
    await file.truncate(size);
    await file.write(size, serializeVhdFooter(footer));
    return;
  }
  const blockSize = VHD_DEFAULT_BLOCK_SIZE;
  const entries = Math.ceil(size / blockSize);
  const tableOffset = VHD_FOOTER_SIZE + VHD_HEADER_SIZE;
  const batBytes = Math.ceil((entries * 4) / SECTOR) * SECTOR;
  let end = tableOffset + batBytes;
  const locators: VhdParentLocator[] = [];
  const locatorData: { at: number; data: Uint8Array }[] = [];
  if (differencing) {
    const name = options.backingFile!;
    const { relative, absolute } = vhdLocatorData(name, resolve(dirname(options.path), name));
    for (const [platformCode, data] of [[VHD_PLATFORM_W2RU, relative], [VHD_PLATFORM_W2KU, absolute]] as const) {
      const space = Math.ceil(data.length / SECTOR) * SECTOR;
      locators.push({ platformCode, dataSpace: space / SECTOR, dataLength: data.length, dataOffset: end });
      locatorData.push({ at: end, data });
      end += space;
    }
  }
  const footer = newVhdFooter({ diskType: diskType as 3 | 4, size, geometry, dataOffset: VHD_FOOTER_SIZE });
  if (forceSize) footer.creatorApp = 'qem2';
  const header = serializeVhdDynamicHeader({
    tableOffset,
    maxTableEntries: entries,
    blockSize,
    parentUniqueId: parent?.uniqueId ?? new Uint8Array(16),
    parentTimestamp: parent?.timestamp ?? 0,
    parentName: differencing ? basename(options.backingFile!) : '',
    locators,
  });
  const rawFooter = serializeVhdFooter(footer);
  await file.write(0, rawFooter);
  await file.write(VHD_FOOTER_SIZE, header);
  await file.write(tableOffset, new Uint8Array(batBytes).fill(0xff));
  for (const l of locatorData) await file.write(l.at, l.data);
  await file.write(end, rawFooter);
}

/** qemu-img's `vpc` format: Microsoft Virtual Hard Disk (VHD). */
export const vhdFormat: ImageFormat = {
  name: 'vpc',
  createOptions: ['subformat', 'force_size'],
  probe(input: ProbeInput): number {
    if (isFooter(input.head)) return 100;
    if (input.tail.length >= VHD_FOOTER_SIZE && isFooter(input.tail.subarray(input.tail.length - VHD_FOOTER_SIZE))) return 100;
    return 0;
  },
  open: openVhd,
  create: createVhd,
};

