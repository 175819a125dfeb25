import { basename } from 'node:path';
import type { BlockDevice } from './block-device.js';
import { ascii } from './byte-fields.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CreateOptions, ImageFormat, OpenContext, ProbeInput } from './image-format.js';
import type { VmdkExtent } from './vmdk.js';
import { VmdkImage } from './vmdk.js';
import type { VmdkDescriptor } from './vmdk-descriptor.js';
import { MAX_DESCRIPTOR_BYTES, parseVmdkDescriptor, serializeVmdkDescriptor, vmdkDdb } from './vmdk-descriptor.js';
import type { VmdkSparseHeader } from './vmdk-header.js';
import {
  COMPRESSION_DEFLATE,
  FLAG_COMPRESSED,
  FLAG_MARKERS,
  FLAG_REDUNDANT_GRAIN_TABLE,
  FLAG_VALID_NEWLINE_TEST,
  GD_AT_END,
  MARKER_FOOTER,
  VMDK_MAGIC,
  VMDK_SECTOR,
  parseVmdkSparseHeader,
  serializeVmdkSparseHeader,
  vmdkGdEntries,
} from './vmdk-header.js';
import { SparseExtent } from './vmdk-sparse.js';

/** More grain directory entries than this (a 64 MiB directory) is not a disk we open. */
const MAX_GD_ENTRIES = 1 << 24;
const DEFAULT_GRAIN_SECTORS = 128;
const GTES_PER_GT = 512;
const DESCRIPTOR_SECTORS = 20;

async function readDirectory(file: HostFile, sector: number, entries: number, fileSize: number, gtBytes: number, what: string): Promise<Uint32Array> {
  const at = sector * VMDK_SECTOR;
  if (at < VMDK_SECTOR || at + entries * 4 > fileSize) {
    throw new StorageError('CorruptHeader', `${file.path}: VMDK ${what} at offset ${at} (${entries} entries) lies outside the file`);
  }
  const raw = new Uint8Array(entries * 4);
  await readExact(file, at, raw, `VMDK ${what}`);
  const v = new DataView(raw.buffer);
  const gd = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) {
    const e = v.getUint32(i * 4, true);
    if (e !== 0 && (e * VMDK_SECTOR < VMDK_SECTOR || e * VMDK_SECTOR + gtBytes > fileSize)) {
      throw new StorageError('CorruptTable', `${file.path}: VMDK ${what} entry ${i} (at offset ${at + i * 4}) points to sector ${e}, outside the file`);
    }
    gd[i] = e;
  }
  return gd;
}

/** Open the sparse extent in `file` whose header is `header` (read from offset 0). */
async function loadSparse(file: HostFile, header: VmdkSparseHeader, readOnly: boolean): Promise<SparseExtent> {
  const fileSize = await file.size();
  let effective = header;
  if (header.gdOffset === GD_AT_END) {
    // Stream-optimized: the footer (a copy of the header with the real directory offset) sits
    // before the end-of-stream marker, after a footer marker.
    if (fileSize < 4 * VMDK_SECTOR) throw new StorageError('Truncated', `${file.path}: stream-optimized VMDK has no room for its footer`);
    const tail = new Uint8Array(3 * VMDK_SECTOR);
    await readExact(file, fileSize - tail.length, tail, 'VMDK footer');
    const marker = new DataView(tail.buffer);
    if (marker.getUint32(8, true) !== 0 || marker.getUint32(12, true) !== MARKER_FOOTER) {
      throw new StorageError('CorruptHeader', `${file.path}: VMDK footer marker expected at offset ${fileSize - tail.length}`);
    }
    effective = parseVmdkSparseHeader(tail.subarray(VMDK_SECTOR, 2 * VMDK_SECTOR), fileSize - 2 * VMDK_SECTOR);
    if (effective.gdOffset === GD_AT_END) throw new StorageError('CorruptHeader', `${file.path}: VMDK footer at offset ${fileSize - 2 * VMDK_SECTOR} does not give the grain directory`);
    if (effective.capacity !== header.capacity || effective.grainSize !== header.grainSize) {
      throw new StorageError('CorruptHeader', `${file.path}: VMDK footer disagrees with the header on capacity or grain size`);
    }
  }
  const entries = vmdkGdEntries(effective);
  if (entries > MAX_GD_ENTRIES) throw new StorageError('Unsupported', `${file.path}: VMDK grain directory of ${entries} entries is larger than supported`);
  const gtBytes = effective.numGTEsPerGT * 4;
  const gdSector = effective.gdOffset as number;
  const gd = await readDirectory(file, gdSector, entries, fileSize, gtBytes, 'grain directory');
  let rgd: Uint32Array | undefined;
  const compressed = (effective.flags & FLAG_COMPRESSED) !== 0;
  if ((effective.flags & FLAG_REDUNDANT_GRAIN_TABLE) !== 0 && effective.rgdOffset !== 0 && !compressed) {
    rgd = await readDirectory(file, effective.rgdOffset, entries, fileSize, gtBytes, 'redundant grain directory');
  }
  let streamWriter: { header: VmdkSparseHeader; dataStart: number } | undefined;
  if (compressed && !readOnly) {
    if (header.gdOffset !== GD_AT_END || gd.some((e) => e !== 0)) {
      throw new StorageError('Unsupported', `${file.path}: a stream-optimized VMDK that holds data can only be opened read-only`);
    }
    streamWriter = { header: effective, dataStart: effective.overHead * VMDK_SECTOR };
    if (streamWriter.dataStart < VMDK_SECTOR || streamWriter.dataStart > fileSize) {
      throw new StorageError('CorruptHeader', `${file.path}: VMDK overhead of ${effective.overHead} sectors lies outside the file`);
    }
  }
  return new SparseExtent({ file, header: effective, gdSector, gd, rgd, fileSize, readOnly, streamWriter });
}

