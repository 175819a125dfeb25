import { deflateSync, inflateSync } from 'node:zlib';
import { isAllZero } from './byte-fields.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { VmdkSparseHeader } from './vmdk-header.js';
import {
  FLAG_COMPRESSED,
  FLAG_MARKERS,
  FLAG_ZERO_GRAIN,
  MARKER_EOS,
  MARKER_FOOTER,
  MARKER_GD,
  MARKER_GT,
  VMDK_SECTOR,
  serializeVmdkSparseHeader,
  vmdkGdEntries,
} from './vmdk-header.js';

/** Grain tables kept in memory; past this the cache starts over. */
const GT_CACHE = 8192;
/** Partially written grains a stream-optimized writer holds before it must emit them. */
const MAX_PENDING_GRAINS = 256;

/** Reads the parts of an extent it does not hold (from the parent, or zeros). */
export type Fallback = (extentOffset: number, buffer: Uint8Array) => Promise<void>;

/** What a grain of the extent holds. */
export type GrainState = { kind: 'unallocated' } | { kind: 'zero' } | { kind: 'data'; hostOffset: number } | { kind: 'compressed'; sector: number };

export interface SparseExtentParts {
  file: HostFile;
  /** The effective header (for stream-optimized images, the footer's). */
  header: VmdkSparseHeader;
  gdSector: number;
  gd: Uint32Array;
  /** The redundant grain directory, kept in step on writes when present. */
  rgd?: Uint32Array;
  fileSize: number;
  readOnly: boolean;
  /** Stream-optimized output: grains are compressed and appended; tables are written at close. */
  streamWriter?: { header: VmdkSparseHeader; dataStart: number };
}

/**
 * One hosted sparse extent: a grain directory of grain tables of grains. Reads decompress
 * stream-optimized grains; writes append grains at the end of the file and then point the grain
 * table (and its redundant copy) at them.
 */
export class SparseExtent {
  readonly file: HostFile;
  readonly header: VmdkSparseHeader;
  readonly grainBytes: number;
  private readonly gd: Uint32Array;
  private readonly rgd: Uint32Array | undefined;
  private readonly tables = new Map<number, Uint32Array>();
  private fileEnd: number;
  private readonly compressed: boolean;
  private lastGrain = -1;
  private readonly lastGrainData: Uint8Array;
  private readonly stream: SparseExtentParts['streamWriter'];
  private readonly pending = new Map<number, { data: Uint8Array; filled: number }>();
  /** Grain tables changed in memory and not yet written (written by `flushTables`). */
  private readonly dirtyTables = new Set<number>();

  constructor(private readonly p: SparseExtentParts) {
    this.file = p.file;
    this.header = p.header;
    this.gd = p.gd;
    this.rgd = p.rgd;
    this.grainBytes = p.header.grainSize * VMDK_SECTOR;
    this.fileEnd = Math.ceil(p.fileSize / VMDK_SECTOR) * VMDK_SECTOR;
    this.compressed = (p.header.flags & FLAG_COMPRESSED) !== 0;
    this.lastGrainData = new Uint8Array(this.compressed ? this.grainBytes : 0);
    this.stream = p.streamWriter;
    if (this.stream !== undefined) this.fileEnd = this.stream.dataStart;
  }

  private where(): string {
    return this.file.path;
  }

  private async table(gdIndex: number): Promise<Uint32Array | undefined> {
    const sector = this.gd[gdIndex];
    let t = this.tables.get(gdIndex);
    if (t !== undefined) return t;
    if (sector === 0) return undefined;
    const raw = new Uint8Array(this.header.numGTEsPerGT * 4);
    await readExact(this.file, sector * VMDK_SECTOR, raw, `VMDK grain table ${gdIndex}`);
    const v = new DataView(raw.buffer);
    t = new Uint32Array(this.header.numGTEsPerGT);
    for (let i = 0; i < t.length; i++) {
      const e = v.getUint32(i * 4, true);
      if (e > 1 || (e === 1 && (this.header.flags & FLAG_ZERO_GRAIN) === 0)) {
        const end = e * VMDK_SECTOR + (this.compressed ? 12 : this.grainBytes);
        if (e * VMDK_SECTOR < VMDK_SECTOR || end > this.p.fileSize) {
          throw new StorageError('CorruptTable', `${this.where()}: VMDK grain table ${gdIndex} entry ${i} (at offset ${sector * VMDK_SECTOR + i * 4}) points to sector ${e}, outside the file`);
        }
      }
      t[i] = e;
    }
    if (this.tables.size >= GT_CACHE) {
      await this.flushTables();
      this.tables.clear();
    }
    this.tables.set(gdIndex, t);
    return t;
  }

