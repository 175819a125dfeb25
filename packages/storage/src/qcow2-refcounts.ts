import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import { MAX_REFTABLE_BYTES, readU64, writeU64 } from './qcow2-header.js';

/** Bits 0-8 of a refcount table entry are reserved (QEMU qcow2.txt, "Host cluster management"). */
const REFTABLE_RESERVED_MASK = 0x1ff;

interface CachedBlock {
  data: Uint8Array;
  view: DataView;
  /** Dirty byte range not yet written, [lo, hi). */
  lo: number;
  hi: number;
}

/** Where the refcount table lives; the owner rewrites the header when `onTableMoved` reports a new one. */
export interface RefcountTableLocation {
  offset: number;
  clusters: number;
}

/**
 * The refcount structure of a qcow2 image: a table of refcount-block offsets and the blocks, each
 * holding `refcount_bits`-wide counts for a run of host clusters. Blocks are cached; changes are
 * written by `sync()`, which callers run before they write any table entry that points to a newly
 * referenced cluster (so a killed writer leaves leaks, never clusters in use with refcount 0).
 *
 * New clusters are taken from the end of the file; the table grows (moved to a new place, copied,
 * header updated, old place freed) when it must cover more blocks.
 */
export class Qcow2Refcounts {
  readonly clusterSize: number;
  readonly refcountBits: number;
  readonly maxRefcount: number;
  /** Host clusters one refcount block covers. */
  readonly entriesPerBlock: number;
  private table: number[];
  private readonly blocks = new Map<number, CachedBlock>();
  private tableDirty = false;
  /** First byte past the last cluster in use; new clusters go here. */
  end: number;

  private constructor(
    private readonly file: HostFile,
    private readonly clusterBits: number,
    refcountOrder: number,
    private location: RefcountTableLocation,
    table: number[],
    end: number,
    private readonly onTableMoved: (location: RefcountTableLocation) => Promise<void>,
  ) {
    this.clusterSize = 2 ** clusterBits;
    this.refcountBits = 2 ** refcountOrder;
    this.maxRefcount = this.refcountBits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.refcountBits - 1;
    this.entriesPerBlock = (this.clusterSize * 8) / this.refcountBits;
    this.table = table;
    this.end = end;
  }

  /** Load and validate the refcount table. */
  static async load(
    file: HostFile,
    clusterBits: number,
    refcountOrder: number,
    location: RefcountTableLocation,
    onTableMoved: (location: RefcountTableLocation) => Promise<void>,
  ): Promise<Qcow2Refcounts> {
    const clusterSize = 2 ** clusterBits;
    const bytes = location.clusters * clusterSize;
    if (bytes > MAX_REFTABLE_BYTES) throw new StorageError('CorruptHeader', `${file.path}: qcow2 refcount table of ${bytes} bytes is too large`);
    const raw = new Uint8Array(bytes);
    await readExact(file, location.offset, raw, 'qcow2 refcount table');
    const view = new DataView(raw.buffer);
    const table: number[] = new Array<number>(bytes / 8);
    for (let i = 0; i < table.length; i++) {
      const at = i * 8;
      if (view.getUint32(at) >= 0x20_0000 || (view.getUint32(at + 4) & REFTABLE_RESERVED_MASK) !== 0) {
        throw new StorageError('CorruptTable', `${file.path}: qcow2 refcount table entry ${i} at file offset ${location.offset + at} is invalid`);
      }
      const offset = readU64(view, at);
      if (offset % clusterSize !== 0) {
        throw new StorageError('CorruptTable', `${file.path}: qcow2 refcount block ${i} at 0x${offset.toString(16)} is not cluster-aligned (table entry at ${location.offset + at})`);
      }
      table[i] = offset;
    }
    const fileSize = await file.size();
    const end = Math.ceil(fileSize / clusterSize) * clusterSize;
    return new Qcow2Refcounts(file, clusterBits, refcountOrder, location, table, end, onTableMoved);
  }

  get tableLocation(): RefcountTableLocation {
    return this.location;
  }

  /** The refcount-block offsets (0 = no block). */
  get tableEntries(): readonly number[] {
    return this.table;
  }

  private async block(index: number, create: boolean): Promise<CachedBlock | undefined> {
    const cached = this.blocks.get(index);
    if (cached !== undefined) return cached;
    const offset = index < this.table.length ? this.table[index] : 0;
    if (offset === 0) {
      if (!create) return undefined;
      throw new StorageError('InvalidArgument', `qcow2 refcount block ${index} was not allocated before use`);
    }
    const data = new Uint8Array(this.clusterSize);
    await readExact(this.file, offset, data, `qcow2 refcount block ${index}`);
    const b: CachedBlock = { data, view: new DataView(data.buffer), lo: this.clusterSize, hi: 0 };
    this.blocks.set(index, b);
    return b;
  }

  private getIn(b: CachedBlock, i: number): number {
    const bits = this.refcountBits;
    if (bits < 8) {
      const bitPos = i * bits;
      return (b.data[bitPos >> 3] >> (bitPos & 7)) & ((1 << bits) - 1);
    }
    if (bits === 8) return b.data[i];
    if (bits === 16) return b.view.getUint16(i * 2);
    if (bits === 32) return b.view.getUint32(i * 4);
    const hi = b.view.getUint32(i * 8);
    return hi >= 0x20_0000 ? Number.MAX_SAFE_INTEGER : readU64(b.view, i * 8);
  }

