import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { ClusterMapping } from './qcow2-entries.js';
import { HI_COPIED, checkL1Entry, decodeL2, encodeStandard, l1Offset } from './qcow2-entries.js';
import type { Qcow2Header } from './qcow2-header.js';
import { INCOMPAT_DATA_FILE, INCOMPAT_EXTL2, encodeHeader, writeU64 } from './qcow2-header.js';
import type { Qcow2Refcounts } from './qcow2-refcounts.js';

/** Bytes of L2 tables kept in memory before clean ones are dropped. */
const L2_CACHE_BYTES = 64 << 20;

/** One cached L2 table with the byte range changed since it was last written. */
export interface L2Table {
  offset: number;
  data: Uint8Array;
  view: DataView;
  lo: number;
  hi: number;
}

/** A cluster mapping with the subcluster bitmaps of an extended L2 entry (all-allocated otherwise). */
export interface Mapping extends ClusterMapping {
  /** Bit x: subcluster x is allocated (extended L2 only). */
  allocBits: number;
  /** Bit x: subcluster x reads as zeros (extended L2 only). */
  zeroBits: number;
}

/**
 * The metadata of an open qcow2 image: header, active L1 table, L2 table cache and refcounts, with
 * the primitives the device builds reads and writes from. Every table entry is validated when it is
 * first used; a bad one is a `CorruptTable` error naming the table and the file offset.
 */
export class Qcow2Metadata {
  readonly clusterSize: number;
  readonly clusterBits: number;
  /** Bytes per L2 entry: 8, or 16 with extended L2 entries. */
  readonly entryBytes: number;
  readonly l2Entries: number;
  readonly extendedL2: boolean;
  readonly subclusterSize: number;
  /** Active L1 table as (hi, lo) pairs. */
  l1: Uint32Array;
  private readonly l2Cache = new Map<number, L2Table>();
  private l2CacheBytes = 0;

  constructor(
    readonly file: HostFile,
    /** Where guest data lives: the image file, or the external data file. */
    readonly data: HostFile,
    readonly header: Qcow2Header,
    l1: Uint32Array,
    readonly refcounts: Qcow2Refcounts,
  ) {
    this.clusterBits = header.clusterBits;
    this.clusterSize = 2 ** header.clusterBits;
    this.extendedL2 = (header.incompatible & INCOMPAT_EXTL2) !== 0;
    this.entryBytes = this.extendedL2 ? 16 : 8;
    this.l2Entries = this.clusterSize / this.entryBytes;
    this.subclusterSize = this.extendedL2 ? this.clusterSize / 32 : this.clusterSize;
    this.l1 = l1;
  }

  get externalData(): boolean {
    return (this.header.incompatible & INCOMPAT_DATA_FILE) !== 0;
  }

  /** Read and validate an L1 table of `entries` entries at `offset`. */
  static async readL1(file: HostFile, offset: number, entries: number, clusterSize: number, what: string): Promise<Uint32Array> {
    const raw = new Uint8Array(entries * 8);
    await readExact(file, offset, raw, what);
    const view = new DataView(raw.buffer);
    const l1 = new Uint32Array(entries * 2);
    for (let i = 0; i < entries; i++) {
      const hi = view.getUint32(i * 8);
      const lo = view.getUint32(i * 8 + 4);
      checkL1Entry(hi, lo, clusterSize, `${file.path}: ${what} entry ${i} at file offset ${offset + i * 8}`);
      l1[i * 2] = hi;
      l1[i * 2 + 1] = lo;
    }
    return l1;
  }

  /** Load (through the cache) the L2 table at `offset`. */
  async l2Table(offset: number): Promise<L2Table> {
    const hit = this.l2Cache.get(offset);
    if (hit !== undefined) {
      this.l2Cache.delete(offset);
      this.l2Cache.set(offset, hit);
      return hit;
    }
    if (offset < this.clusterSize) throw new StorageError('CorruptTable', `${this.file.path}: an L1 entry points into the qcow2 header`);
    // Reads of a read-only image run concurrently: two of them may want the same table.
    let loading = this.l2Loading.get(offset);
    if (loading === undefined) {
      loading = this.loadL2(offset);
      this.l2Loading.set(offset, loading);
      void loading.then(
        () => this.l2Loading.delete(offset),
        () => this.l2Loading.delete(offset),
      );
    }
    return loading;
  }

