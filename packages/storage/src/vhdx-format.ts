import { dirname, relative, resolve } from 'node:path';
import type { BlockDevice } from './block-device.js';
import { ascii } from './byte-fields.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CreateOptions, ImageFormat, OpenContext, ProbeInput } from './image-format.js';
import { guidConstant, guidEquals, guidFromString, guidIsZero, guidToString, randomGuid } from './guid.js';
import { PatchedFile } from './patched-file.js';
import type { VhdxHeader, VhdxRegion } from './vhdx-header.js';
import {
  BAT_REGION_GUID,
  METADATA_REGION_GUID,
  MiB,
  VHDX_HEADER_OFFSETS,
  VHDX_HEADER_SECTION_SIZE,
  VHDX_HEADER_SIZE,
  VHDX_IDENTIFIER_SIGNATURE,
  VHDX_REGION_TABLE_OFFSETS,
  VHDX_REGION_TABLE_SIZE,
  chooseVhdxHeader,
  parseVhdxRegionTable,
  serializeVhdxHeader,
  serializeVhdxIdentifier,
  serializeVhdxRegionTable,
} from './vhdx-header.js';
import { LOG_SECTOR, findVhdxLogReplay } from './vhdx-log.js';
import type { VhdxMetadata } from './vhdx-metadata.js';
import { VHDX_MAX_SIZE, parseVhdxMetadata, serializeVhdxMetadata } from './vhdx-metadata.js';
import {
  PAYLOAD_FULLY_PRESENT,
  PAYLOAD_NOT_PRESENT,
  PAYLOAD_PARTIALLY_PRESENT,
  PAYLOAD_UNDEFINED,
  PAYLOAD_UNMAPPED,
  PAYLOAD_ZERO,
  SB_NOT_PRESENT,
  SB_PRESENT,
  VhdxImage,
  vhdxBatLayout,
} from './vhdx.js';

const BAT_GUID = guidConstant(BAT_REGION_GUID);
const METADATA_GUID = guidConstant(METADATA_REGION_GUID);
/** A log longer than this is not one we hold in memory to replay. */
const MAX_LOG_BYTES = 256 * MiB;
const MAX_METADATA_BYTES = 64 * MiB;
/** Entries beyond this (a 512 MiB table) are more than we map. */
const MAX_BAT_ENTRIES = 64 * 1024 * 1024;
const PAYLOAD_STATES = new Set([PAYLOAD_NOT_PRESENT, PAYLOAD_UNDEFINED, PAYLOAD_ZERO, PAYLOAD_UNMAPPED, PAYLOAD_FULLY_PRESENT, PAYLOAD_PARTIALLY_PRESENT]);

async function readRegion(file: HostFile, offset: number, length: number, what: string): Promise<Uint8Array> {
  const b = new Uint8Array(length);
  await readExact(file, offset, b, what);
  return b;
}