async function readEmbeddedDescriptor(file: HostFile, header: VmdkSparseHeader, fileSize: number): Promise<VmdkDescriptor> {
  const at = header.descriptorOffset * VMDK_SECTOR;
  const bytes = header.descriptorSize * VMDK_SECTOR;
  if (header.descriptorOffset === 0 || bytes === 0) throw new StorageError('CorruptHeader', `${file.path}: VMDK sparse header at offset 0 has no embedded descriptor`);
  if (bytes > MAX_DESCRIPTOR_BYTES || at + bytes > fileSize) {
    throw new StorageError('CorruptHeader', `${file.path}: VMDK descriptor at offset ${at} (${bytes} bytes) is too large or lies outside the file`);
  }
  const raw = new Uint8Array(bytes);
  await readExact(file, at, raw, 'VMDK descriptor');
  const end = raw.indexOf(0);
  return parseVmdkDescriptor(new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end)), file.path, at);
}

async function openVmdk(file: HostFile, context: OpenContext): Promise<VmdkImage> {
  const fileSize = await file.size();
  const head = new Uint8Array(Math.min(VMDK_SECTOR, fileSize));
  await readExact(file, 0, head, 'VMDK header');
  const extents: VmdkExtent[] = [];
  const extraFiles: HostFile[] = [];
  let descriptor: VmdkDescriptor;
  try {
    if (head.length >= 4 && ascii(head, 0, 4) === VMDK_MAGIC) {
      const header = parseVmdkSparseHeader(head, 0);
      descriptor = await readEmbeddedDescriptor(file, header, fileSize);
      if (descriptor.extents.length !== 1 || descriptor.extents[0].type !== 'SPARSE') {
        throw new StorageError('Unsupported', `${file.path}: a monolithic sparse VMDK must describe exactly one sparse extent`);
      }
      const line = descriptor.extents[0];
      if (line.sectors > header.capacity) throw new StorageError('CorruptHeader', `${file.path}: VMDK extent of ${line.sectors} sectors is larger than its capacity (${header.capacity})`);
      const sparse = await loadSparse(file, header, context.readOnly);
      extents.push({ kind: 'sparse', start: 0, length: line.sectors * VMDK_SECTOR, sparse, readOnly: line.access !== 'RW' });
    } else {
      if (fileSize > MAX_DESCRIPTOR_BYTES) throw new StorageError('CorruptHeader', `${file.path}: not a VMDK sparse extent, and too large (${fileSize} bytes) for a descriptor`);
      const raw = new Uint8Array(fileSize);
      await readExact(file, 0, raw, 'VMDK descriptor');
      descriptor = parseVmdkDescriptor(new TextDecoder().decode(raw), file.path, 0);
      let start = 0;
      for (const line of descriptor.extents) {
        const length = line.sectors * VMDK_SECTOR;
        const ro = context.readOnly || line.access !== 'RW';
        if (line.type === 'ZERO') {
          extents.push({ kind: 'zero', start, length, readOnly: true });
        } else if (line.type === 'FLAT' || line.type === 'VMFS') {
          const f = await context.openFile(line.fileName, { readOnly: ro });
          extraFiles.push(f);
          const need = (line.offset + line.sectors) * VMDK_SECTOR;
          if ((await f.size()) < need) throw new StorageError('Truncated', `${f.path}: VMDK flat extent needs ${need} bytes, the file is shorter`);
          extents.push({ kind: 'flat', start, length, file: f, fileOffset: line.offset * VMDK_SECTOR, readOnly: ro });
        } else if (line.type === 'SPARSE') {
          const f = await context.openFile(line.fileName, { readOnly: ro });
          extraFiles.push(f);
          const h = new Uint8Array(VMDK_SECTOR);
          await readExact(f, 0, h, 'VMDK sparse extent header');
          const header = parseVmdkSparseHeader(h, 0);
          if (line.sectors > header.capacity) throw new StorageError('CorruptHeader', `${f.path}: VMDK extent of ${line.sectors} sectors is larger than its capacity (${header.capacity})`);
          extents.push({ kind: 'sparse', start, length, sparse: await loadSparse(f, header, ro), readOnly: ro });
        } else {
          throw new StorageError('Unsupported', `${file.path}: VMDK extent type ${line.type} is not supported`);
        }
        start += length;
      }
    }
    let parent: BlockDevice | undefined;
    if (descriptor.parentFileNameHint !== undefined) parent = await context.openBacking(descriptor.parentFileNameHint, undefined);
    const parentCid = async (name: string): Promise<number> => {
      const p = await openVmdk(await context.openFile(name, { readOnly: true }), { ...context, readOnly: true, path: name, openBacking: async () => undefined }).catch((err: unknown) => {
        throw new StorageError('BackingChain', `${name} is not a VMDK, which a VMDK's backing file must be`, { cause: err });
      });
      const cid = p.descriptor.cid;
      await p.close();
      return cid;
    };
    return new VmdkImage({ file, descriptor, extents, extraFiles, readOnly: context.readOnly, parent, parentCid });
  } catch (err) {
    for (const f of extraFiles) await f.close().catch(() => undefined);
    throw err;
  }
}