  private readonly l2Loading = new Map<number, Promise<L2Table>>();

  private async loadL2(offset: number): Promise<L2Table> {
    const data = new Uint8Array(this.clusterSize);
    await readExact(this.file, offset, data, 'qcow2 L2 table');
    const table: L2Table = { offset, data, view: new DataView(data.buffer), lo: this.clusterSize, hi: 0 };
    this.insertL2(table);
    return table;
  }

  private insertL2(table: L2Table): void {
    this.l2Cache.set(table.offset, table);
    this.l2CacheBytes += this.clusterSize;
    if (this.l2CacheBytes <= L2_CACHE_BYTES) return;
    for (const [off, t] of this.l2Cache) {
      if (this.l2CacheBytes <= L2_CACHE_BYTES / 2) break;
      if (t.lo < t.hi) continue;
      this.l2Cache.delete(off);
      this.l2CacheBytes -= this.clusterSize;
    }
  }

  /** Forget a cached table (after it was freed). */
  dropL2(offset: number): void {
    if (this.l2Cache.delete(offset)) this.l2CacheBytes -= this.clusterSize;
  }

  /** Decode entry `index` of `table`. */
  entry(table: L2Table, index: number): Mapping {
    const at = index * this.entryBytes;
    const hi = table.view.getUint32(at);
    const lo = table.view.getUint32(at + 4);
    const where = (): string => `${this.file.path}: qcow2 L2 table at 0x${table.offset.toString(16)}, entry ${index} (file offset ${table.offset + at})`;
    const m = decodeL2(hi, lo, this.clusterBits, this.header.version, where) as Mapping;
    m.allocBits = -1;
    m.zeroBits = 0;
    if (this.extendedL2) {
      m.zeroBits = table.view.getUint32(at + 8);
      m.allocBits = table.view.getUint32(at + 12);
      if (m.kind === 'compressed' && (m.allocBits | m.zeroBits) !== 0) {
        throw new StorageError('CorruptTable', `${where()}: compressed cluster has a subcluster bitmap`);
      }
      if ((m.allocBits & m.zeroBits) !== 0) throw new StorageError('CorruptTable', `${where()}: subcluster both allocated and zero`);
      if (m.kind === 'unallocated' && m.allocBits !== 0) throw new StorageError('CorruptTable', `${where()}: unallocated cluster has allocated subclusters`);
      if (m.kind === 'zero') m.kind = m.host === 0 ? 'unallocated' : 'normal';
    }
    return m;
  }

  /** How guest cluster `cluster` is mapped in the active L1 table. */
  async mapping(cluster: number): Promise<Mapping> {
    return this.mappingIn(this.l1, cluster);
  }

  async mappingIn(l1: Uint32Array, cluster: number): Promise<Mapping> {
    const l1Index = Math.floor(cluster / this.l2Entries);
    const l2Offset = l1Index * 2 < l1.length ? l1Offset(l1[l1Index * 2], l1[l1Index * 2 + 1]) : 0;
    if (l2Offset === 0) return { kind: 'unallocated', host: 0, compressedLength: 0, copied: false, allocBits: 0, zeroBits: 0 };
    return this.entry(await this.l2Table(l2Offset), cluster % this.l2Entries);
  }

  /** Store an entry in a cached table (written by `syncL2`). */
  setEntry(table: L2Table, index: number, hi: number, lo: number, allocBits = 0, zeroBits = 0): void {
    const at = index * this.entryBytes;
    if (table.lo >= table.hi) this.dirtyTableBytes += this.clusterSize;
    table.view.setUint32(at, hi);
    table.view.setUint32(at + 4, lo);
    if (this.extendedL2) {
      table.view.setUint32(at + 8, zeroBits);
      table.view.setUint32(at + 12, allocBits);
    }
    table.lo = Math.min(table.lo, at);
    table.hi = Math.max(table.hi, at + this.entryBytes);
    this.dirtyEntries++;
  }

  /** Clusters to release once no table on disk points to them any more. */
  private readonly pendingFree: { offset: number; count: number }[] = [];
  /** L2 entries changed since the last `syncL2`. */
  dirtyEntries = 0;
  /** Bytes of L2 tables with unwritten changes (they cannot be dropped from the cache). */
  dirtyTableBytes = 0;

