import type { BlockDevice } from './block-device.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { SnapshotInfo, SnapshotStore } from './image-format.js';
import type { Qcow2Device } from './qcow2-device.js';
import { HI_COPIED, l1Offset } from './qcow2-entries.js';
import type { Qcow2Header } from './qcow2-header.js';
import { MAX_L1_BYTES, readU64, writeU64 } from './qcow2-header.js';
import { Qcow2Metadata } from './qcow2-metadata.js';
import { adjustTreeRefcounts, recomputeCopiedFlags } from './qcow2-tree.js';

/** qemu's limits on the snapshot table (block/qcow2.h). */
const MAX_SNAPSHOT_TABLE_BYTES = 64 << 20;
const MAX_EXTRA_DATA = 1024;
const ENTRY_FIXED = 40;
const EXTRA_WE_WRITE = 24;

/** One entry of the qcow2 snapshot table (QEMU qcow2.txt, "Snapshots"). */
export interface Qcow2Snapshot {
  l1TableOffset: number;
  l1Size: number;
  id: string;
  name: string;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  vmStateSize: number;
  diskSize: number | undefined;
  icount: number | undefined;
  /** Extra data beyond what this implementation interprets, kept on rewrite. */
  extraRest: Uint8Array;
}

/** Read and validate the snapshot table the header names. */
export async function readSnapshotTable(file: HostFile, h: Qcow2Header): Promise<Qcow2Snapshot[]> {
  const out: Qcow2Snapshot[] = [];
  const cs = 2 ** h.clusterBits;
  let at = h.snapshotsOffset;
  const decoder = new TextDecoder();
  for (let i = 0; i < h.nbSnapshots; i++) {
    const where = `${file.path}: qcow2 snapshot table entry ${i} at file offset ${at}`;
    if (at - h.snapshotsOffset > MAX_SNAPSHOT_TABLE_BYTES) throw new StorageError('CorruptTable', `${where}: snapshot table exceeds 64 MiB`);
    const fixed = new Uint8Array(ENTRY_FIXED);
    await readExact(file, at, fixed, 'qcow2 snapshot table entry');
    const v = new DataView(fixed.buffer);
    if (v.getUint32(0) >= 0x20_0000) throw new StorageError('CorruptTable', `${where}: L1 table offset is too large`);
    const l1TableOffset = readU64(v, 0);
    const l1Size = v.getUint32(8);
    const idSize = v.getUint16(12);
    const nameSize = v.getUint16(14);
    const extraSize = v.getUint32(36);
    if (l1TableOffset % cs !== 0 || l1TableOffset === 0) throw new StorageError('CorruptTable', `${where}: L1 table offset 0x${l1TableOffset.toString(16)} is not a cluster`);
    if (l1Size * 8 > MAX_L1_BYTES) throw new StorageError('CorruptTable', `${where}: L1 size ${l1Size} exceeds qemu's limit`);
    if (extraSize > MAX_EXTRA_DATA) throw new StorageError('CorruptTable', `${where}: extra data of ${extraSize} bytes exceeds ${MAX_EXTRA_DATA}`);
    if (h.version === 3 && extraSize < 16) throw new StorageError('CorruptTable', `${where}: version 3 snapshots need 16 bytes of extra data`);
    const rest = new Uint8Array(extraSize + idSize + nameSize);
    await readExact(file, at + ENTRY_FIXED, rest, 'qcow2 snapshot table entry');
    const rv = new DataView(rest.buffer);
    const diskSize = extraSize >= 16 ? readU64(rv, 8) : undefined;
    if (diskSize !== undefined && (rv.getUint32(8) >= 0x20_0000)) throw new StorageError('CorruptTable', `${where}: disk size is too large`);
    const icountHi = extraSize >= 24 ? rv.getUint32(16) : 0xffff_ffff;
    out.push({
      l1TableOffset,
      l1Size,
      id: decoder.decode(rest.subarray(extraSize, extraSize + idSize)),
      name: decoder.decode(rest.subarray(extraSize + idSize)),
      dateSec: v.getUint32(16),
      dateNsec: v.getUint32(20),
      vmClockNsec: readU64(v, 24),
      vmStateSize: extraSize >= 8 && rv.getUint32(0) < 0x20_0000 ? Math.max(readU64(rv, 0), v.getUint32(32)) : v.getUint32(32),
      diskSize,
      icount: icountHi === 0xffff_ffff || icountHi >= 0x20_0000 ? undefined : readU64(rv, 16),
      extraRest: rest.slice(Math.min(extraSize, EXTRA_WE_WRITE), extraSize),
    });
    at += (ENTRY_FIXED + rest.length + 7) & ~7;
  }
  return out;
}