function regionTable(copies: Uint8Array[], fileSize: number): VhdxRegion[] {
  let firstError: unknown;
  for (let i = 0; i < copies.length; i++) {
    try {
      return parseVhdxRegionTable(copies[i], VHDX_REGION_TABLE_OFFSETS[i], fileSize);
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

function region(regions: VhdxRegion[], guid: Uint8Array, name: string, path: string): VhdxRegion {
  const r = regions.find((x) => guidEquals(x.guid, guid));
  if (r === undefined) throw new StorageError('CorruptHeader', `${path}: VHDX region table has no ${name} region`);
  return r;
}

/** Validate every BAT entry: known states, blocks inside the file, clear of the metadata and of each other. */
function validateBat(path: string, view: DataView, batOffset: number, md: VhdxMetadata, fileSize: number, reserved: [number, number][]): number {
  const layout = vhdxBatLayout(md);
  const used: [number, number, number][] = reserved.map(([a, b]) => [a, b, -1]);
  let end = VHDX_HEADER_SECTION_SIZE;
  for (const [a, b] of reserved) end = Math.max(end, a + b);
  for (let i = 0; i < layout.totalEntries; i++) {
    const lo = view.getUint32(i * 8, true);
    const hi = view.getUint32(i * 8 + 4, true);
    const state = lo & 7;
    const isBitmap = i % (layout.chunkRatio + 1) === layout.chunkRatio;
    const where = `${path}: VHDX BAT entry ${i} at offset ${batOffset + i * 8}`;
    if (isBitmap ? state !== SB_NOT_PRESENT && state !== SB_PRESENT : !PAYLOAD_STATES.has(state)) {
      throw new StorageError('CorruptTable', `${where}: state ${state} is not valid for a ${isBitmap ? 'sector bitmap' : 'payload'} block`);
    }
    if (state === PAYLOAD_PARTIALLY_PRESENT && !isBitmap && !md.hasParent) {
      throw new StorageError('CorruptTable', `${where}: a partially present block in a disk without a parent`);
    }
    const mapped = isBitmap ? state === SB_PRESENT : state === PAYLOAD_FULLY_PRESENT || state === PAYLOAD_PARTIALLY_PRESENT;
    if (!mapped) continue;
    const offset = (hi * 4096 + (lo >>> 20)) * MiB;
    const length = isBitmap ? MiB : md.blockSize;
    if (offset < VHDX_HEADER_SECTION_SIZE || offset + length > fileSize) {
      throw new StorageError('CorruptTable', `${where}: block at offset ${offset} (${length} bytes) lies outside the file (${fileSize} bytes)`);
    }
    used.push([offset, length, i]);
    end = Math.max(end, offset + length);
  }
  used.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < used.length; i++) {
    const [pa, pl, pi] = used[i - 1];
    if (used[i][0] < pa + pl) {
      throw new StorageError('CorruptTable', `${path}: VHDX BAT entry ${used[i][2]} maps offset ${used[i][0]}, overlapping ${pi < 0 ? 'the metadata' : `entry ${pi}`}`);
    }
  }
  return end;
}

function parentCandidates(locator: Map<string, string>): string[] {
  const names: string[] = [];
  for (const key of ['relative_path', 'volume_path', 'absolute_win32_path']) {
    const v = locator.get(key);
    if (v === undefined || v.length === 0) continue;
    const name = v.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

async function openVhdx(file: HostFile, context: OpenContext): Promise<VhdxImage> {
  const fileSize = await file.size();
  if (fileSize < VHDX_HEADER_SECTION_SIZE) throw new StorageError('Truncated', `${file.path}: ${fileSize} bytes cannot hold the VHDX header section`);
  const ident = await readRegion(file, 0, 8, 'VHDX file identifier');
  if (ascii(ident, 0, 8) !== VHDX_IDENTIFIER_SIGNATURE) throw new StorageError('CorruptHeader', `${file.path}: VHDX file identifier at offset 0 is not "vhdxfile"`);
  const headers = await Promise.all(VHDX_HEADER_OFFSETS.map((o) => readRegion(file, o, VHDX_HEADER_SIZE, 'VHDX header')));
  const { header, slot } = chooseVhdxHeader(headers, fileSize);
  if (header.logLength > MAX_LOG_BYTES) throw new StorageError('Unsupported', `${file.path}: VHDX log of ${header.logLength} bytes is larger than supported`);

  // Replay into a view first; nothing is written until everything has been validated through it.
  let source: HostFile = file;
  let replay: ReturnType<typeof findVhdxLogReplay>;
  if (!guidIsZero(header.logGuid)) {
    const log = await readRegion(file, header.logOffset, header.logLength, 'VHDX log');
    replay = findVhdxLogReplay(log, header.logGuid, fileSize, header.logOffset);
    if (replay !== undefined) source = new PatchedFile(file, replay.patches, replay.lastFileOffset);
  }
  const viewSize = await source.size();
  const tables = await Promise.all(VHDX_REGION_TABLE_OFFSETS.map((o) => readRegion(source, o, VHDX_REGION_TABLE_SIZE, 'VHDX region table')));
  const regions = regionTable(tables, viewSize);
  for (const r of regions) {
    if (r.required && !guidEquals(r.guid, BAT_GUID) && !guidEquals(r.guid, METADATA_GUID)) {
      throw new StorageError('Unsupported', `${file.path}: VHDX requires region ${guidToString(r.guid)}, which is unknown`);
    }
  }
  const batRegion = region(regions, BAT_GUID, 'BAT', file.path);
  const mdRegion = region(regions, METADATA_GUID, 'metadata', file.path);
  if (mdRegion.length > MAX_METADATA_BYTES) throw new StorageError('Unsupported', `${file.path}: VHDX metadata region of ${mdRegion.length} bytes is larger than supported`);
  const logRange: [number, number] = [header.logOffset, header.logLength];
  for (const r of [batRegion, mdRegion]) {
    if (r.fileOffset < logRange[0] + logRange[1] && logRange[0] < r.fileOffset + r.length) {
      throw new StorageError('CorruptHeader', `${file.path}: VHDX region at offset ${r.fileOffset} overlaps the log`);
    }
  }
  const md = parseVhdxMetadata(await readRegion(source, mdRegion.fileOffset, mdRegion.length, 'VHDX metadata region'), mdRegion.fileOffset);
  const layout = vhdxBatLayout(md);
  if (layout.totalEntries > MAX_BAT_ENTRIES) throw new StorageError('Unsupported', `${file.path}: VHDX BAT of ${layout.totalEntries} entries is larger than supported`);
  const batBytes = Math.ceil((layout.totalEntries * 8) / LOG_SECTOR) * LOG_SECTOR;
  if (batBytes > batRegion.length) {
    throw new StorageError('CorruptHeader', `${file.path}: VHDX BAT region at offset ${batRegion.fileOffset} (${batRegion.length} bytes) cannot hold ${layout.totalEntries} entries`);
  }
  const bat = await readRegion(source, batRegion.fileOffset, batBytes, 'VHDX BAT');
  const reserved: [number, number][] = [logRange, [batRegion.fileOffset, batRegion.length], [mdRegion.fileOffset, mdRegion.length]];
  const end = validateBat(file.path, new DataView(bat.buffer), batRegion.fileOffset, md, viewSize, reserved);

  let parent: BlockDevice | undefined;
  let parentName: string | undefined;
  if (md.hasParent) {
    const locator = md.parentLocator!;
    const candidates = parentCandidates(locator);
    if (candidates.length === 0) throw new StorageError('BackingChain', `${file.path}: differencing VHDX has no parent path in its locator`);
    let lastError: unknown;
    for (const name of candidates) {
      try {
        parent = await context.openBacking(name, 'vhdx');
        parentName = name;
        break;
      } catch (err) {
        lastError = err;
      }
    }
    if (parentName === undefined) throw new StorageError('BackingChain', `${file.path}: cannot open the parent VHDX (tried ${candidates.join(', ')})`, { cause: lastError });
    const linkage = guidFromString(locator.get('parent_linkage') ?? '');
    const linkage2 = guidFromString(locator.get('parent_linkage2') ?? '');
    if (parent instanceof VhdxImage && !(linkage !== undefined && guidEquals(linkage, parent.dataWriteGuid)) && !(linkage2 !== undefined && guidEquals(linkage2, parent.dataWriteGuid))) {
      await parent.close();
      throw new StorageError('BackingChain', `${file.path}: parent ${parentName} has changed since this differencing VHDX was made (parent_linkage differs)`);
    }
  }

  if (replay !== undefined && !context.readOnly) {
    // Everything checked out through the replayed view: now make the replay real.
    for (const p of replay.patches) {
      if (p.kind === 'data') await file.write(p.offset, p.data);
      else await zeroFileRange(file, p.offset, p.length);
    }
    if ((await file.size()) < replay.lastFileOffset) await file.truncate(replay.lastFileOffset);
    await file.flush();
    source = file;
  }
  const image = new VhdxImage({
    file, source, readOnly: context.readOnly, header, headerSlot: slot, metadata: md, metadataOffset: mdRegion.fileOffset,
    batOffset: batRegion.fileOffset, batRegionLength: batRegion.length, bat, layout,
    fileEnd: Math.ceil(Math.max(end, viewSize) / MiB) * MiB, parent, parentName,
  });
  if (replay !== undefined && !context.readOnly) await image.markLogReplayed();
  return image;
}

async function zeroFileRange(file: HostFile, offset: number, length: number): Promise<void> {
  const size = await file.size();
  const inFile = Math.max(0, Math.min(offset + length, size) - offset);
  const zeros = new Uint8Array(Math.min(inFile, MiB));
  for (let done = 0; done < inFile; done += zeros.length) await file.write(offset + done, zeros.subarray(0, Math.min(zeros.length, inFile - done)));
  if (offset + length > size) await file.truncate(offset + length);
}

function sizeOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (m === null) throw new StorageError('InvalidArgument', `option ${name}=${value} is not a size`);
  const unit = { '': 1, k: 1024, m: MiB, g: 1024 * MiB }[m[2].toLowerCase()]!;
  return Number(m[1]) * unit;
}

async function createVhdx(file: HostFile, options: CreateOptions): Promise<void> {
  const o = options.options;
  const subformat = o.subformat ?? 'dynamic';
  if (subformat !== 'dynamic' && subformat !== 'fixed') throw new StorageError('InvalidArgument', `VHDX subformat '${subformat}' is not 'dynamic' or 'fixed'`);
  const differencing = options.backingFile !== undefined;
  if (differencing && subformat === 'fixed') throw new StorageError('InvalidArgument', 'a VHDX with a backing file is differencing, not fixed');
  if (differencing && options.backingFormat !== undefined && options.backingFormat !== 'vhdx') {
    throw new StorageError('Unsupported', `the parent of a differencing VHDX must be a VHDX, not ${options.backingFormat}`);
  }
  const logicalSectorSize = 512;
  const size = Math.ceil(options.size / logicalSectorSize) * logicalSectorSize;
  if (size === 0 || size > VHDX_MAX_SIZE) throw new StorageError('InvalidArgument', `a VHDX holds 1 sector to 64 TiB; ${options.size} bytes requested`);
  const blockSize = sizeOption('block_size', o.block_size, size > 1024 * 1024 * MiB ? 32 * MiB : 8 * MiB);
  if (blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) throw new StorageError('InvalidArgument', `VHDX block size ${blockSize} is not a power of two from 1 MiB to 256 MiB`);
  const logSize = sizeOption('log_size', o.log_size, MiB);
  if (logSize < MiB || logSize % MiB !== 0 || logSize > MAX_LOG_BYTES) throw new StorageError('InvalidArgument', `VHDX log size ${logSize} is not a multiple of 1 MiB up to 256 MiB`);

  let parentLocator: Map<string, string> | undefined;
  if (differencing) {
    const parent = await openVhdx(await options.openFile(options.backingFile!, { readOnly: true }), {
      readOnly: true, path: resolve(dirname(options.path), options.backingFile!), openFile: (name, o) => options.openFile(name, o), openBacking: async () => undefined,
    }).catch((err: unknown) => {
      throw new StorageError('BackingChain', `the parent of a differencing VHDX must be a VHDX; ${options.backingFile} is not one`, { cause: err });
    });
    if (parent.size !== size) {
      await parent.close();
      throw new StorageError('InvalidArgument', `a differencing VHDX has its parent's size (${parent.size}), not ${size}`);
    }
    const abs = resolve(dirname(options.path), options.backingFile!);
    parentLocator = new Map([
      ['parent_linkage', `{${guidToString(parent.dataWriteGuid)}}`],
      ['relative_path', relative(dirname(resolve(options.path)), abs).replace(/\//g, '\\').replace(/^(?!\.\.)/, '.\\')],
      ['absolute_win32_path', abs],
    ]);
    await parent.close();
  }
  const md: VhdxMetadata = {
    blockSize, leaveBlocksAllocated: subformat === 'fixed', hasParent: differencing, virtualDiskSize: size,
    virtualDiskId: randomGuid(), logicalSectorSize, physicalSectorSize: 4096, parentLocator,
  };
  const layout = vhdxBatLayout(md);
  const logOffset = VHDX_HEADER_SECTION_SIZE;
  const mdOffset = logOffset + logSize;
  const mdLength = MiB;
  const batOffset = mdOffset + mdLength;
  const batLength = Math.ceil((layout.totalEntries * 8) / MiB) * MiB;
  const dataStart = batOffset + batLength;
  const bat = new Uint8Array(batLength);
  const bv = new DataView(bat.buffer);
  let end = dataStart;
  if (subformat === 'fixed') {
    for (let b = 0; b < layout.payloadBlocks; b++) {
      const entry = b + Math.floor(b / layout.chunkRatio);
      const mb = end / MiB;
      bv.setUint32(entry * 8, (((mb % 4096) << 20) | PAYLOAD_FULLY_PRESENT) >>> 0, true);
      bv.setUint32(entry * 8 + 4, Math.floor(mb / 4096), true);
      end += blockSize;
    }
  }
  const regions: VhdxRegion[] = [
    { guid: BAT_GUID, fileOffset: batOffset, length: batLength, required: true },
    { guid: METADATA_GUID, fileOffset: mdOffset, length: mdLength, required: true },
  ];
  const header: VhdxHeader = {
    sequenceNumber: 0n, fileWriteGuid: randomGuid(), dataWriteGuid: randomGuid(), logGuid: new Uint8Array(16),
    logVersion: 0, version: 1, logLength: logSize, logOffset,
  };
  await file.write(0, serializeVhdxIdentifier('tsvm'));
  await file.write(VHDX_HEADER_OFFSETS[0], serializeVhdxHeader({ ...header, sequenceNumber: 1n }));
  await file.write(VHDX_HEADER_OFFSETS[1], serializeVhdxHeader({ ...header, sequenceNumber: 2n }));
  const table = serializeVhdxRegionTable(regions);
  await file.write(VHDX_REGION_TABLE_OFFSETS[0], table);
  await file.write(VHDX_REGION_TABLE_OFFSETS[1], table);
  await file.write(mdOffset, serializeVhdxMetadata(md, mdLength));
  await file.write(batOffset, bat);
  await file.truncate(end);
}

/** qemu-img's `vhdx` format: Microsoft Hyper-V Virtual Hard Disk v2 ([MS-VHDX]). */
export const vhdxFormat: ImageFormat = {
  name: 'vhdx',
  createOptions: ['subformat', 'block_size', 'log_size'],
  probe(input: ProbeInput): number {
    return input.head.length >= 8 && ascii(input.head, 0, 8) === VHDX_IDENTIFIER_SIGNATURE ? 100 : 0;
  },
  open: openVhdx,
  create: createVhdx,
};