  /** Load every grain table; returns the problems found (a table or entry outside the file). */
  async checkTables(): Promise<string[]> {
    const problems: string[] = [];
    for (let i = 0; i < this.gd.length; i++) {
      try {
        await this.table(i);
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        problems.push(err.message);
      }
    }
    return problems;
  }

  /** Write every changed grain table, and its redundant copy. */
  async flushTables(): Promise<void> {
    if (this.stream !== undefined) return;
    for (const gdIndex of [...this.dirtyTables].sort((a, b) => a - b)) {
      const t = this.tables.get(gdIndex)!;
      const raw = new Uint8Array(t.length * 4);
      const v = new DataView(raw.buffer);
      t.forEach((e, j) => v.setUint32(j * 4, e, true));
      await this.file.write(this.gd[gdIndex] * VMDK_SECTOR, raw);
      if (this.rgd !== undefined && this.rgd[gdIndex] !== 0) await this.file.write(this.rgd[gdIndex] * VMDK_SECTOR, raw);
    }
    this.dirtyTables.clear();
  }

  async grain(index: number): Promise<GrainState> {
    const n = this.header.numGTEsPerGT;
    const t = await this.table(Math.floor(index / n));
    const e = t === undefined ? 0 : t[index % n];
    if (e === 0) return this.pending.has(index) ? { kind: 'data', hostOffset: -1 } : { kind: 'unallocated' };
    if (e === 1 && (this.header.flags & FLAG_ZERO_GRAIN) !== 0) return { kind: 'zero' };
    if (this.compressed) return { kind: 'compressed', sector: e };
    return { kind: 'data', hostOffset: e * VMDK_SECTOR };
  }

  private async inflate(index: number, sector: number): Promise<Uint8Array> {
    if (this.lastGrain === index) return this.lastGrainData;
    const at = sector * VMDK_SECTOR;
    const head = new Uint8Array(12);
    await readExact(this.file, at, head, `VMDK compressed grain ${index}`);
    const hv = new DataView(head.buffer);
    const hasMarker = (this.header.flags & FLAG_MARKERS) !== 0;
    if (!hasMarker) throw new StorageError('Unsupported', `${this.where()}: compressed VMDK grains without markers are not supported`);
    const size = hv.getUint32(8, true);
    const lba = hv.getUint32(0, true) + hv.getUint32(4, true) * 2 ** 32;
    if (size === 0 || size > this.grainBytes * 2 + 4096 || at + 12 + size > this.p.fileSize) {
      throw new StorageError('CorruptTable', `${this.where()}: VMDK compressed grain ${index} at offset ${at} has a bad size (${size} bytes)`);
    }
    if (lba !== index * this.header.grainSize) {
      throw new StorageError('CorruptTable', `${this.where()}: VMDK compressed grain at offset ${at} says it holds sector ${lba}, but grain ${index} starts at ${index * this.header.grainSize}`);
    }
    const packed = new Uint8Array(size);
    await readExact(this.file, at + 12, packed, `VMDK compressed grain ${index}`);
    let out: Buffer;
    try {
      out = inflateSync(packed, { maxOutputLength: this.grainBytes });
    } catch (err) {
      throw new StorageError('CorruptTable', `${this.where()}: VMDK compressed grain ${index} at offset ${at} does not inflate`, { cause: err });
    }
    this.lastGrainData.fill(0);
    this.lastGrainData.set(out);
    this.lastGrain = index;
    return this.lastGrainData;
  }

