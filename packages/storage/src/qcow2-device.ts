import type { AllocationExtent, BlockDevice } from './block-device.js';
import { checkRange, coalesceExtents } from './block-device.js';
import { readBacking } from './backing.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { MAX_READV_BUFFERS, readInto } from './host-file.js';
import { WriteBehind } from './write-behind.js';
import type { CheckReport, FormatInfo, ImageDevice, SnapshotStore } from './image-format.js';
import { compressCluster, decompressCluster } from './qcow2-compress.js';
import { encodeCompressed, encodeStandard } from './qcow2-entries.js';
import {
  COMPAT_LAZY_REFCOUNTS,
  COMPRESSION_ZSTD,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTL2,
  AUTOCLEAR_DATA_FILE_RAW,
} from './qcow2-header.js';
import type { Mapping, Qcow2Metadata } from './qcow2-metadata.js';

/** L2 entries changed in memory before they are written back without a flush. */
const DIRTY_ENTRIES_LIMIT = 1 << 16;
/** Bytes of changed L2 tables held before they are written back (random writes touch many tables). */
const DIRTY_TABLE_BYTES_LIMIT = 32 << 20;
/** Largest run of clusters read or written with one host I/O (qemu-img convert's buffer size). */
const MAX_RUN_BYTES = 2 << 20;

/** Hooks the device delegates to sibling modules (check, snapshots, resize) without import cycles. */
export interface Qcow2Extras {
  check?: (device: Qcow2Device, repair: 'none' | 'leaks' | 'all') => Promise<CheckReport>;
  snapshots?: (device: Qcow2Device) => SnapshotStore;
  resize?: (device: Qcow2Device, newSize: number) => Promise<void>;
}

/**
 * A qcow2 image (v2 or v3) as a block device: reads through L1/L2 tables (normal, zero, compressed
 * clusters, extended L2 subclusters, backing file), and copy-on-write writes that allocate clusters
 * at the end of the file. Metadata is written in an order that a killed writer can only leave leaked
 * clusters behind: refcounts before the tables that point to a cluster, tables before refcounts are
 * dropped. Requests are serialised, so callers may overlap them.
 */
export class Qcow2Device implements ImageDevice {
  readonly format = 'qcow2';
  readonly sectorSize = 512;
  readonly snapshots: SnapshotStore | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private dirtyMarked = false;
  /** Compressed data is packed: the next free byte, and the end of the clusters taken for it. */
  private compCursor = 0;
  private compEnd = 0;
  private lastCompressed: { host: number; data: Uint8Array } | undefined;
  /** Data writes into newly allocated clusters, gathered and run behind their requests. */
  private readonly behind: WriteBehind;

  constructor(
    readonly meta: Qcow2Metadata,
    readonly backing: BlockDevice | undefined,
    readonly readOnly: boolean,
    private readonly extras: Qcow2Extras = {},
    /** A view of an internal snapshot: reads go through this L1 table instead of the active one. */
    private readonly viewL1?: Uint32Array,
    private readonly viewSize?: number,
  ) {
    this.snapshots = extras.snapshots?.(this);
    this.behind = new WriteBehind(meta.data);
  }

  get size(): number {
    return this.viewSize ?? this.meta.header.size;
  }
  get file(): HostFile {
    return this.meta.file;
  }
  get backingFile(): string | undefined {
    return this.meta.header.backingFile;
  }
  get backingFormat(): string | undefined {
    return this.meta.header.backingFormat;
  }
  get clusterSize(): number {
    return this.meta.clusterSize;
  }
  private get lazy(): boolean {
    return (this.meta.header.compatible & COMPAT_LAZY_REFCOUNTS) !== 0;
  }