function sparseHeader(capacity: number, stream: boolean): VmdkSparseHeader {
  const gdEntries = vmdkGdEntries({ capacity, grainSize: DEFAULT_GRAIN_SECTORS, numGTEsPerGT: GTES_PER_GT });
  const gdSectors = Math.ceil((gdEntries * 4) / VMDK_SECTOR);
  const gtSectors = (GTES_PER_GT * 4) / VMDK_SECTOR;
  const descEnd = 1 + DESCRIPTOR_SECTORS;
  if (stream) {
    return {
      version: 3, flags: FLAG_VALID_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS, capacity, grainSize: DEFAULT_GRAIN_SECTORS,
      descriptorOffset: 1, descriptorSize: DESCRIPTOR_SECTORS, numGTEsPerGT: GTES_PER_GT, rgdOffset: 0, gdOffset: GD_AT_END,
      overHead: Math.ceil(descEnd / DEFAULT_GRAIN_SECTORS) * DEFAULT_GRAIN_SECTORS, uncleanShutdown: false, compressAlgorithm: COMPRESSION_DEFLATE,
    };
  }
  // qemu's layout: descriptor, redundant directory and tables, directory and tables, then grains.
  const rgdOffset = descEnd;
  const gdOffset = rgdOffset + gdSectors + gdEntries * gtSectors;
  const end = gdOffset + gdSectors + gdEntries * gtSectors;
  return {
    version: 1, flags: FLAG_VALID_NEWLINE_TEST | FLAG_REDUNDANT_GRAIN_TABLE, capacity, grainSize: DEFAULT_GRAIN_SECTORS,
    descriptorOffset: 1, descriptorSize: DESCRIPTOR_SECTORS, numGTEsPerGT: GTES_PER_GT, rgdOffset, gdOffset,
    overHead: Math.ceil(end / DEFAULT_GRAIN_SECTORS) * DEFAULT_GRAIN_SECTORS, uncleanShutdown: false, compressAlgorithm: 0,
  };
}

function descriptorSector(d: VmdkDescriptor): Uint8Array {
  const text = new TextEncoder().encode(serializeVmdkDescriptor(d));
  if (text.length > DESCRIPTOR_SECTORS * VMDK_SECTOR) throw new StorageError('InvalidArgument', 'VMDK descriptor does not fit in its 20 sectors (file names too long?)');
  const out = new Uint8Array(DESCRIPTOR_SECTORS * VMDK_SECTOR);
  out.set(text);
  return out;
}

