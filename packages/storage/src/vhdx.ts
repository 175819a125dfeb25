import type { AllocationExtent, BlockDevice } from './block-device.js';
import { checkRange, coalesceExtents } from './block-device.js';
import { readBacking } from './backing.js';
import { ImageGuard } from './image-guard.js';
import { isAllZero, setU64 } from './byte-fields.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CheckReport, FormatInfo, ImageDevice } from './image-format.js';
import { randomGuid } from './guid.js';
import type { VhdxHeader } from './vhdx-header.js';
import { MiB, VHDX_HEADER_OFFSETS, serializeVhdxHeader } from './vhdx-header.js';
import { LOG_SECTOR, serializeVhdxLogEntry } from './vhdx-log.js';
import type { VhdxMetadata } from './vhdx-metadata.js';
import { VHDX_MAX_SIZE } from './vhdx-metadata.js';

/** [MS-VHDX] 2.5.1.1: payload block states. */
export const PAYLOAD_NOT_PRESENT = 0;
export const PAYLOAD_UNDEFINED = 1;
export const PAYLOAD_ZERO = 2;
export const PAYLOAD_UNMAPPED = 3;
export const PAYLOAD_FULLY_PRESENT = 6;
export const PAYLOAD_PARTIALLY_PRESENT = 7;
/** [MS-VHDX] 2.5.1.2: sector bitmap block states. */
export const SB_NOT_PRESENT = 0;
export const SB_PRESENT = 6;
/** A sector bitmap block is 1 MiB and covers 2^23 sectors. */
const SECTORS_PER_BITMAP = 1 << 23;
const BITMAP_CACHE = 8;

/** The BAT geometry [MS-VHDX] 2.5 derives from the metadata. */
export interface VhdxBatLayout {
  chunkRatio: number;
  payloadBlocks: number;
  bitmapBlocks: number;
  totalEntries: number;
}

export function vhdxBatLayout(md: Pick<VhdxMetadata, 'blockSize' | 'logicalSectorSize' | 'virtualDiskSize' | 'hasParent'>): VhdxBatLayout {
  const chunkRatio = (SECTORS_PER_BITMAP * md.logicalSectorSize) / md.blockSize;
  const payloadBlocks = Math.ceil(md.virtualDiskSize / md.blockSize);
  const bitmapBlocks = Math.ceil(payloadBlocks / chunkRatio);
  const totalEntries = md.hasParent ? bitmapBlocks * (chunkRatio + 1) : payloadBlocks + Math.floor((payloadBlocks - 1) / chunkRatio);
  return { chunkRatio, payloadBlocks, bitmapBlocks, totalEntries };
}

export interface VhdxParts {
  /** The host file (writes go here). */
  file: HostFile;
  /** What reads come from: the file, or a patched view of it when a log was replayed read-only. */
  source: HostFile;
  readOnly: boolean;
  header: VhdxHeader;
  headerSlot: number;
  metadata: VhdxMetadata;
  /** File offset of the metadata region. */
  metadataOffset: number;
  batOffset: number;
  /** Bytes the region table gives the BAT (room to grow into). */
  batRegionLength: number;
  /** The BAT's bytes, rounded up to whole 4 KiB sectors. */
  bat: Uint8Array;
  layout: VhdxBatLayout;
  /** First free 1 MiB-aligned offset after every object in the file. */
  fileEnd: number;
  parent?: BlockDevice;
  parentName?: string;
}

/** Dirty metadata sectors committed together once this many are pending. */
const MAX_DIRTY_SECTORS = 256;

/**
 * A VHDX disk (fixed, dynamic or differencing) as a block device. Every metadata change (BAT entries,
 * sector bitmaps) goes through the log: changed 4 KiB metadata sectors are kept in memory until
 * `flush()` (or until many are pending); then payload data is flushed, a log entry with the new
 * sectors is written and flushed, and the sectors are written in place. A crash loses only writes
 * not yet flushed, never maps a block to data that was not written.
 */