  /** Drop a reference after the next `syncL2` (a table on disk may still point there until then). */
  releaseLater(offset: number, count: number): void {
    this.pendingFree.push({ offset, count });
  }

  /**
   * Write back the metadata in crash-safe order: refcount increments, then the changed L2 entries,
   * then the releases of clusters they no longer use. A writer killed at any point leaves at worst
   * clusters with a refcount nothing references (leaks), never a reference to a free cluster.
   */
  async syncL2(): Promise<void> {
    await this.refcounts.sync();
    await this.writeDirtyL2();
    this.dirtyEntries = 0;
    this.dirtyTableBytes = 0;
    if (this.pendingFree.length > 0) {
      for (const f of this.pendingFree.splice(0)) await this.refcounts.adjust(f.offset, f.count, -1);
      await this.refcounts.sync();
    }
  }

  private async writeDirtyL2(): Promise<void> {
    for (const t of this.l2Cache.values()) {
      if (t.lo >= t.hi) continue;
      this.guardMetadataWrite(t.offset, 'L2 table');
      await this.file.write(t.offset + t.lo, t.data.subarray(t.lo, t.hi));
      t.lo = this.clusterSize;
      t.hi = 0;
    }
  }

  /** Write L1 entry `index` of the active table. */
  async setL1(index: number, l2Offset: number, copied: boolean): Promise<void> {
    const [hi, lo] = encodeStandard(l2Offset, copied, false);
    this.l1[index * 2] = hi;
    this.l1[index * 2 + 1] = lo;
    const raw = new Uint8Array(8);
    const view = new DataView(raw.buffer);
    view.setUint32(0, hi);
    view.setUint32(4, lo);
    await this.file.write(this.header.l1TableOffset + index * 8, raw);
  }

  /**
   * The L2 table covering `l1Index`, ready to be changed: allocated when missing, copied to a new
   * cluster when shared with a snapshot (refcount above one).
   */
  async l2ForWrite(l1Index: number): Promise<L2Table> {
    const hi = this.l1[l1Index * 2];
    const old = l1Offset(hi, this.l1[l1Index * 2 + 1]);
    if (old !== 0 && (hi & HI_COPIED) !== 0) return this.l2Table(old);
    const offset = await this.refcounts.allocate(1);
    const data = new Uint8Array(this.clusterSize);
    if (old !== 0) data.set((await this.l2Table(old)).data);
    const table: L2Table = { offset, data, view: new DataView(data.buffer), lo: this.clusterSize, hi: 0 };
    this.insertL2(table);
    // New table and its refcount on disk before the L1 entry points to it.
    await this.refcounts.sync();
    await this.file.write(offset, data);
    await this.setL1(l1Index, offset, true);
    if (old !== 0) {
      await this.refcounts.adjust(old, 1, -1);
      await this.refcounts.sync();
    }
    return table;
  }

  /**
   * Refuse an in-place write over the header, the L1 table or the refcount structures: a corrupt
   * table pointing there must not destroy them (qemu's overlap check, in its cheap form).
   */
  guardMetadataWrite(host: number, what: string): void {
    const h = this.header;
    const cs = this.clusterSize;
    const inside = (start: number, bytes: number): boolean => host >= start && host < start + Math.max(bytes, 1);
    const hit =
      host < cs ||
      inside(h.l1TableOffset, h.l1Size * 8) ||
      inside(this.refcounts.tableLocation.offset, this.refcounts.tableLocation.clusters * cs) ||
      (h.snapshotsOffset !== 0 && inside(h.snapshotsOffset, cs)) ||
      this.refcounts.tableEntries.some((b) => b !== 0 && inside(b, cs));
    if (hit) {
      throw new StorageError('CorruptTable', `${this.file.path}: qcow2 ${what} at 0x${host.toString(16)} overlaps the image's metadata; refusing to write`);
    }
  }

  /** Rewrite the header cluster from `header`. */
  async writeHeader(): Promise<void> {
    // The whole first cluster, so no stale extension survives past the new end marker.
    await this.file.write(0, encodeHeader(this.header));
  }

  /** Write the incompatible-features field alone (dirty bit changes). */
  async writeIncompatible(): Promise<void> {
    const raw = new Uint8Array(8);
    writeU64(new DataView(raw.buffer), 0, this.header.incompatible);
    await this.file.write(72, raw);
  }
}