async function createVmdk(file: HostFile, options: CreateOptions): Promise<void> {
  const o = options.options;
  const subformat = o.subformat ?? 'monolithicSparse';
  const capacity = Math.ceil(options.size / VMDK_SECTOR);
  const adapter = o.adapter_type ?? 'ide';
  if (!['ide', 'lsilogic', 'buslogic', 'legacyESX'].includes(adapter)) throw new StorageError('InvalidArgument', `VMDK adapter type '${adapter}' is not ide, lsilogic, buslogic or legacyESX`);
  if (options.backingFile !== undefined && subformat !== 'monolithicSparse') throw new StorageError('Unsupported', `a VMDK with a backing file must be monolithicSparse, not ${subformat}`);
  if (options.backingFormat !== undefined && options.backingFormat !== 'vmdk') throw new StorageError('Unsupported', `the backing file of a VMDK must be a VMDK, not ${options.backingFormat}`);
  const cid = (Math.random() * 0xffff_fffe) >>> 0;
  const name = basename(options.path);
  const ddb = vmdkDdb(capacity, adapter);
  if (subformat === 'monolithicFlat') {
    const flatName = `${name.replace(/\.vmdk$/i, '')}-flat.vmdk`;
    const flat = await options.openFile(flatName, { readOnly: false, create: true });
    try {
      await flat.truncate(capacity * VMDK_SECTOR);
      await flat.flush();
    } finally {
      await flat.close();
    }
    const d: VmdkDescriptor = { createType: 'monolithicFlat', cid, parentCid: 0xffff_ffff, extents: [{ access: 'RW', sectors: capacity, type: 'FLAT', fileName: flatName, offset: 0 }], ddb };
    await file.write(0, new TextEncoder().encode(serializeVmdkDescriptor(d)));
    return;
  }
  if (subformat !== 'monolithicSparse' && subformat !== 'streamOptimized') {
    throw new StorageError('Unsupported', `VMDK subformat '${subformat}' is not supported (monolithicSparse, monolithicFlat, streamOptimized)`);
  }
  const stream = subformat === 'streamOptimized';
  const header = sparseHeader(capacity, stream);
  let parentCid = 0xffff_ffff;
  if (options.backingFile !== undefined) {
    const parent = await openVmdk(await options.openFile(options.backingFile, { readOnly: true }), {
      readOnly: true, path: options.backingFile, openFile: (n, x) => options.openFile(n, x), openBacking: async () => undefined,
    }).catch((err: unknown) => {
      throw new StorageError('BackingChain', `the backing file of a VMDK must be a VMDK; ${options.backingFile} is not one`, { cause: err });
    });
    parentCid = parent.descriptor.cid;
    await parent.close();
  }
  const d: VmdkDescriptor = {
    createType: subformat, cid, parentCid, extents: [{ access: 'RW', sectors: capacity, type: 'SPARSE', fileName: name, offset: 0 }], ddb,
    ...(options.backingFile !== undefined ? { parentFileNameHint: options.backingFile } : {}),
  };
  await file.write(0, serializeVmdkSparseHeader(header));
  await file.write(VMDK_SECTOR, descriptorSector(d));
  if (stream) {
    await file.truncate(header.overHead * VMDK_SECTOR);
    const writer = new SparseExtent({
      file, header, gdSector: 0, gd: new Uint32Array(vmdkGdEntries(header)), fileSize: header.overHead * VMDK_SECTOR, readOnly: false,
      streamWriter: { header, dataStart: header.overHead * VMDK_SECTOR },
    });
    await writer.finish();
    return;
  }
  const gdEntries = vmdkGdEntries(header);
  const gdSectors = Math.ceil((gdEntries * 4) / VMDK_SECTOR);
  const gtSectors = (GTES_PER_GT * 4) / VMDK_SECTOR;
  for (const dirSector of [header.rgdOffset, header.gdOffset as number]) {
    const dir = new Uint8Array(gdSectors * VMDK_SECTOR);
    const v = new DataView(dir.buffer);
    for (let i = 0; i < gdEntries; i++) v.setUint32(i * 4, dirSector + gdSectors + i * gtSectors, true);
    await file.write(dirSector * VMDK_SECTOR, dir);
  }
  await file.truncate(header.overHead * VMDK_SECTOR);
}

/** qemu-img's `vmdk` format: VMware Virtual Disk (monolithic sparse and flat; stream-optimized). */
export const vmdkFormat: ImageFormat = {
  name: 'vmdk',
  createOptions: ['subformat', 'adapter_type'],
  probe(input: ProbeInput): number {
    if (input.head.length >= 4 && ascii(input.head, 0, 4) === VMDK_MAGIC) return 100;
    const text = ascii(input.head, 0, Math.min(input.head.length, 64));
    if (text.startsWith('# Disk DescriptorFile') && input.fileSize <= MAX_DESCRIPTOR_BYTES) return 100;
    return 0;
  },
  open: openVmdk,
  create: createVmdk,
};