export class VhdxImage implements ImageDevice {
  readonly format = 'vhdx';
  readonly file: HostFile;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly backing: BlockDevice | undefined;
  readonly backingFile: string | undefined;
  readonly backingFormat: string | undefined;
  readonly metadata: VhdxMetadata;
  private header: VhdxHeader;
  private headerSlot: number;
  private readonly source: HostFile;
  private bat: Uint8Array;
  private batView: DataView;
  private readonly batOffset: number;
  private readonly batRegionLength: number;
  private readonly metadataOffset: number;
  private layout: VhdxBatLayout;
  /** Metadata-region sectors changed in memory (a resize), logged with the BAT at the next commit. */
  private readonly metadataSectors = new Map<number, Uint8Array>();
  private readonly blockSize: number;
  private fileEnd: number;
  private readonly bitmaps = new Map<number, Uint8Array>();
  /** File offsets of metadata sectors changed in memory and not yet logged. */
  private readonly dirty = new Set<number>();
  private logHead = 0;
  private logSequence = 1n;
  private writing = false;
  /** A log was replayed into the file on open (`check` reports it as a corruption fixed). */
  private logReplayed = false;
  /** A log is pending and was replayed only in memory (a read-only open). */
  readonly logPending: boolean;
  private readonly guard = new ImageGuard(this, 'VHDX');

  constructor(p: VhdxParts) {
    this.file = p.file;
    this.source = p.source;
    this.readOnly = p.readOnly;
    this.header = p.header;
    this.headerSlot = p.headerSlot;
    this.metadata = p.metadata;
    this.sectorSize = p.metadata.logicalSectorSize;
    this.blockSize = p.metadata.blockSize;
    this.bat = p.bat;
    this.batView = new DataView(p.bat.buffer, p.bat.byteOffset, p.bat.byteLength);
    this.batOffset = p.batOffset;
    this.batRegionLength = p.batRegionLength;
    this.metadataOffset = p.metadataOffset;
    this.layout = p.layout;
    this.fileEnd = p.fileEnd;
    this.backing = p.parent;
    this.backingFile = p.parentName;
    this.backingFormat = p.parentName === undefined ? undefined : 'vhdx';
    this.logPending = p.source !== p.file;
  }

  get size(): number {
    return this.metadata.virtualDiskSize;
  }

  get clusterSize(): number {
    return this.blockSize;
  }

  /** New blocks are holes in the file: any sector can be written alone. */
  get writeUnit(): number {
    return this.sectorSize;
  }

  get dataWriteGuid(): Uint8Array {
    return this.header.dataWriteGuid;
  }

  private payloadEntry(block: number): number {
    return block + Math.floor(block / this.layout.chunkRatio);
  }

  private bitmapEntry(chunk: number): number {
    return chunk * (this.layout.chunkRatio + 1) + this.layout.chunkRatio;
  }

  private state(entry: number): number {
    return this.batView.getUint32(entry * 8, true) & 7;
  }

  private offsetOf(entry: number): number {
    return (this.batView.getUint32(entry * 8 + 4, true) * 4096 + (this.batView.getUint32(entry * 8, true) >>> 20)) * MiB;
  }

  private setEntry(entry: number, state: number, offset: number): void {
    const mb = offset / MiB;
    this.batView.setUint32(entry * 8, (((mb % 4096) << 20) | state) >>> 0, true);
    this.batView.setUint32(entry * 8 + 4, Math.floor(mb / 4096), true);
  }

  private async bitmapOf(chunk: number): Promise<Uint8Array | undefined> {
    const entry = this.bitmapEntry(chunk);
    if (this.state(entry) !== SB_PRESENT) return undefined;
    let bm = this.bitmaps.get(chunk);
    if (bm === undefined) {
      bm = new Uint8Array(MiB);
      await readExact(this.source, this.offsetOf(entry), bm, `VHDX sector bitmap block ${chunk}`);
      if (this.bitmaps.size >= BITMAP_CACHE) await this.evictBitmap();
      this.bitmaps.set(chunk, bm);
    }
    return bm;
  }