function encodeTable(snapshots: readonly Qcow2Snapshot[], size: number): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const s of snapshots) {
    const id = enc.encode(s.id);
    const name = enc.encode(s.name);
    const extra = EXTRA_WE_WRITE + s.extraRest.length;
    const total = (ENTRY_FIXED + extra + id.length + name.length + 7) & ~7;
    const e = new Uint8Array(total);
    const v = new DataView(e.buffer);
    writeU64(v, 0, s.l1TableOffset);
    v.setUint32(8, s.l1Size);
    v.setUint16(12, id.length);
    v.setUint16(14, name.length);
    v.setUint32(16, s.dateSec);
    v.setUint32(20, s.dateNsec);
    writeU64(v, 24, s.vmClockNsec);
    v.setUint32(32, Math.min(s.vmStateSize, 0xffff_ffff));
    v.setUint32(36, extra);
    writeU64(v, 40, s.vmStateSize);
    writeU64(v, 48, s.diskSize ?? size);
    if (s.icount === undefined) {
      v.setUint32(56, 0xffff_ffff);
      v.setUint32(60, 0xffff_ffff);
    } else writeU64(v, 56, s.icount);
    e.set(s.extraRest, ENTRY_FIXED + EXTRA_WE_WRITE);
    e.set(id, ENTRY_FIXED + extra);
    e.set(name, ENTRY_FIXED + extra + id.length);
    parts.push(e);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function toInfo(s: Qcow2Snapshot): SnapshotInfo {
  const info: SnapshotInfo = {
    id: s.id,
    name: s.name,
    'vm-state-size': s.vmStateSize,
    'date-sec': s.dateSec,
    'date-nsec': s.dateNsec,
    'vm-clock-sec': Math.floor(s.vmClockNsec / 1e9),
    'vm-clock-nsec': s.vmClockNsec % 1e9,
  };
  if (s.icount !== undefined) info.icount = s.icount;
  return info;
}

/** Internal snapshots of a qcow2 image: list, create, apply, delete, and read-only views. */
export class Qcow2Snapshots implements SnapshotStore {
  constructor(
    private readonly device: Qcow2Device,
    private table: Qcow2Snapshot[],
  ) {}

  async list(): Promise<SnapshotInfo[]> {
    return this.table.map(toInfo);
  }

  private find(nameOrId: string): Qcow2Snapshot {
    const s = this.table.find((x) => x.id === nameOrId) ?? this.table.find((x) => x.name === nameOrId);
    if (s === undefined) throw new StorageError('InvalidArgument', `${this.device.file.path}: no snapshot '${nameOrId}'`);
    return s;
  }

  private writable(what: string): void {
    if (this.device.readOnly) throw new StorageError('ReadOnly', `snapshot ${what} on an image opened read-only`);
    if (this.device.meta.externalData) throw new StorageError('Unsupported', 'qcow2 images with an external data file cannot have internal snapshots');
  }

  /** Write a new table and point the header at it (the commit point), then free the old one. */
  private async storeTable(next: Qcow2Snapshot[]): Promise<void> {
    const meta = this.device.meta;
    const h = meta.header;
    const cs = meta.clusterSize;
    const bytes = encodeTable(next, h.size);
    const oldOffset = h.snapshotsOffset;
    const oldClusters = h.nbSnapshots === 0 ? 0 : Math.ceil(encodeTable(this.table, h.size).length / cs);
    let offset = 0;
    if (bytes.length > 0) {
      offset = await meta.refcounts.allocate(Math.ceil(bytes.length / cs));
      await meta.refcounts.sync();
      await meta.file.write(offset, bytes);
      await meta.file.flush();
    }
    h.snapshotsOffset = offset;
    h.nbSnapshots = next.length;
    await meta.writeHeader();
    await meta.file.flush();
    this.table = next;
    if (oldClusters > 0) await meta.refcounts.adjust(oldOffset, oldClusters, -1);
    await meta.refcounts.sync();
  }

  async create(name: string): Promise<SnapshotInfo> {
    this.writable('create');
    if (name.length === 0 || new TextEncoder().encode(name).length > 0xffff) throw new StorageError('InvalidArgument', 'snapshot name must be 1 to 65535 bytes');
    if (this.table.some((s) => s.name === name)) throw new StorageError('InvalidArgument', `a snapshot named '${name}' already exists`);
    return this.device.serialize(async () => {
      const meta = this.device.meta;
      await meta.refcounts.sync();
      await meta.syncL2();
      const cs = meta.clusterSize;
      const l1Bytes = new Uint8Array(meta.header.l1Size * 8);
      const v = new DataView(l1Bytes.buffer);
      for (let i = 0; i < meta.header.l1Size; i++) {
        v.setUint32(i * 8, meta.l1[i * 2] & ~HI_COPIED);
        v.setUint32(i * 8 + 4, meta.l1[i * 2 + 1]);
      }
      // Every cluster of the active tree gains a reference before the snapshot that holds it exists.
      await adjustTreeRefcounts(meta, meta.l1, 1);
      const l1Offset = l1Bytes.length === 0 ? 0 : await meta.refcounts.allocate(Math.ceil(l1Bytes.length / cs));
      await meta.refcounts.sync();
      if (l1Bytes.length > 0) await meta.file.write(l1Offset, l1Bytes);
      const now = Date.now();
      const maxId = this.table.reduce((m, s) => Math.max(m, Number.parseInt(s.id, 10) || 0), 0);
      const snap: Qcow2Snapshot = {
        l1TableOffset: l1Offset === 0 ? cs : l1Offset,
        l1Size: meta.header.l1Size,
        id: String(maxId + 1),
        name,
        dateSec: Math.floor(now / 1000),
        dateNsec: (now % 1000) * 1e6,
        vmClockNsec: 0,
        vmStateSize: 0,
        diskSize: meta.header.size,
        icount: 0, // what qemu-img writes outside a running VM
        extraRest: new Uint8Array(0),
      };
      await this.storeTable([...this.table, snap]);
      await recomputeCopiedFlags(meta);
      return toInfo(snap);
    });
  }

  async delete(nameOrId: string): Promise<void> {
    this.writable('delete');
    const snap = this.find(nameOrId);
    return this.device.serialize(async () => {
      const meta = this.device.meta;
      const l1 = await Qcow2Metadata.readL1(meta.file, snap.l1TableOffset, snap.l1Size, meta.clusterSize, `snapshot '${snap.name}' L1 table`);
      await this.storeTable(this.table.filter((s) => s !== snap));
      await adjustTreeRefcounts(meta, l1, -1);
      if (snap.l1Size > 0) await meta.refcounts.adjust(snap.l1TableOffset, Math.ceil((snap.l1Size * 8) / meta.clusterSize), -1);
      await meta.refcounts.sync();
      await recomputeCopiedFlags(meta);
      await meta.file.flush();
    });
  }

  async apply(nameOrId: string): Promise<void> {
    this.writable('apply');
    const snap = this.find(nameOrId);
    return this.device.serialize(async () => {
      const meta = this.device.meta;
      const h = meta.header;
      if (snap.l1Size > h.l1Size) {
        throw new StorageError('Unsupported', `snapshot '${snap.name}' has a larger L1 table than the image; resize the image first`);
      }
      await meta.refcounts.sync();
      await meta.syncL2();
      const snapL1 = await Qcow2Metadata.readL1(meta.file, snap.l1TableOffset, snap.l1Size, meta.clusterSize, `snapshot '${snap.name}' L1 table`);
      await adjustTreeRefcounts(meta, snapL1, 1);
      await meta.refcounts.sync();
      const oldL1 = meta.l1.slice();
      const next = new Uint32Array(h.l1Size * 2);
      next.set(snapL1);
      const raw = new Uint8Array(h.l1Size * 8);
      const v = new DataView(raw.buffer);
      for (let i = 0; i < h.l1Size; i++) {
        v.setUint32(i * 8, next[i * 2]);
        v.setUint32(i * 8 + 4, next[i * 2 + 1]);
      }
      await meta.file.write(h.l1TableOffset, raw);
      meta.l1 = next;
      if (snap.diskSize !== undefined && snap.diskSize !== h.size) {
        h.size = snap.diskSize;
        await meta.writeHeader();
      }
      await meta.file.flush();
      await adjustTreeRefcounts(meta, oldL1, -1);
      await meta.refcounts.sync();
      await recomputeCopiedFlags(meta);
      await meta.file.flush();
    });
  }

  async open(nameOrId: string): Promise<BlockDevice> {
    const snap = this.find(nameOrId);
    const meta = this.device.meta;
    const l1 = await Qcow2Metadata.readL1(meta.file, snap.l1TableOffset, snap.l1Size, meta.clusterSize, `snapshot '${snap.name}' L1 table`);
    return this.device.view(l1, snap.diskSize ?? meta.header.size);
  }
}

/** The L2 offset of L1 entry `i`. */
export function l1EntryOffset(l1: Uint32Array, i: number): number {
  return l1Offset(l1[i * 2], l1[i * 2 + 1]);
}