  /** Read `buffer.length` bytes at `offset` of the extent; grains it does not hold come from `fallback`. */
  async read(offset: number, buffer: Uint8Array, fallback: Fallback): Promise<void> {
    let done = 0;
    while (done < buffer.length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.grainBytes);
      const within = pos - index * this.grainBytes;
      const n = Math.min(this.grainBytes - within, buffer.length - done);
      const out = buffer.subarray(done, done + n);
      const pend = this.pending.get(index);
      if (pend !== undefined) {
        out.set(pend.data.subarray(within, within + n));
      } else {
        const g = await this.grain(index);
        if (g.kind === 'unallocated') await fallback(pos, out);
        else if (g.kind === 'zero') out.fill(0);
        else if (g.kind === 'data') await readExact(this.file, g.hostOffset + within, out, `VMDK grain ${index}`);
        else out.set((await this.inflate(index, g.sector)).subarray(within, within + n));
      }
      done += n;
    }
  }

  private async setEntry(index: number, value: number): Promise<void> {
    const n = this.header.numGTEsPerGT;
    const gdIndex = Math.floor(index / n);
    let t = await this.table(gdIndex);
    if (t === undefined) t = await this.allocateTable(gdIndex);
    t[index % n] = value;
    // Grain data is written before its table entry reaches the disk (at the next flush), so a crash
    // loses unflushed writes but never points a grain table at data that is not there.
    if (this.stream === undefined) this.dirtyTables.add(gdIndex);
  }

  /** A grain table for a directory entry that has none: appended, zeroed, then linked. */
  private async allocateTable(gdIndex: number): Promise<Uint32Array> {
    const t = new Uint32Array(this.header.numGTEsPerGT);
    if (this.stream === undefined) {
      const bytes = Math.ceil((t.length * 4) / VMDK_SECTOR) * VMDK_SECTOR;
      for (const dir of [this.gd, this.rgd]) {
        if (dir === undefined) continue;
        const at = this.fileEnd;
        this.fileEnd += bytes;
        await this.file.write(at, new Uint8Array(bytes));
        dir[gdIndex] = at / VMDK_SECTOR;
        const entry = new Uint8Array(4);
        new DataView(entry.buffer).setUint32(0, at / VMDK_SECTOR, true);
        const dirSector = dir === this.gd ? this.p.gdSector : this.header.rgdOffset;
        await this.file.write(dirSector * VMDK_SECTOR + gdIndex * 4, entry);
      }
    }
    this.tables.set(gdIndex, t);
    return t;
  }

  /** Write into the extent; `fallback` supplies the rest of a grain written in part. */
  async write(offset: number, data: Uint8Array, fallback: Fallback, hasBacking: boolean): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.grainBytes);
      const within = pos - index * this.grainBytes;
      const n = Math.min(this.grainBytes - within, data.length - done);
      const piece = data.subarray(done, done + n);
      if (this.stream !== undefined) {
        await this.streamWrite(index, within, piece, hasBacking);
      } else if (within === 0 && n === this.grainBytes) {
        done += await this.writeFullGrains(index, data.subarray(done), fallback, hasBacking);
        continue;
      } else {
        await this.writeGrain(index, within, piece, fallback, hasBacking);
      }
      done += n;
    }
  }

  /**
   * Write whole grains from `data` starting at grain `first`: a run of unallocated grains goes to
   * the end of the file in one write. Returns the bytes consumed (at least one grain).
   */
  private async writeFullGrains(first: number, data: Uint8Array, fallback: Fallback, hasBacking: boolean): Promise<number> {
    const gb = this.grainBytes;
    const limit = Math.min(256, Math.floor(data.length / gb), this.header.capacity / this.header.grainSize - first);
    let count = 0;
    while (count < limit) {
      const g = await this.grain(first + count);
      const piece = data.subarray(count * gb, (count + 1) * gb);
      if (g.kind !== 'unallocated' || (!hasBacking && isAllZero(piece))) break;
      count++;
    }
    if (count === 0) {
      await this.writeGrain(first, 0, data.subarray(0, gb), fallback, hasBacking);
      return gb;
    }
    const at = this.fileEnd;
    this.fileEnd += count * gb;
    await this.file.write(at, data.subarray(0, count * gb));
    for (let i = 0; i < count; i++) await this.setEntry(first + i, (at + i * gb) / VMDK_SECTOR);
    return count * gb;
  }

  private async writeGrain(index: number, within: number, piece: Uint8Array, fallback: Fallback, hasBacking: boolean): Promise<void> {
    const g = await this.grain(index);
    if (g.kind === 'data') {
      await this.file.write(g.hostOffset + within, piece);
      return;
    }
    if (g.kind === 'compressed') throw new StorageError('ReadOnly', `${this.where()}: grains of a compressed VMDK cannot be rewritten`);
    if (g.kind === 'unallocated' && !hasBacking && isAllZero(piece)) return;
    const grain = new Uint8Array(this.grainBytes);
    if (piece.length !== this.grainBytes && g.kind === 'unallocated') await fallback(index * this.grainBytes, grain);
    grain.set(piece, within);
    const at = this.fileEnd;
    this.fileEnd += this.grainBytes;
    await this.file.write(at, grain);
    await this.setEntry(index, at / VMDK_SECTOR);
  }

  private async streamWrite(index: number, within: number, piece: Uint8Array, hasBacking: boolean): Promise<void> {
    const g = await this.grain(index);
    let pend = this.pending.get(index);
    if (g.kind !== 'unallocated' && pend === undefined) {
      throw new StorageError('Unsupported', `${this.where()}: a stream-optimized VMDK is written once, in order; grain ${index} was already written`);
    }
    if (pend === undefined) {
      if (!hasBacking && isAllZero(piece)) return;
      if (this.pending.size >= MAX_PENDING_GRAINS) await this.emit(this.pending.keys().next().value!);
      pend = { data: new Uint8Array(this.grainBytes), filled: 0 };
      this.pending.set(index, pend);
    }
    pend.data.set(piece, within);
    pend.filled += piece.length;
    if (pend.filled >= this.grainBytes) await this.emit(index);
  }

  /** Compress a pending grain and append it with its marker. */
  private async emit(index: number): Promise<void> {
    const pend = this.pending.get(index)!;
    this.pending.delete(index);
    const packed = deflateSync(pend.data);
    const out = new Uint8Array(Math.ceil((12 + packed.length) / VMDK_SECTOR) * VMDK_SECTOR);
    const v = new DataView(out.buffer);
    const lba = index * this.header.grainSize;
    v.setUint32(0, lba % 2 ** 32, true);
    v.setUint32(4, Math.floor(lba / 2 ** 32), true);
    v.setUint32(8, packed.length, true);
    out.set(packed, 12);
    const at = this.fileEnd;
    this.fileEnd += out.length;
    await this.file.write(at, out);
    await this.setEntry(index, at / VMDK_SECTOR);
  }

  /** Stream-optimized output: emit pending grains, then grain tables, directory, footer and end marker. */
  async finish(): Promise<void> {
    if (this.stream === undefined) return;
    for (const index of [...this.pending.keys()]) await this.emit(index);
    const n = this.header.numGTEsPerGT;
    const tableBytes = Math.ceil((n * 4) / VMDK_SECTOR) * VMDK_SECTOR;
    const marker = (value: number, type: number): Uint8Array => {
      const m = new Uint8Array(VMDK_SECTOR);
      const v = new DataView(m.buffer);
      v.setUint32(0, value, true);
      v.setUint32(12, type, true);
      return m;
    };
    const gd = new Uint32Array(vmdkGdEntries(this.header));
    for (let i = 0; i < gd.length; i++) {
      const t = this.tables.get(i);
      if (t === undefined || t.every((e) => e === 0)) continue;
      await this.file.write(this.fileEnd, marker(tableBytes / VMDK_SECTOR, MARKER_GT));
      this.fileEnd += VMDK_SECTOR;
      const raw = new Uint8Array(tableBytes);
      const v = new DataView(raw.buffer);
      t.forEach((e, j) => v.setUint32(j * 4, e, true));
      gd[i] = this.fileEnd / VMDK_SECTOR;
      await this.file.write(this.fileEnd, raw);
      this.fileEnd += tableBytes;
    }
    const gdBytes = Math.ceil((gd.length * 4) / VMDK_SECTOR) * VMDK_SECTOR;
    await this.file.write(this.fileEnd, marker(gdBytes / VMDK_SECTOR, MARKER_GD));
    this.fileEnd += VMDK_SECTOR;
    const gdSector = this.fileEnd / VMDK_SECTOR;
    const rawGd = new Uint8Array(gdBytes);
    gd.forEach((e, j) => new DataView(rawGd.buffer).setUint32(j * 4, e, true));
    await this.file.write(this.fileEnd, rawGd);
    this.fileEnd += gdBytes;
    await this.file.write(this.fileEnd, marker(1, MARKER_FOOTER));
    this.fileEnd += VMDK_SECTOR;
    await this.file.write(this.fileEnd, serializeVmdkSparseHeader({ ...this.stream.header, gdOffset: gdSector }));
    this.fileEnd += VMDK_SECTOR;
    await this.file.write(this.fileEnd, marker(0, MARKER_EOS));
    this.fileEnd += VMDK_SECTOR;
    await this.file.truncate(this.fileEnd);
  }
}