  /** Runs of sectors in `[pos, pos + n)` (inside block `block`) whose bitmap bits agree. */
  private async runs(block: number, pos: number, n: number): Promise<{ at: number; length: number; present: boolean }[]> {
    const chunk = Math.floor(block / this.layout.chunkRatio);
    const bm = await this.bitmapOf(chunk);
    if (bm === undefined) {
      throw new StorageError('CorruptTable', `${this.file.path}: VHDX block ${block} is partially present but its sector bitmap block is not`);
    }
    const ss = this.sectorSize;
    const chunkBase = chunk * SECTORS_PER_BITMAP;
    const bit = (sector: number): boolean => {
      const i = sector - chunkBase;
      return ((bm[i >>> 3] >>> (i & 7)) & 1) === 1;
    };
    const out: { at: number; length: number; present: boolean }[] = [];
    const end = pos + n;
    let at = pos;
    while (at < end) {
      const sector = Math.floor(at / ss);
      const present = bit(sector);
      let s = sector + 1;
      while (s * ss < end && bit(s) === present) s++;
      const runEnd = Math.min(end, s * ss);
      out.push({ at, length: runEnd - at, present });
      at = runEnd;
    }
    return out;
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    this.guard.live('read');
    checkRange(this, offset, buffer.length, 'read');
    let done = 0;
    while (done < buffer.length) {
      const pos = offset + done;
      const block = Math.floor(pos / this.blockSize);
      const within = pos - block * this.blockSize;
      const n = Math.min(this.blockSize - within, buffer.length - done);
      const out = buffer.subarray(done, done + n);
      const entry = this.payloadEntry(block);
      const state = this.state(entry);
      if (state === PAYLOAD_FULLY_PRESENT) {
        await readExact(this.source, this.offsetOf(entry) + within, out, `VHDX payload block ${block}`);
      } else if (state === PAYLOAD_PARTIALLY_PRESENT) {
        const base = this.offsetOf(entry) - block * this.blockSize;
        for (const r of await this.runs(block, pos, n)) {
          const slice = out.subarray(r.at - pos, r.at - pos + r.length);
          if (r.present) await readExact(this.source, base + r.at, slice, `VHDX payload block ${block}`);
          else await readBacking(this.backing, r.at, slice);
        }
      } else if (state === PAYLOAD_ZERO || !this.metadata.hasParent) {
        out.fill(0);
      } else {
        await readBacking(this.backing, pos, out);
      }
      done += n;
    }
  }

  /** Drop the oldest cached bitmap, committing first if it holds changes not yet logged. */
  private async evictBitmap(): Promise<void> {
    const oldest = this.bitmaps.keys().next().value!;
    const at = this.offsetOf(this.bitmapEntry(oldest));
    for (const d of this.dirty) {
      if (d >= at && d < at + MiB) {
        await this.commit();
        break;
      }
    }
    this.bitmaps.delete(oldest);
  }

  /** First write since open: new write GUIDs and a log GUID in both headers ([MS-VHDX] 2.2.2.1). */
  private async beginWrite(): Promise<void> {
    if (this.writing) return;
    await this.writeHeaders({ ...this.header, fileWriteGuid: randomGuid(), dataWriteGuid: randomGuid(), logGuid: randomGuid() });
    this.logHead = 0;
    this.logSequence = 1n;
    this.writing = true;
  }

  /** After a replay made real by `open`: the log is applied and flushed, so mark it empty. */
  async markLogReplayed(): Promise<void> {
    this.guard.writable('log replay');
    this.logReplayed = true;
    await this.writeHeaders({ ...this.header, logGuid: new Uint8Array(16) });
  }

  /** Write `h` to the non-current header slot, then to the other, flushing after each. */
  private async writeHeaders(h: VhdxHeader): Promise<void> {
    let seq = this.header.sequenceNumber;
    for (const slot of [1 - this.headerSlot, this.headerSlot]) {
      seq += 1n;
      this.header = { ...h, sequenceNumber: seq };
      await this.file.write(VHDX_HEADER_OFFSETS[slot], serializeVhdxHeader(this.header));
      await this.file.flush();
    }
  }

