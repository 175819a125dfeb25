import type { AllocationExtent, BlockDevice } from './block-device.js';
import { checkRange, coalesceExtents } from './block-device.js';
import { readBacking } from './backing.js';
import { ImageGuard } from './image-guard.js';
import { isAllZero } from './byte-fields.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CheckReport, FormatInfo, ImageDevice } from './image-format.js';
import type { VhdFooter } from './vhd-footer.js';
import { VHD_FOOTER_SIZE, VHD_TYPE_DIFFERENCING, VHD_TYPE_FIXED, serializeVhdFooter, vhdChecksum } from './vhd-footer.js';
import { VHD_SIZE_FROM_FOOTER, vhdGeometry, vhdSizeForCreate, vhdVirtualSize } from './vhd-geometry.js';
import type { VhdDynamicHeader } from './vhd-header.js';
import { VHD_HEADER_CHECKSUM, VHD_HEADER_MAX_ENTRIES, VHD_HEADER_SIZE } from './vhd-header.js';

/** A BAT entry that maps no block. */
export const VHD_BAT_UNUSED = 0xffff_ffff;
const SECTOR = 512;
/** Bitmaps of this many blocks stay cached; past it the cache starts over (memory stays bounded). */
const BITMAP_CACHE_BLOCKS = 4096;

/** What `VhdImage` is built from; `vhd-format.ts` reads and validates it. */
export interface VhdParts {
  file: HostFile;
  footer: VhdFooter;
  /** Virtual size (qemu's choice between the footer's size and the CHS geometry). */
  size: number;
  readOnly: boolean;
  /** Dynamic and differencing disks only. */
  header?: VhdDynamicHeader;
  bat?: Uint32Array;
  /** Where the footer lies (the end of the used part of the file). */
  footerOffset: number;
  parent?: BlockDevice;
  parentName?: string;
}

/**
 * A VHD disk (fixed, dynamic or differencing) as a block device. Reads honour the sector bitmap of
 * each block: a clear bit reads from the parent (differencing) or as zeros (dynamic). Writes
 * allocate blocks at the end of the file and move the footer after them.
 */
export class VhdImage implements ImageDevice {
  readonly format = 'vpc';
  readonly sectorSize = SECTOR;
  readonly file: HostFile;
  private currentSize: number;
  readonly readOnly: boolean;
  readonly backing: BlockDevice | undefined;
  readonly backingFile: string | undefined;
  readonly backingFormat: string | undefined;
  footer: VhdFooter;
  readonly header: VhdDynamicHeader | undefined;
  private bat: Uint32Array | undefined;
  private readonly blockSize: number;
  private readonly bitmapBytes: number;
  private footerOffset: number;
  private readonly bitmaps = new Map<number, Uint8Array>();
  private readonly guard = new ImageGuard(this, 'VHD');

  constructor(parts: VhdParts) {
    this.file = parts.file;
    this.footer = parts.footer;
    this.currentSize = parts.size;
    this.readOnly = parts.readOnly;
    this.header = parts.header;
    this.bat = parts.bat;
    this.footerOffset = parts.footerOffset;
    this.backing = parts.parent;
    this.backingFile = parts.parentName;
    this.backingFormat = parts.parentName === undefined ? undefined : 'vpc';
    this.blockSize = parts.header?.blockSize ?? 0;
    this.bitmapBytes = Math.ceil(this.blockSize / SECTOR / 8 / SECTOR) * SECTOR;
  }

  get size(): number {
    return this.currentSize;
  }

  get clusterSize(): number | undefined {
    return this.header?.blockSize;
  }

  /** New blocks are holes in the file: any sector can be written alone. */
  readonly writeUnit = SECTOR;

  private get differencing(): boolean {
    return this.footer.diskType === VHD_TYPE_DIFFERENCING;
  }

  /** Byte offset in the file of block `index`'s sector bitmap, or undefined when unallocated. */
  private blockStart(index: number): number | undefined {
    const entry = this.bat![index];
    return entry === VHD_BAT_UNUSED ? undefined : entry * SECTOR;
  }

  private async bitmap(index: number, start: number): Promise<Uint8Array> {
    let bm = this.bitmaps.get(index);
    if (bm === undefined) {
      bm = new Uint8Array(this.bitmapBytes);
      await readExact(this.file, start, bm, `VHD sector bitmap of block ${index}`);
      if (this.bitmaps.size >= BITMAP_CACHE_BLOCKS) this.bitmaps.clear();
      this.bitmaps.set(index, bm);
    }
    return bm;
  }