  /**
   * Run `fn` after every earlier request: one request at a time touches the metadata. Data writes
   * into new clusters that earlier requests left running are waited for first, so `fn` sees them.
   */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    return this.queued(async () => {
      await this.drain();
      return fn();
    });
  }

  /** Requests queued and not yet finished. */
  private waiting = 0;

  private queued<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const wrapped = async (): Promise<T> => {
      try {
        return await fn();
      } finally {
        // No request is waiting behind this one: what is gathered for one write goes now.
        if (--this.waiting === 0) this.behind.idle();
      }
    };
    const run = this.queue.then(wrapped, wrapped);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Wait for every data write still in flight. */
  private drain(): Promise<void> {
    return this.behind.drain();
  }

  private live(what: string, writing: boolean): void {
    if (this.closed) throw new StorageError('Closed', `${what} on a closed qcow2 image ${this.file.path}`);
    if (writing && this.readOnly) throw new StorageError('ReadOnly', `${what} on qcow2 image ${this.file.path} opened read-only`);
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    this.live('read', false);
    checkRange(this, offset, buffer.length, 'read');
    // Nothing changes a read-only image: its reads need no queue and may overlap (convert reads
    // ahead), as qemu's do.
    if (this.readOnly) return this.readAt(offset, buffer);
    return this.serialize(() => this.readAt(offset, buffer));
  }

  private async readHost(host: number, out: Uint8Array): Promise<void> {
    const n = await this.meta.data.read(host, out);
    if (n < out.length) {
      throw new StorageError('Truncated', `${this.meta.data.path}: qcow2 data cluster at 0x${host.toString(16)} lies past the end of the file`);
    }
  }

  private async compressed(m: Mapping): Promise<Uint8Array> {
    if (this.lastCompressed?.host === m.host) return this.lastCompressed.data;
    const fileSize = await this.file.size();
    const length = Math.max(0, Math.min(m.compressedLength, fileSize - m.host));
    const input = new Uint8Array(length);
    await this.file.read(m.host, input);
    const type = this.meta.header.compressionType === COMPRESSION_ZSTD ? COMPRESSION_ZSTD : 0;
    const data = decompressCluster(type, input, this.clusterSize, `${this.file.path}: compressed cluster at 0x${m.host.toString(16)}`);
    this.lastCompressed = { host: m.host, data };
    return data;
  }

  /**
   * Read without taking the queue (callers hold it). Clusters that lie one after another in the file
   * are read with one vector read, even where the guest range skips zero or unallocated clusters
   * between them (they are filled here): a qcow2 image made from a sparse disk keeps its data
   * clusters contiguous in the file.
   */
  async readAt(offset: number, buffer: Uint8Array): Promise<void> {
    const cs = this.clusterSize;
    const l1 = this.viewL1 ?? this.meta.l1;
    let parts: Uint8Array[] = [];
    let runHost = 0;
    let runEnd = 0;
    const flushRun = async (): Promise<void> => {
      if (parts.length === 0) return;
      const run = parts;
      parts = [];
      const n = await readInto(this.meta.data, runHost, run);
      if (n < runEnd - runHost) {
        throw new StorageError('Truncated', `${this.meta.data.path}: qcow2 data cluster at 0x${(runHost + n).toString(16)} lies past the end of the file`);
      }
    };
    let pos = 0;
    while (pos < buffer.length) {
      const guest = offset + pos;
      const cluster = Math.floor(guest / cs);
      const within = guest - cluster * cs;
      const n = Math.min(cs - within, buffer.length - pos);
      const m = await this.meta.mappingIn(l1, cluster);
      const out = buffer.subarray(pos, pos + n);
      if (m.kind === 'normal' && m.allocBits === -1) {
        const host = m.host + within;
        if (parts.length > 0 && (host !== runEnd || runEnd - runHost + n > MAX_RUN_BYTES || parts.length >= MAX_READV_BUFFERS)) await flushRun();
        if (parts.length === 0) runHost = runEnd = host;
        // Guest-contiguous clusters share one buffer; the file read fills them in order.
        const last = parts[parts.length - 1];
        if (last !== undefined && last.buffer === out.buffer && last.byteOffset + last.length === out.byteOffset) {
          parts[parts.length - 1] = new Uint8Array(out.buffer, last.byteOffset, last.length + n);
        } else parts.push(out);
        runEnd += n;
      } else if (m.kind === 'compressed') out.set((await this.compressed(m)).subarray(within, within + n));
      else if (this.meta.extendedL2) await this.readSubclusters(m, guest, within, out);
      else if (m.kind === 'zero') out.fill(0);
      else await readBacking(this.backing, guest, out);
      pos += n;
    }
    await flushRun();
  }

  private async readSubclusters(m: Mapping, guest: number, within: number, out: Uint8Array): Promise<void> {
    const sub = this.meta.subclusterSize;
    let done = 0;
    while (done < out.length) {
      const at = within + done;
      const s = Math.floor(at / sub);
      const n = Math.min(sub - (at - s * sub), out.length - done);
      const part = out.subarray(done, done + n);
      if (((m.allocBits >>> s) & 1) === 1) await this.readHost(m.host + at, part);
      else if (((m.zeroBits >>> s) & 1) === 1) part.fill(0);
      else await readBacking(this.backing, guest + done, part);
      done += n;
    }
  }

  private checkWritable(what: string): void {
    if (this.viewL1 !== undefined) throw new StorageError('ReadOnly', `${what} on a snapshot view`);
    if ((this.meta.header.incompatible & INCOMPAT_EXTL2) !== 0) {
      throw new StorageError('Unsupported', `${this.file.path}: writing qcow2 images with extended L2 entries is not supported`);
    }
    if ((this.meta.header.incompatible & INCOMPAT_CORRUPT) !== 0) {
      throw new StorageError('CorruptHeader', `${this.file.path}: qcow2 image is marked corrupt; repair it before writing`);
    }
  }

  /** Before the first metadata change of an image with lazy refcounts, set the dirty bit. */
  private async beforeMetadataChange(): Promise<void> {
    if (!this.lazy || this.dirtyMarked) return;
    this.meta.header.incompatible |= INCOMPAT_DIRTY;
    await this.meta.writeIncompatible();
    await this.file.flush();
    this.dirtyMarked = true;
  }

  /**
   * Writes into new clusters do not hold the queue while their data is written: the clusters are
   * allocated and mapped in memory, the data write starts, and the next request may begin (up to
   * four data writes overlap, as qemu-img convert keeps several requests in
   * flight). The promise resolves once this write's data is written.
   */
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.live('write', true);
    checkRange(this, offset, data.length, 'write');
    this.checkWritable('write');
    const started: Promise<void>[] = [];
    await this.queued(() => this.writeAt(offset, data, started));
    await Promise.all(started);
  }

  /**
   * Write under the queue. With `started`, data writes into new clusters are only started and pushed
   * there (the caller awaits them); without it they complete before this returns.
   */
  private async writeAt(offset: number, data: Uint8Array, started?: Promise<void>[]): Promise<void> {
    const cs = this.clusterSize;
    let pos = 0;
    while (pos < data.length) {
      const guest = offset + pos;
      const cluster = Math.floor(guest / cs);
      const within = guest - cluster * cs;
      const m = await this.meta.mapping(cluster);
      if (m.kind === 'normal' && m.copied) {
        let run = Math.min(cs - within, data.length - pos);
        while (pos + run < data.length && run < MAX_RUN_BYTES) {
          const k = Math.ceil((within + run) / cs);
          const next = await this.meta.mapping(cluster + k);
          if (next.kind !== 'normal' || !next.copied || next.host !== m.host + k * cs) break;
          run += Math.min(cs, data.length - pos - run);
        }
        if (!this.meta.externalData) this.meta.guardMetadataWrite(m.host, 'data cluster');
        // The cluster may be one whose first write is still in flight.
        await this.drain();
        await this.meta.data.write(m.host + within, data.subarray(pos, pos + run));
        pos += run;
        continue;
      }
      pos += await this.allocateRun(cluster, within, m, data.subarray(pos), started);
    }
  }

  /**
   * Write into a run of clusters that each need a new host cluster (unallocated, zero, compressed or
   * shared with a snapshot), starting with `first` (mapped as `m`). Returns the bytes consumed.
   */
  private async allocateRun(first: number, within: number, m: Mapping, data: Uint8Array, started?: Promise<void>[]): Promise<number> {
    const cs = this.clusterSize;
    const olds: Mapping[] = [m];
    let consumed = Math.min(cs - within, data.length);
    while (consumed < data.length && olds.length * cs < MAX_RUN_BYTES) {
      const next = await this.meta.mapping(first + olds.length);
      if (next.kind === 'normal' && next.copied) break;
      olds.push(next);
      consumed += Math.min(cs, data.length - consumed);
    }
    const count = olds.length;
    const guestStart = first * cs;
    if (within === 0 && consumed === count * cs) {
      // Whole clusters: write the caller's bytes as they are, no copy.
      return this.placeRun(first, count, olds, data.subarray(0, consumed), started);
    }
    const buf = new Uint8Array(count * cs);
    // Partial head or tail clusters keep their old content (from this image, its backing, or zeros).
    if (within !== 0) await this.readAt(guestStart, buf.subarray(0, Math.min(cs, this.size - guestStart)));
    const end = within + consumed;
    if (end % cs !== 0 && (count > 1 || within === 0)) {
      const lastStart = (count - 1) * cs;
      const lastLen = Math.min(cs, this.size - (guestStart + lastStart));
      await this.readAt(guestStart + lastStart, buf.subarray(lastStart, lastStart + lastLen));
    }
    buf.set(data.subarray(0, consumed), within);
    await this.placeRun(first, count, olds, buf, started);
    return consumed;
  }

  /** Store `count` whole clusters of `buf` in new host clusters and map them; returns the bytes placed. */
  private async placeRun(first: number, count: number, olds: readonly Mapping[], buf: Uint8Array, started?: Promise<void>[]): Promise<number> {
    const cs = this.clusterSize;
    const guestStart = first * cs;
    await this.beforeMetadataChange();
    // L2 tables first, so the data clusters that follow lie contiguous in the file (as qemu lays them out).
    const l2 = this.meta.l2Entries;
    for (let i = Math.floor(first / l2); i <= Math.floor((first + count - 1) / l2); i++) await this.meta.l2ForWrite(i);
    const host = this.meta.externalData ? guestStart : await this.meta.refcounts.allocate(count);
    const data = guestStart + count * cs > this.size && this.meta.externalData ? buf.subarray(0, this.size - guestStart) : buf;
    if (started === undefined) await this.meta.data.write(host, data);
    else started.push((await this.behind.add(host, data)).written);
    await this.setMappings(first, count, (i) => encodeStandard(host + i * cs, true, false));
    await this.releaseAll(olds);
    return buf.length;
  }

  /** Point `count` clusters from `first` at new entries, then write the changed L2 tables. */
  private async setMappings(first: number, count: number, entry: (i: number) => [number, number]): Promise<void> {
    for (let i = 0; i < count; i++) {
      const cluster = first + i;
      const table = await this.meta.l2ForWrite(Math.floor(cluster / this.meta.l2Entries));
      const [hi, lo] = entry(i);
      this.meta.setEntry(table, cluster % this.meta.l2Entries, hi, lo);
    }
    // Metadata is written back at flush, or when this many entries wait (bounds the dirty cache);
    // the data it points to is written first.
    if (this.meta.dirtyEntries > DIRTY_ENTRIES_LIMIT || this.meta.dirtyTableBytes > DIRTY_TABLE_BYTES_LIMIT) {
      await this.drain();
      await this.meta.syncL2();
    }
  }

  /** Drop the references the old mappings held, once the tables on disk no longer point there. */
  private async releaseAll(olds: readonly Mapping[]): Promise<void> {
    if (this.meta.externalData) return;
    const cs = this.clusterSize;
    for (const old of olds) {
      if ((old.kind === 'normal' || old.kind === 'zero') && old.host !== 0) {
        this.meta.releaseLater(old.host, 1);
      } else if (old.kind === 'compressed') {
        const firstCluster = Math.floor(old.host / cs);
        const lastCluster = Math.floor((old.host + old.compressedLength - 1) / cs);
        this.meta.releaseLater(firstCluster * cs, lastCluster - firstCluster + 1);
        if (this.lastCompressed?.host === old.host) this.lastCompressed = undefined;
      }
    }
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.live('writeZeroes', true);
    checkRange(this, offset, length, 'writeZeroes');
    this.checkWritable('writeZeroes');
    return this.serialize(() => this.zeroAt(offset, length, false));
  }

  async discard(offset: number, length: number): Promise<void> {
    this.live('discard', true);
    checkRange(this, offset, length, 'discard');
    this.checkWritable('discard');
    return this.serialize(() => this.zeroAt(offset, length, true));
  }

  /** `writeZeroes` for callers that already hold the queue (resize). */
  zeroLocked(offset: number, length: number): Promise<void> {
    return this.zeroAt(offset, length, false);
  }

  /**
   * Zero whole clusters through the tables (a zero cluster in v3; unallocated in v2 without a backing
   * file) and partial ones by writing zeros; `discardOnly` skips what cannot be deallocated.
   */
  private async zeroAt(offset: number, length: number, discardOnly: boolean): Promise<void> {
    const cs = this.clusterSize;
    const v3 = this.meta.header.version === 3;
    const canDrop = v3 || this.backing === undefined;
    let pos = 0;
    while (pos < length) {
      const guest = offset + pos;
      const cluster = Math.floor(guest / cs);
      const within = guest - cluster * cs;
      const clusterEnd = Math.min(cs, this.size - cluster * cs);
      const n = Math.min(clusterEnd - within, length - pos);
      if (within === 0 && n === clusterEnd && canDrop && !this.meta.externalData) {
        const m = await this.meta.mapping(cluster);
        if (m.kind !== 'zero' || m.host !== 0) {
          if (m.kind !== 'unallocated' || (v3 && this.backing !== undefined)) {
            await this.beforeMetadataChange();
            await this.setMappings(cluster, 1, () => (v3 ? encodeStandard(0, false, true) : [0, 0]));
            await this.releaseAll([m]);
          }
        }
      } else if (!discardOnly) {
        await this.writeAt(guest, new Uint8Array(n));
      }
      pos += n;
    }
  }

  /** Store one whole guest cluster compressed (for `convert -c`); the cluster must not be allocated yet. */
  async writeCompressed(offset: number, data: Uint8Array): Promise<void> {
    this.live('writeCompressed', true);
    this.checkWritable('writeCompressed');
    const cs = this.clusterSize;
    if (offset % cs !== 0 || (data.length !== cs && offset + data.length !== this.size) || data.length > cs) {
      throw new StorageError('InvalidArgument', `writeCompressed needs one whole cluster at a cluster boundary (offset ${offset}, ${data.length} bytes)`);
    }
    checkRange(this, offset, data.length, 'writeCompressed');
    if (this.meta.externalData) throw new StorageError('Unsupported', 'compressed clusters cannot live in an external data file');
    let full = data;
    if (data.length < cs) {
      full = new Uint8Array(cs);
      full.set(data);
    }
    return compressCluster(full).then((packed) => this.serialize(() => this.storeCompressed(offset, full, packed)));
  }

  private async storeCompressed(offset: number, data: Uint8Array, packed: Uint8Array | undefined): Promise<void> {
    const cs = this.clusterSize;
    const cluster = offset / cs;
    const m = await this.meta.mapping(cluster);
    if (m.kind === 'normal' || m.kind === 'compressed') {
      throw new StorageError('Unsupported', `compressed write to guest cluster ${cluster}, which is already allocated`);
    }
    if (packed === undefined) return this.writeAt(offset, data.subarray(0, Math.min(cs, this.size - offset)));
    await this.beforeMetadataChange();
    const bytes = Math.ceil(packed.length / 512) * 512;
    const refs = this.meta.refcounts;
    let host = this.compCursor;
    if (host === 0 || host + bytes > this.compEnd) {
      if (host !== 0 && this.compEnd === refs.end && host < this.compEnd) {
        // Continue into freshly taken clusters right after the current one.
        const extra = Math.ceil((host + bytes - this.compEnd) / cs);
        const at = await refs.allocate(extra);
        if (at !== this.compEnd) host = at;
        else await refs.adjust(Math.floor(host / cs) * cs, 1, 1);
        this.compEnd = at + extra * cs;
      } else {
        const count = Math.ceil(bytes / cs);
        host = await refs.allocate(count);
        this.compEnd = host + count * cs;
      }
    } else {
      await refs.adjust(Math.floor(host / cs) * cs, Math.floor((host + bytes - 1) / cs) - Math.floor(host / cs) + 1, 1);
    }
    this.compCursor = host + bytes;
    const out = new Uint8Array(bytes);
    out.set(packed);
    await this.file.write(host, out);
    await this.setMappings(cluster, 1, () => encodeCompressed(host, packed.length, this.meta.clusterBits));
    await this.releaseAll([m]);
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.live('allocation', false);
    checkRange(this, offset, length, 'allocation');
    return this.serialize(() => this.allocationAt(offset, length));
  }

  private async allocationAt(offset: number, length: number): Promise<AllocationExtent[]> {
    const cs = this.clusterSize;
    const l1 = this.viewL1 ?? this.meta.l1;
    const out: AllocationExtent[] = [];
    let pos = 0;
    while (pos < length) {
      const guest = offset + pos;
      const cluster = Math.floor(guest / cs);
      const within = guest - cluster * cs;
      const n = Math.min(cs - within, length - pos);
      const m = await this.meta.mappingIn(l1, cluster);
      const step = this.meta.extendedL2 && m.kind !== 'compressed' ? this.meta.subclusterSize : cs;
      for (let done = 0; done < n; ) {
        const at = within + done;
        const s = Math.floor(at / step);
        const len = Math.min(step - (at - s * step), n - done);
        const sub = this.meta.extendedL2 && step < cs;
        const kind = !sub ? m.kind : ((m.allocBits >>> s) & 1) === 1 ? 'normal' : ((m.zeroBits >>> s) & 1) === 1 ? 'zero' : 'unallocated';
        const ext: AllocationExtent = { offset: guest + done, length: len, status: 'unallocated', depth: 0 };
        if (kind === 'normal') Object.assign(ext, { status: 'data', hostOffset: m.host + at });
        else if (kind === 'compressed') ext.status = 'data';
        else if (kind === 'zero') ext.status = 'zero';
        out.push(ext);
        done += len;
      }
      pos += n;
    }
    const merged = coalesceExtents(out);
    if (this.backing === undefined) return merged;
    const result: AllocationExtent[] = [];
    for (const e of merged) {
      if (e.status !== 'unallocated') {
        result.push(e);
        continue;
      }
      const inside = Math.max(0, Math.min(e.length, this.backing.size - e.offset));
      if (inside > 0) {
        for (const b of await this.backing.allocation(e.offset, inside)) result.push({ ...b, depth: b.depth + 1 });
      }
      // Past the end of a shorter backing file nothing is allocated; qemu-img map reports it at depth 0.
      if (inside < e.length) result.push({ offset: e.offset + inside, length: e.length - inside, status: 'unallocated', depth: 0 });
    }
    return coalesceExtents(result);
  }

  async flush(): Promise<void> {
    this.live('flush', false);
    return this.serialize(() => this.flushAt());
  }

  private async flushAt(): Promise<void> {
    if (this.readOnly) return;
    await this.meta.syncL2();
    await this.file.flush();
    if (this.meta.data !== this.file) await this.meta.data.flush();
    if (this.dirtyMarked) {
      this.meta.header.incompatible &= ~INCOMPAT_DIRTY;
      await this.meta.writeIncompatible();
      await this.file.flush();
      this.dirtyMarked = false;
    }
  }

  async info(): Promise<FormatInfo> {
    this.live('info', false);
    const h = this.meta.header;
    const data: Record<string, unknown> = { compat: h.version === 3 ? '1.1' : '0.10' };
    data['compression-type'] = h.compressionType === COMPRESSION_ZSTD ? 'zstd' : 'zlib';
    if (h.version === 3) {
      data['lazy-refcounts'] = (h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0;
    }
    data['refcount-bits'] = this.meta.refcounts.refcountBits;
    if (h.version === 3) {
      data.corrupt = (h.incompatible & INCOMPAT_CORRUPT) !== 0;
      data['extended-l2'] = this.meta.extendedL2;
    }
    if (h.dataFile !== undefined) {
      data['data-file'] = h.dataFile;
      data['data-file-raw'] = (h.autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0;
    }
    return {
      clusterSize: this.clusterSize,
      dirty: (h.incompatible & INCOMPAT_DIRTY) !== 0,
      formatSpecific: { type: 'qcow2', data },
      snapshots: this.snapshots === undefined ? undefined : await this.snapshots.list(),
    };
  }

  async check(options: { repair: 'none' | 'leaks' | 'all' }): Promise<CheckReport> {
    this.live('check', options.repair !== 'none');
    const check = this.extras.check;
    if (check === undefined) throw new StorageError('Unsupported', 'qcow2 check is not available');
    return this.serialize(async () => {
      await this.flushAt();
      return check(this, options.repair);
    });
  }

  async resize(newSize: number): Promise<void> {
    this.live('resize', true);
    this.checkWritable('resize');
    const resize = this.extras.resize;
    if (resize === undefined) throw new StorageError('Unsupported', 'qcow2 resize is not available');
    return this.serialize(() => resize(this, newSize));
  }

  async setBackingFile(name: string | undefined, format: string | undefined): Promise<void> {
    this.live('setBackingFile', true);
    this.checkWritable('setBackingFile');
    return this.serialize(async () => {
      this.meta.header.backingFile = name;
      this.meta.header.backingFormat = name === undefined ? undefined : format;
      await this.meta.writeHeader();
      await this.file.flush();
    });
  }

  /** Unmap every cluster of the active table (they read from the backing file again). */
  async makeEmpty(): Promise<void> {
    this.live('makeEmpty', true);
    this.checkWritable('makeEmpty');
    return this.serialize(async () => {
      const meta = this.meta;
      for (let i = 0; i < meta.header.l1Size; i++) {
        if (meta.l1[i * 2 + 1] === 0 && (meta.l1[i * 2] & 0x00ff_ffff) === 0) continue;
        const olds: Mapping[] = [];
        const table = await meta.l2ForWrite(i);
        for (let j = 0; j < meta.l2Entries; j++) {
          const m = meta.entry(table, j);
          if (m.kind === 'unallocated' && m.host === 0) continue;
          olds.push(m);
          meta.setEntry(table, j, 0, 0);
        }
        if (olds.length === 0) continue;
        await this.beforeMetadataChange();
        await meta.syncL2();
        await this.releaseAll(olds);
      }
      await this.flushAt();
    });
  }

  /** A read-only device over another L1 table (an internal snapshot). */
  view(l1: Uint32Array, size: number): Qcow2Device {
    return new Qcow2Device(this.meta, this.backing, true, {}, l1, size);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.viewL1 !== undefined) {
      this.closed = true;
      return;
    }
    try {
      await this.serialize(() => this.flushAt());
    } finally {
      this.closed = true;
      await this.file.close();
      if (this.meta.data !== this.file) await this.meta.data.close();
      await this.backing?.close();
    }
  }
}