  /** The current content of the metadata sector at file offset `offset` (BAT or a cached bitmap). */
  private sectorContent(offset: number): Uint8Array {
    const md = this.metadataSectors.get(offset);
    if (md !== undefined) return md;
    if (offset >= this.batOffset && offset < this.batOffset + this.bat.length) {
      const at = offset - this.batOffset;
      return this.bat.slice(at, at + LOG_SECTOR);
    }
    for (const [chunk, bm] of this.bitmaps) {
      const base = this.offsetOf(this.bitmapEntry(chunk));
      if (offset >= base && offset < base + MiB) return bm.slice(offset - base, offset - base + LOG_SECTOR);
    }
    throw new StorageError('InvalidArgument', `${this.file.path}: no cached metadata sector at offset ${offset}`);
  }

  private async markDirty(offsets: number[]): Promise<void> {
    for (const o of offsets) this.dirty.add(o);
    if (this.dirty.size >= MAX_DIRTY_SECTORS) await this.commit();
  }

  /** Log every dirty metadata sector, then write them in place ([MS-VHDX] 2.3). */
  private async commit(): Promise<void> {
    if (this.dirty.size === 0) return;
    const sectors = [...this.dirty].sort((a, b) => a - b).map((offset) => ({ offset, data: this.sectorContent(offset) }));
    // Payload first: a logged BAT entry must never point at data that is not on disk yet.
    await this.file.flush();
    const fileSize = await this.file.size();
    const logLength = this.header.logLength;
    // An entry holds as many sectors as fit in the log with its descriptor sector(s).
    const perEntry = Math.max(1, Math.floor((logLength - LOG_SECTOR) / (LOG_SECTOR + 32)));
    for (let i = 0; i < sectors.length; i += perEntry) {
      const batch = sectors.slice(i, i + perEntry);
      let entry = serializeVhdxLogEntry({ sequence: this.logSequence, logGuid: this.header.logGuid, at: this.logHead, flushedFileOffset: fileSize, lastFileOffset: fileSize, sectors: batch });
      if (this.logHead + entry.length > logLength) {
        this.logHead = 0;
        entry = serializeVhdxLogEntry({ sequence: this.logSequence, logGuid: this.header.logGuid, at: 0, flushedFileOffset: fileSize, lastFileOffset: fileSize, sectors: batch });
      }
      await this.file.write(this.header.logOffset + this.logHead, entry);
      await this.file.flush();
      for (const sct of batch) await this.file.write(sct.offset, sct.data);
      await this.file.flush();
      this.logHead = (this.logHead + entry.length) % logLength;
      this.logSequence += 1n;
    }
    this.dirty.clear();
    this.metadataSectors.clear();
  }

  private batSector(entry: number): number {
    return this.batOffset + Math.floor((entry * 8) / LOG_SECTOR) * LOG_SECTOR;
  }

  /** Reserve `bytes` (a multiple of 1 MiB) at the end of the file; it reads as zeros. */
  private async reserve(bytes: number): Promise<number> {
    const at = this.fileEnd;
    this.fileEnd += bytes;
    await this.file.truncate(this.fileEnd);
    return at;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.guard.change('write', () => this.writeNow(offset, data));
  }