  /**
   * Split `[pos, pos + n)` inside block `index` into runs of sectors whose bitmap bits agree, and
   * call `visit(runStart, runLength, present)` for each, in order.
   */
  private async runs(
    index: number,
    start: number,
    pos: number,
    n: number,
    visit: (at: number, length: number, present: boolean) => Promise<void>,
  ): Promise<void> {
    const bm = await this.bitmap(index, start);
    const blockBase = index * this.blockSize;
    let at = pos;
    const end = pos + n;
    while (at < end) {
      const sector = Math.floor((at - blockBase) / SECTOR);
      const present = ((bm[sector >>> 3] >>> (7 - (sector & 7))) & 1) === 1;
      let s = sector + 1;
      while (blockBase + s * SECTOR < end && (((bm[s >>> 3] >>> (7 - (s & 7))) & 1) === 1) === present) s++;
      const runEnd = Math.min(end, blockBase + s * SECTOR);
      await visit(at, runEnd - at, present);
      at = runEnd;
    }
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    this.guard.live('read');
    checkRange(this, offset, buffer.length, 'read');
    if (this.bat === undefined) {
      await readExact(this.file, offset, buffer, 'VHD fixed disk data');
      return;
    }
    let done = 0;
    while (done < buffer.length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.blockSize);
      const within = pos - index * this.blockSize;
      const n = Math.min(this.blockSize - within, buffer.length - done);
      const start = this.blockStart(index);
      const base = done;
      if (start === undefined) {
        await readBacking(this.backing, pos, buffer.subarray(done, done + n));
      } else {
        await this.runs(index, start, pos, n, async (at, length, present) => {
          const slice = buffer.subarray(base + (at - pos), base + (at - pos) + length);
          if (present) await readExact(this.file, start + this.bitmapBytes + (at - index * this.blockSize), slice, `VHD block ${index} data`);
          else await readBacking(this.backing, at, slice);
        });
      }
      done += n;
    }
  }

  /** Allocate block `index` at the end of the file: bitmap, data (a hole), then the footer moves. */
  private async allocate(index: number): Promise<number> {
    const start = this.footerOffset;
    const bm = new Uint8Array(this.bitmapBytes);
    // A dynamic disk marks the whole block present (its data reads as zeros until written), as qemu
    // does; a differencing disk marks sectors present only as they are written.
    if (!this.differencing) bm.fill(0xff);
    await this.file.write(start, bm);
    const end = start + this.bitmapBytes + this.blockSize;
    await this.file.write(end, serializeVhdFooter(this.footer));
    this.footerOffset = end;
    // Data and footer first, then the BAT entry: a crash in between leaks a block, never maps garbage.
    const entry = new Uint8Array(4);
    new DataView(entry.buffer).setUint32(0, start / SECTOR);
    await this.file.write(this.header!.tableOffset + index * 4, entry);
    this.bat![index] = start / SECTOR;
    this.bitmaps.set(index, bm);
    return start;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.guard.change('write', () => this.writeNow(offset, data));
  }

  private async writeNow(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length, 'write');
    if (this.bat === undefined) {
      await this.file.write(offset, data);
      return;
    }
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.blockSize);
      const within = pos - index * this.blockSize;
      const n = Math.min(this.blockSize - within, data.length - done);
      const piece = data.subarray(done, done + n);
      let start = this.blockStart(index);
      if (start === undefined && this.backing === undefined && isAllZero(piece)) {
        done += n;
        continue;
      }
      start ??= await this.allocate(index);
      await this.writeInBlock(index, start, pos, piece);
      done += n;
    }
  }

  private async writeInBlock(index: number, start: number, pos: number, piece: Uint8Array): Promise<void> {
    const blockBase = index * this.blockSize;
    const dataStart = start + this.bitmapBytes;
    if (!this.differencing) {
      await this.file.write(dataStart + (pos - blockBase), piece);
      return;
    }
    // Differencing: a sector written in part takes the rest of its bytes from the parent first.
    const first = Math.floor((pos - blockBase) / SECTOR);
    const last = Math.floor((pos - blockBase + piece.length - 1) / SECTOR);
    const bm = await this.bitmap(index, start);
    const alignedStart = blockBase + first * SECTOR;
    const span = new Uint8Array((last - first + 1) * SECTOR);
    const headPartial = pos !== alignedStart;
    const tailPartial = pos + piece.length !== alignedStart + span.length;
    if (headPartial || tailPartial) await this.read(alignedStart, span);
    span.set(piece, pos - alignedStart);
    await this.file.write(dataStart + first * SECTOR, span);
    let changed = false;
    for (let s = first; s <= last; s++) {
      const bit = 0x80 >>> (s & 7);
      if ((bm[s >>> 3] & bit) === 0) {
        bm[s >>> 3] |= bit;
        changed = true;
      }
    }
    if (changed) await this.file.write(start, bm);
  }

  flush(): Promise<void> {
    return this.guard.queued('flush', () => this.flushNow());
  }

  private async flushNow(): Promise<void> {
    if (!this.readOnly) await this.file.flush();
  }

  discard(offset: number, length: number): Promise<void> {
    return this.guard.change('discard', () => this.discardNow(offset, length));
  }

  private async discardNow(offset: number, length: number): Promise<void> {
    checkRange(this, offset, length, 'discard');
    // VHD has no way to give a block back short of rewriting the file; a discard is a hint we may ignore.
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    return this.guard.change('writeZeroes', () => this.writeZeroesNow(offset, length));
  }

  private async writeZeroesNow(offset: number, length: number): Promise<void> {
    checkRange(this, offset, length, 'writeZeroes');
    const chunk = Math.max(this.blockSize, 1 << 20);
    const zeros = new Uint8Array(Math.min(chunk, length));
    let done = 0;
    while (done < length) {
      const n = Math.min(zeros.length, length - done);
      if (this.bat !== undefined && this.backing === undefined) {
        // Unallocated blocks already read as zeros; write only into allocated ones.
        const index = Math.floor((offset + done) / this.blockSize);
        const m = Math.min(n, (index + 1) * this.blockSize - (offset + done));
        if (this.blockStart(index) !== undefined) await this.writeNow(offset + done, zeros.subarray(0, m));
        done += m;
        continue;
      }
      await this.writeNow(offset + done, zeros.subarray(0, n));
      done += n;
    }
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.guard.live('allocation');
    checkRange(this, offset, length, 'allocation');
    if (this.bat === undefined) return length === 0 ? [] : [{ offset, length, status: 'data', depth: 0, hostOffset: offset }];
    const out: AllocationExtent[] = [];
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.blockSize);
      const within = pos - index * this.blockSize;
      const n = Math.min(this.blockSize - within, length - done);
      const start = this.blockStart(index);
      if (start === undefined) {
        out.push(...(await this.below(pos, n)));
      } else {
        const dataStart = start + this.bitmapBytes - index * this.blockSize;
        const runs: { at: number; length: number; present: boolean }[] = [];
        await this.runs(index, start, pos, n, async (at, len, present) => {
          runs.push({ at, length: len, present });
        });
        for (const r of runs) {
          if (r.present) out.push({ offset: r.at, length: r.length, status: 'data', depth: 0, hostOffset: dataStart + r.at });
          else out.push(...(await this.below(r.at, r.length)));
        }
      }
      done += n;
    }
    return coalesceExtents(out);
  }

  /** The allocation of a range this layer does not hold: the parent's, one level deeper. */
  private async below(offset: number, length: number): Promise<AllocationExtent[]> {
    const parent = this.backing;
    const inside = parent === undefined ? 0 : Math.max(0, Math.min(length, parent.size - offset));
    const out: AllocationExtent[] = [];
    if (parent !== undefined && inside > 0) {
      for (const e of await parent.allocation(offset, inside)) out.push({ ...e, depth: e.depth + 1 });
    }
    if (inside < length) out.push({ offset: offset + inside, length: length - inside, status: 'unallocated', depth: 0 });
    return out;
  }

  /**
   * qemu-img has no check for VHD; tsvm checks what open does not need: that the footer copy at
   * offset 0 of a dynamic disk matches the footer, and with `-r all` rewrites it.
   */
  async check(options: { repair: 'none' | 'leaks' | 'all' }): Promise<CheckReport> {
    this.guard.live('check');
    const report: CheckReport = { corruptions: 0, leaks: 0, corruptionsFixed: 0, leaksFixed: 0, checkErrors: 0, messages: [] };
    if (this.header === undefined) return report;
    const expected = new Uint8Array(VHD_FOOTER_SIZE);
    await readExact(this.file, this.footerOffset, expected, 'VHD footer');
    const copy = new Uint8Array(VHD_FOOTER_SIZE);
    await readExact(this.file, 0, copy, 'VHD footer copy');
    if (Buffer.compare(copy, expected) !== 0) {
      report.corruptions++;
      report.messages.push('ERROR: the footer copy at offset 0 differs from the footer');
      if (options.repair === 'all' && !this.readOnly) {
        await this.file.write(0, expected);
        await this.file.flush();
        report.corruptionsFixed++;
      }
    }
    return report;
  }

  /**
   * Change the virtual size (qemu-img cannot resize VHDs at all). The size is rounded up to one the
   * CHS geometry expresses, as `create` does, unless the image takes its size from the footer
   * (Hyper-V, `force_size`). A fixed disk grows or shrinks (its footer moves); a dynamic disk grows
   * as far as its BAT has entries; a differencing disk keeps its parent's size.
   */
  resize(newSize: number): Promise<void> {
    return this.guard.change('resize', () => this.resizeNow(newSize), false);
  }

  private async resizeNow(requested: number): Promise<void> {
    if (!Number.isSafeInteger(requested) || requested <= 0) throw new StorageError('InvalidArgument', `new size ${requested} is not a positive byte count`);
    if (this.differencing) throw new StorageError('Unsupported', `${this.file.path}: a differencing VHD has the size of its parent`);
    const exact = VHD_SIZE_FROM_FOOTER.has(this.footer.creatorApp);
    if (exact && requested % SECTOR !== 0) throw new StorageError('InvalidArgument', `new size ${requested} is not a multiple of ${SECTOR}`);
    const target = exact ? { size: requested, geometry: vhdGeometry(requested / SECTOR) } : vhdSizeForCreate(requested);
    const footer: VhdFooter = { ...this.footer, currentSize: target.size, geometry: target.geometry };
    const size = vhdVirtualSize(footer);
    if (size === this.size) return;
    if (this.bat === undefined) {
      await this.resizeFixed(size, footer);
    } else {
      await this.growDynamic(size, footer);
    }
    this.footer = footer;
    this.currentSize = size;
  }

  private async resizeFixed(size: number, footer: VhdFooter): Promise<void> {
    const raw = serializeVhdFooter(footer);
    // The new footer first, at the new end: a crash leaves a disk of either size, never none.
    await this.file.write(size, raw);
    if (size > this.footerOffset) await this.file.write(this.footerOffset, new Uint8Array(VHD_FOOTER_SIZE));
    await this.file.truncate(size + VHD_FOOTER_SIZE);
    await this.file.flush();
    this.footerOffset = size;
  }

  private async growDynamic(size: number, footer: VhdFooter): Promise<void> {
    const header = this.header!;
    const oldBat = this.bat!;
    if (size < this.size) throw new StorageError('Unsupported', `${this.file.path}: a dynamic VHD cannot shrink (its blocks would stay in the file)`);
    const needed = Math.ceil(size / header.blockSize);
    // The table fills whole sectors: entries up to the end of its last sector cost no move.
    const room = (Math.ceil((header.maxTableEntries * 4) / SECTOR) * SECTOR) / 4;
    if (needed > room) {
      throw new StorageError('Unsupported', `${this.file.path}: the VHD's BAT has room for ${room} blocks; ${size} bytes need ${needed}`);
    }
    // What lies past the old end inside the last block (never written through this disk) reads as zeros from now on.
    const last = Math.floor((this.size - 1) / header.blockSize);
    const tail = (last + 1) * header.blockSize - this.size;
    const lastStart = this.blockStart(last);
    if (tail > 0 && lastStart !== undefined) {
      await this.file.write(lastStart + this.bitmapBytes + (this.size - last * header.blockSize), new Uint8Array(tail));
    }
    if (needed > oldBat.length) {
      // The new entries are written unused before the size that makes them count.
      const added = new Uint8Array((needed - oldBat.length) * 4).fill(0xff);
      await this.file.write(header.tableOffset + oldBat.length * 4, added);
      const bat = new Uint32Array(needed).fill(VHD_BAT_UNUSED);
      bat.set(oldBat);
      this.bat = bat;
    }
    if (needed > header.maxTableEntries) {
      const at = this.footer.dataOffset!;
      const rawHeader = new Uint8Array(VHD_HEADER_SIZE);
      await readExact(this.file, at, rawHeader, 'VHD dynamic header');
      const view = new DataView(rawHeader.buffer);
      view.setUint32(VHD_HEADER_MAX_ENTRIES, needed);
      view.setUint32(VHD_HEADER_CHECKSUM, vhdChecksum(rawHeader, VHD_HEADER_CHECKSUM));
      await this.file.write(at, rawHeader);
      header.maxTableEntries = needed;
    }
    const raw = serializeVhdFooter(footer);
    await this.file.write(this.footerOffset, raw);
    await this.file.flush();
    await this.file.write(0, raw);
  }

  async info(): Promise<FormatInfo> {
    this.guard.live('info');
    return this.header === undefined ? { dirty: false } : { dirty: false, clusterSize: this.header.blockSize };
  }

  close(): Promise<void> {
    return this.guard.close(() => this.closeNow());
  }

  private async closeNow(): Promise<void> {
    if (!this.readOnly) await this.file.flush();
    this.bitmaps.clear();
    await this.file.close();
    await this.backing?.close();
  }

  /** The disk type as qemu-img's `subformat` names it. */
  get subformat(): 'fixed' | 'dynamic' | 'differencing' {
    return this.footer.diskType === VHD_TYPE_FIXED ? 'fixed' : this.differencing ? 'differencing' : 'dynamic';
  }

  static readonly footerSize = VHD_FOOTER_SIZE;
}