  private setIn(b: CachedBlock, i: number, value: number): void {
    const bits = this.refcountBits;
    let lo: number;
    let hi: number;
    if (bits < 8) {
      const bitPos = i * bits;
      const mask = ((1 << bits) - 1) << (bitPos & 7);
      const at = bitPos >> 3;
      b.data[at] = (b.data[at] & ~mask) | ((value << (bitPos & 7)) & mask);
      lo = at;
      hi = at + 1;
    } else {
      const width = bits / 8;
      lo = i * width;
      hi = lo + width;
      if (bits === 8) b.data[i] = value;
      else if (bits === 16) b.view.setUint16(lo, value);
      else if (bits === 32) b.view.setUint32(lo, value);
      else writeU64(b.view, lo, value);
    }
    b.lo = Math.min(b.lo, lo);
    b.hi = Math.max(b.hi, hi);
  }

  /** The refcount of the host cluster at byte `offset` (0 where no block covers it). */
  async get(offset: number): Promise<number> {
    const cluster = Math.floor(offset / this.clusterSize);
    const b = await this.block(Math.floor(cluster / this.entriesPerBlock), false);
    return b === undefined ? 0 : this.getIn(b, cluster % this.entriesPerBlock);
  }

  /** Add `delta` to the refcount of `count` clusters from `offset` (in the cache; `sync` writes them). */
  async adjust(offset: number, count: number, delta: number): Promise<void> {
    await this.ensureCovered(offset + count * this.clusterSize);
    const first = Math.floor(offset / this.clusterSize);
    for (let c = first; c < first + count; c++) {
      const b = (await this.block(Math.floor(c / this.entriesPerBlock), true))!;
      const i = c % this.entriesPerBlock;
      const value = this.getIn(b, i) + delta;
      if (value < 0) {
        throw new StorageError('CorruptTable', `${this.file.path}: qcow2 refcount of cluster at 0x${(c * this.clusterSize).toString(16)} would drop below 0`);
      }
      if (value > this.maxRefcount) {
        throw new StorageError('Unsupported', `${this.file.path}: qcow2 refcount of cluster at 0x${(c * this.clusterSize).toString(16)} would exceed ${this.maxRefcount}`);
      }
      this.setIn(b, i, value);
    }
  }

  /** Take `count` contiguous new clusters (refcount 1) and return the offset of the first. */
  async allocate(count: number): Promise<number> {
    const offset = this.end;
    this.end += count * this.clusterSize;
    await this.adjust(offset, count, 1);
    return offset;
  }

  /**
   * Make sure every host cluster below `limit` has a refcount block, adding blocks and growing the
   * table as needed. Metadata placed here describes itself. Every loop round either ends or moves
   * `end` forward by at least one cluster, and the table is capped at qemu's limit, so it terminates.
   */
  private async ensureCovered(limit: number): Promise<void> {
    const newClusters: number[] = [];
    let oldTable: RefcountTableLocation | undefined;
    for (;;) {
      const top = Math.max(limit, this.end);
      const needBlocks = Math.ceil(top / this.clusterSize / this.entriesPerBlock);
      if (needBlocks > this.table.length) {
        const entries = Math.ceil((needBlocks + 1) * 1.5);
        const clusters = Math.ceil((entries * 8) / this.clusterSize);
        if (clusters * this.clusterSize > MAX_REFTABLE_BYTES) {
          throw new StorageError('Unsupported', `${this.file.path}: qcow2 refcount table would exceed ${MAX_REFTABLE_BYTES} bytes`);
        }
        oldTable ??= this.location;
        const offset = this.end;
        this.end += clusters * this.clusterSize;
        this.location = { offset, clusters };
        const grown = new Array<number>((clusters * this.clusterSize) / 8).fill(0);
        for (let i = 0; i < this.table.length; i++) grown[i] = this.table[i]!;
        this.table = grown;
        this.tableDirty = true;
        for (let i = 0; i < clusters; i++) newClusters.push(offset + i * this.clusterSize);
        continue;
      }
      let added = false;
      for (let i = 0; i < needBlocks; i++) {
        if (this.table[i] !== 0) continue;
        const offset = this.end;
        this.end += this.clusterSize;
        this.table[i] = offset;
        this.tableDirty = true;
        const data = new Uint8Array(this.clusterSize);
        this.blocks.set(i, { data, view: new DataView(data.buffer), lo: 0, hi: this.clusterSize });
        newClusters.push(offset);
        added = true;
      }
      if (!added) break;
    }
    if (newClusters.length === 0) return;
    for (const c of newClusters) {
      const cluster = c / this.clusterSize;
      const b = (await this.block(Math.floor(cluster / this.entriesPerBlock), true))!;
      this.setIn(b, cluster % this.entriesPerBlock, 1);
    }
    if (oldTable !== undefined) {
      // Commit point of a table move: blocks, then the new table, then the header; then free the old table.
      await this.sync();
      await this.onTableMoved(this.location);
      await this.adjust(oldTable.offset, oldTable.clusters, -1);
    }
  }

  /** Write changed refcount blocks (and a changed table) to the file. */
  async sync(): Promise<void> {
    for (const [index, b] of this.blocks) {
      if (b.lo >= b.hi) continue;
      await this.file.write(this.table[index] + b.lo, b.data.subarray(b.lo, b.hi));
      b.lo = this.clusterSize;
      b.hi = 0;
    }
    if (this.tableDirty) {
      const raw = new Uint8Array(this.location.clusters * this.clusterSize);
      const view = new DataView(raw.buffer);
      for (let i = 0; i < this.table.length; i++) writeU64(view, i * 8, this.table[i]);
      await this.file.write(this.location.offset, raw);
      this.tableDirty = false;
    }
  }

  /** True when changes wait for `sync`. */
  get dirty(): boolean {
    if (this.tableDirty) return true;
    for (const b of this.blocks.values()) if (b.lo < b.hi) return true;
    return false;
  }
}