  private async writeNow(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length, 'write');
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const block = Math.floor(pos / this.blockSize);
      const within = pos - block * this.blockSize;
      const n = Math.min(this.blockSize - within, data.length - done);
      await this.writeInBlock(block, pos, data.subarray(done, done + n));
      done += n;
    }
  }

  private async writeInBlock(block: number, pos: number, piece: Uint8Array): Promise<void> {
    const entry = this.payloadEntry(block);
    const state = this.state(entry);
    const blockBase = block * this.blockSize;
    if (state === PAYLOAD_FULLY_PRESENT) {
      await this.beginWrite();
      await this.file.write(this.offsetOf(entry) + (pos - blockBase), piece);
      return;
    }
    const readsParent = this.metadata.hasParent && state !== PAYLOAD_ZERO;
    if (state !== PAYLOAD_PARTIALLY_PRESENT && !readsParent && isAllZero(piece)) return;
    await this.beginWrite();
    const whole = piece.length === this.blockSize || pos + piece.length === this.size && pos === blockBase;
    if (state !== PAYLOAD_PARTIALLY_PRESENT && (!readsParent || whole)) {
      // The block reads as zeros (or is overwritten whole): a new block, zeros but for this write.
      const at = await this.reserve(this.blockSize);
      await this.file.write(at + (pos - blockBase), piece);
      this.setEntry(entry, PAYLOAD_FULLY_PRESENT, at);
      await this.markDirty([this.batSector(entry)]);
      return;
    }
    await this.writePartial(block, entry, state, pos, piece);
  }

  /** A differencing disk's write into a block the parent still partly answers for. */
  private async writePartial(block: number, entry: number, state: number, pos: number, piece: Uint8Array): Promise<void> {
    const ss = this.sectorSize;
    const meta: number[] = [];
    const chunk = Math.floor(block / this.layout.chunkRatio);
    const bmEntry = this.bitmapEntry(chunk);
    if (this.state(bmEntry) !== SB_PRESENT) {
      const at = await this.reserve(MiB);
      this.setEntry(bmEntry, SB_PRESENT, at);
      this.bitmaps.delete(chunk);
      meta.push(this.batSector(bmEntry));
    }
    const first = Math.floor(pos / ss);
    const last = Math.floor((pos + piece.length - 1) / ss);
    const span = new Uint8Array((last - first + 1) * ss);
    if (pos % ss !== 0 || (pos + piece.length) % ss !== 0) await this.read(first * ss, span);
    span.set(piece, pos - first * ss);
    if (state !== PAYLOAD_PARTIALLY_PRESENT) {
      const at = await this.reserve(this.blockSize);
      this.setEntry(entry, PAYLOAD_PARTIALLY_PRESENT, at);
      meta.push(this.batSector(entry));
    }
    await this.file.write(this.offsetOf(entry) + (first * ss - block * this.blockSize), span);
    const bm = (await this.bitmapOf(chunk))!;
    const chunkBase = chunk * SECTORS_PER_BITMAP;
    for (let s = first; s <= last; s++) bm[(s - chunkBase) >>> 3] |= 1 << ((s - chunkBase) & 7);
    const lo = Math.floor(((first - chunkBase) >>> 3) / LOG_SECTOR) * LOG_SECTOR;
    const hi = Math.floor(((last - chunkBase) >>> 3) / LOG_SECTOR) * LOG_SECTOR;
    const bmAt = this.offsetOf(bmEntry);
    for (let at = lo; at <= hi; at += LOG_SECTOR) meta.push(bmAt + at);
    await this.markDirty(meta);
  }

  flush(): Promise<void> {
    return this.guard.queued('flush', () => this.flushNow());
  }

  private async flushNow(): Promise<void> {
    if (this.readOnly) return;
    await this.commit();
    await this.file.flush();
  }

  /** Whole blocks in the range become ZERO blocks; partial ones are written with zeros (or, for discard, left). */
  private async zeroRange(offset: number, length: number, partial: boolean): Promise<void> {
    let done = 0;
    const changed: number[] = [];
    while (done < length) {
      const pos = offset + done;
      const block = Math.floor(pos / this.blockSize);
      const within = pos - block * this.blockSize;
      const n = Math.min(this.blockSize - within, length - done);
      const blockEnd = Math.min(this.size, (block + 1) * this.blockSize);
      if (within === 0 && pos + n === blockEnd) {
        const entry = this.payloadEntry(block);
        if (this.state(entry) !== PAYLOAD_ZERO) {
          this.setEntry(entry, PAYLOAD_ZERO, 0);
          changed.push(entry);
        }
      } else if (partial) {
        await this.writeNow(pos, new Uint8Array(n));
      }
      done += n;
    }
    if (changed.length > 0) {
      await this.beginWrite();
      await this.markDirty(changed.map((e) => this.batSector(e)));
    }
  }

  discard(offset: number, length: number): Promise<void> {
    return this.guard.change('discard', () => this.discardNow(offset, length));
  }

  private async discardNow(offset: number, length: number): Promise<void> {
    checkRange(this, offset, length, 'discard');
    await this.zeroRange(offset, length, false);
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    return this.guard.change('writeZeroes', () => this.writeZeroesNow(offset, length));
  }

  private async writeZeroesNow(offset: number, length: number): Promise<void> {
    checkRange(this, offset, length, 'writeZeroes');
    await this.zeroRange(offset, length, true);
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.guard.live('allocation');
    checkRange(this, offset, length, 'allocation');
    const out: AllocationExtent[] = [];
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const block = Math.floor(pos / this.blockSize);
      const within = pos - block * this.blockSize;
      const n = Math.min(this.blockSize - within, length - done);
      const entry = this.payloadEntry(block);
      const state = this.state(entry);
      const host = this.offsetOf(entry) - block * this.blockSize;
      if (state === PAYLOAD_FULLY_PRESENT) out.push({ offset: pos, length: n, status: 'data', depth: 0, hostOffset: host + pos });
      else if (state === PAYLOAD_ZERO) out.push({ offset: pos, length: n, status: 'zero', depth: 0 });
      else if (state === PAYLOAD_PARTIALLY_PRESENT) {
        for (const r of await this.runs(block, pos, n)) {
          if (r.present) out.push({ offset: r.at, length: r.length, status: 'data', depth: 0, hostOffset: host + r.at });
          else out.push(...(await this.below(r.at, r.length)));
        }
      } else out.push(...(await this.below(pos, n)));
      done += n;
    }
    return coalesceExtents(out);
  }

  private async below(offset: number, length: number): Promise<AllocationExtent[]> {
    const parent = this.metadata.hasParent ? this.backing : undefined;
    const inside = parent === undefined ? 0 : Math.max(0, Math.min(length, parent.size - offset));
    const out: AllocationExtent[] = [];
    if (parent !== undefined && inside > 0) for (const e of await parent.allocation(offset, inside)) out.push({ ...e, depth: e.depth + 1 });
    if (inside < length) out.push({ offset: offset + inside, length: length - inside, status: 'unallocated', depth: 0 });
    return out;
  }

  /**
   * What `qemu-img check` checks for VHDX, and more: a log that still needs replay, and partially
   * present blocks whose sector bitmap block is missing. Everything else was validated on open.
   */
  async check(_options: { repair: 'none' | 'leaks' | 'all' }): Promise<CheckReport> {
    this.guard.live('check');
    const report: CheckReport = { corruptions: 0, leaks: 0, corruptionsFixed: 0, leaksFixed: 0, checkErrors: 0, messages: [] };
    if (this.logPending) {
      report.corruptions++;
      report.messages.push('ERROR: the log holds changes that were never applied; repair with -r all to replay it');
    }
    if (this.logReplayed) {
      report.corruptions++;
      report.corruptionsFixed++;
    }
    for (let block = 0; block < this.layout.payloadBlocks; block++) {
      if (this.state(this.payloadEntry(block)) !== PAYLOAD_PARTIALLY_PRESENT) continue;
      if (this.state(this.bitmapEntry(Math.floor(block / this.layout.chunkRatio))) !== SB_PRESENT) {
        report.corruptions++;
        report.messages.push(`ERROR: block ${block} is partially present but its sector bitmap block is not`);
      }
    }
    return report;
  }

  async info(): Promise<FormatInfo> {
    this.guard.live('info');
    return { dirty: false, clusterSize: this.blockSize };
  }

  /**
   * Change the virtual size, as Hyper-V does (qemu-img cannot resize VHDX): the BAT grows into the
   * room its region has, entries past the new end are cleared, and the new size and entries are
   * committed together through the log. A fixed disk gets its new blocks allocated. Differencing
   * disks keep their parent's size.
   */
  resize(newSize: number): Promise<void> {
    return this.guard.change('resize', () => this.resizeNow(newSize), false);
  }

  private async resizeNow(size: number): Promise<void> {
    const md = this.metadata;
    if (!Number.isSafeInteger(size) || size <= 0 || size % this.sectorSize !== 0 || size > VHDX_MAX_SIZE) {
      throw new StorageError('InvalidArgument', `new size ${size} is not a positive multiple of ${this.sectorSize} bytes up to 64 TiB`);
    }
    if (md.hasParent) throw new StorageError('Unsupported', `${this.file.path}: a differencing VHDX has the size of its parent`);
    if (md.virtualDiskSizeAt === undefined) throw new StorageError('Unsupported', `${this.file.path}: the virtual disk size item was not located`);
    if (size === this.size) return;
    const layout = vhdxBatLayout({ ...md, virtualDiskSize: size });
    const bytes = Math.ceil((layout.totalEntries * 8) / LOG_SECTOR) * LOG_SECTOR;
    if (bytes > this.batRegionLength) {
      throw new StorageError('Unsupported', `${this.file.path}: the VHDX BAT region (${this.batRegionLength} bytes) has no room for the ${layout.totalEntries} entries of ${size} bytes`);
    }
    await this.beginWrite();
    const changed = new Set<number>();
    const oldSize = this.size;
    // What lies past the old end inside its last block was never written through this disk: zeros.
    const last = Math.floor((oldSize - 1) / this.blockSize);
    const lastEntry = this.payloadEntry(last);
    const tail = Math.min(size, (last + 1) * this.blockSize) - oldSize;
    if (tail > 0 && this.state(lastEntry) === PAYLOAD_FULLY_PRESENT) {
      await this.file.write(this.offsetOf(lastEntry) + (oldSize - last * this.blockSize), new Uint8Array(tail));
    }
    // The table in memory takes its new length; entries past the new end (or never used) are cleared.
    const bat = new Uint8Array(Math.max(bytes, this.bat.length));
    bat.set(this.bat.subarray(0, this.layout.totalEntries * 8));
    this.bat = bat;
    this.batView = new DataView(bat.buffer);
    for (let e = layout.totalEntries; e < Math.max(this.layout.totalEntries, layout.totalEntries); e++) changed.add(this.batSector(e));
    for (let at = this.layout.totalEntries * 8; at < bytes; at += LOG_SECTOR) changed.add(this.batSector(Math.floor(at / 8)));
    bat.fill(0, layout.totalEntries * 8);
    if (md.leaveBlocksAllocated) {
      for (let b = this.layout.payloadBlocks; b < layout.payloadBlocks; b++) {
        const entry = b + Math.floor(b / layout.chunkRatio);
        this.setEntry(entry, PAYLOAD_FULLY_PRESENT, await this.reserve(this.blockSize));
        changed.add(this.batSector(entry));
      }
    }
    // The size item, in the metadata sector(s) that hold it.
    const at = this.metadataOffset + md.virtualDiskSizeAt;
    const first = Math.floor(at / LOG_SECTOR) * LOG_SECTOR;
    const span = new Uint8Array(Math.ceil((at + 8 - first) / LOG_SECTOR) * LOG_SECTOR);
    await readExact(this.source, first, span, 'VHDX metadata sector');
    setU64(new DataView(span.buffer), at - first, size, true);
    for (let o = 0; o < span.length; o += LOG_SECTOR) this.metadataSectors.set(first + o, span.slice(o, o + LOG_SECTOR));
    md.virtualDiskSize = size;
    this.layout = layout;
    for (const o of this.metadataSectors.keys()) this.dirty.add(o);
    for (const o of changed) this.dirty.add(o);
    await this.commit();
    await this.file.flush();
  }

  close(): Promise<void> {
    return this.guard.close(() => this.closeNow());
  }

  private async closeNow(): Promise<void> {
    if (this.writing) {
      // Every logged change is in place and flushed: an empty log needs no replay by the next reader.
      await this.commit();
      await this.file.flush();
      await this.writeHeaders({ ...this.header, logGuid: new Uint8Array(16) });
    }
    this.bitmaps.clear();
    await this.source.close();
    await this.backing?.close();
  }
}

