import type { AllocationExtent, BlockDevice } from './block-device.js';
import { checkRange, coalesceExtents } from './block-device.js';
import { readBacking } from './backing.js';
import { ImageGuard } from './image-guard.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CheckReport, FormatInfo, ImageDevice } from './image-format.js';
import type { VmdkDescriptor } from './vmdk-descriptor.js';
import { MAX_DESCRIPTOR_BYTES } from './vmdk-descriptor.js';
import { FLAG_COMPRESSED, VMDK_SECTOR } from './vmdk-header.js';
import type { SparseExtent } from './vmdk-sparse.js';

/** One extent of a VMDK disk, placed at `start` bytes of the virtual disk. */
export type VmdkExtent =
  | { kind: 'sparse'; start: number; length: number; sparse: SparseExtent; readOnly: boolean }
  | { kind: 'flat'; start: number; length: number; file: HostFile; fileOffset: number; readOnly: boolean }
  | { kind: 'zero'; start: number; length: number; readOnly: boolean };

export interface VmdkParts {
  /** The file the image was opened from (descriptor or monolithic sparse file). */
  file: HostFile;
  descriptor: VmdkDescriptor;
  extents: VmdkExtent[];
  /** Host files this image opened besides `file` (closed with it). */
  extraFiles: HostFile[];
  readOnly: boolean;
  parent?: BlockDevice;
  /** The CID of the VMDK named `name` (relative to this image), for a new parentCID. */
  parentCid?: (name: string) => Promise<number>;
}

/**
 * A VMDK disk: its extents (sparse, flat, zero) laid end to end, with an optional parent that
 * answers for grains a sparse extent does not hold.
 */
export class VmdkImage implements ImageDevice {
  readonly format = 'vmdk';
  readonly sectorSize = 512;
  readonly file: HostFile;
  readonly size: number;
  readonly readOnly: boolean;
  readonly backing: BlockDevice | undefined;
  backingFile: string | undefined;
  backingFormat: string | undefined;
  readonly descriptor: VmdkDescriptor;
  private readonly parentCid: ((name: string) => Promise<number>) | undefined;
  private readonly extents: VmdkExtent[];
  private readonly extraFiles: HostFile[];
  private cidUpdated = false;
  private readonly guard = new ImageGuard(this, 'VMDK');

  constructor(p: VmdkParts) {
    this.file = p.file;
    this.descriptor = p.descriptor;
    this.extents = p.extents;
    this.extraFiles = p.extraFiles;
    this.readOnly = p.readOnly;
    this.backing = p.parent;
    this.backingFile = p.descriptor.parentFileNameHint;
    this.backingFormat = p.descriptor.parentFileNameHint === undefined ? undefined : 'vmdk';
    this.size = p.extents.reduce((n, e) => n + e.length, 0);
    this.parentCid = p.parentCid;
  }

  /** qemu's rule for VMDK backing files: `Invalid backing file format: raw. Must be vmdk.` */
  static checkBackingFormat(format: string | undefined): void {
    if (format !== undefined && format !== 'vmdk') throw new StorageError('Unsupported', `Invalid backing file format: ${format}. Must be vmdk.`);
  }

  /**
   * Name a new parent (`rebase`; qemu-img cannot rebase VMDKs): the descriptor's
   * `parentFileNameHint` and `parentCID` (the parent's CID, read from it) change, every other line
   * stays. Without a name the disk has no parent any more. A descriptor embedded in a sparse extent
   * must still fit its sectors.
   */
  setBackingFile(name: string | undefined, format: string | undefined): Promise<void> {
    return this.guard.change('rebase', () => this.setBackingNow(name, format), false);
  }

  private async setBackingNow(name: string | undefined, format: string | undefined): Promise<void> {
    VmdkImage.checkBackingFormat(format);
    if (name !== undefined && /["\r\n]/.test(name)) throw new StorageError('InvalidArgument', `a VMDK parent name cannot hold quotes or line breaks: ${name}`);
    if (name !== undefined && this.parentCid === undefined) throw new StorageError('Unsupported', `${this.file.path}: the parent's CID cannot be read here`);
    const parentCid = name === undefined ? 0xffff_ffff : await this.parentCid!(name);
    const hex = parentCid.toString(16).padStart(8, '0');
    await this.rewriteDescriptor((text) => {
      let out = /^parentCID=.*$/m.test(text) ? text.replace(/^parentCID=.*$/m, `parentCID=${hex}`) : text.replace(/^(CID=.*)$/m, `$1\nparentCID=${hex}`);
      const hint = /^parentFileNameHint=.*(\r?\n)?/m;
      out = out.replace(hint, '');
      if (name !== undefined) out = out.replace(/^(createType=.*)$/m, `$1\nparentFileNameHint="${name}"`);
      return out;
    });
    this.descriptor.parentCid = parentCid;
    this.descriptor.parentFileNameHint = name;
    this.backingFile = name;
    this.backingFormat = name === undefined ? undefined : 'vmdk';
    for (const f of new Set([this.file, ...this.extraFiles])) await f.flush();
  }

  get clusterSize(): number | undefined {
    const first = this.extents.find((e) => e.kind === 'sparse');
    return first?.kind === 'sparse' ? first.sparse.grainBytes : undefined;
  }

  /** Call `visit` for each extent piece of `[offset, offset + length)`, in order. */
  private async pieces(offset: number, length: number, visit: (e: VmdkExtent, pos: number, at: number, n: number) => Promise<void>): Promise<void> {
    let done = 0;
    let i = 0;
    while (done < length) {
      const pos = offset + done;
      while (i < this.extents.length && this.extents[i].start + this.extents[i].length <= pos) i++;
      const e = this.extents[i];
      const n = Math.min(e.start + e.length - pos, length - done);
      await visit(e, pos, done, n);
      done += n;
    }
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    this.guard.live('read');
    checkRange(this, offset, buffer.length, 'read');
    await this.pieces(offset, buffer.length, async (e, pos, at, n) => {
      const out = buffer.subarray(at, at + n);
      if (e.kind === 'flat') await readExact(e.file, e.fileOffset + (pos - e.start), out, 'VMDK flat extent');
      else if (e.kind === 'zero') out.fill(0);
      else await e.sparse.read(pos - e.start, out, (o, b) => readBacking(this.backing, e.start + o, b));
    });
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.guard.change('write', () => this.writeNow(offset, data));
  }

  private async writeNow(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length, 'write');
    if (!this.cidUpdated) await this.updateCid();
    await this.pieces(offset, data.length, async (e, pos, at, n) => {
      const piece = data.subarray(at, at + n);
      if (e.readOnly || e.kind === 'zero') throw new StorageError('ReadOnly', `${this.file.path}: VMDK extent at byte ${e.start} is not writable`);
      if (e.kind === 'flat') await e.file.write(e.fileOffset + (pos - e.start), piece);
      else await e.sparse.write(pos - e.start, piece, (o, b) => readBacking(this.backing, e.start + o, b), this.backing !== undefined);
    });
  }

  /**
   * A new content id on the first write, as VMware and qemu do: overlays record their parent's CID,
   * so an overlay of this disk can tell that its parent has changed since it was made.
   */
  private async updateCid(): Promise<void> {
    this.cidUpdated = true;
    let cid = (Math.random() * 0xffff_fffe) >>> 0;
    if (cid === this.descriptor.cid) cid = (cid + 1) >>> 0;
    const hex = cid.toString(16).padStart(8, '0');
    // Only the CID line changes; a descriptor without one, or that would not fit, keeps its old CID.
    const changed = await this.rewriteDescriptor((text) => (/^CID=[0-9a-fA-F]+[ \t]*$/m.test(text) ? text.replace(/^CID=[0-9a-fA-F]+[ \t]*$/m, `CID=${hex}`) : undefined), false);
    if (changed) this.descriptor.cid = cid;
  }

  /**
   * Rewrite the descriptor text through `edit` (undefined: leave it), in its file or in the sectors
   * a sparse extent keeps it in. Returns whether it was written; with `required`, a descriptor that
   * cannot be rewritten (no room, none found) is an `Unsupported` error instead of false.
   */
  private async rewriteDescriptor(edit: (text: string) => string | undefined, required = true): Promise<boolean> {
    const refuse = (why: string): boolean => {
      if (required) throw new StorageError('Unsupported', `${this.file.path}: the VMDK descriptor cannot be changed: ${why}`);
      return false;
    };
    const first = this.extents[0];
    const embedded = first?.kind === 'sparse' && first.sparse.file === this.file;
    const at = embedded ? first.sparse.header.descriptorOffset * VMDK_SECTOR : 0;
    const room = embedded ? first.sparse.header.descriptorSize * VMDK_SECTOR : await this.file.size();
    if (embedded && at === 0) return refuse('the sparse extent has no embedded descriptor');
    if (room > MAX_DESCRIPTOR_BYTES) return refuse('it is larger than a descriptor can be');
    const old = new Uint8Array(room);
    await readExact(this.file, at, old, 'VMDK descriptor');
    const end = embedded ? old.indexOf(0) : -1;
    const text = edit(new TextDecoder().decode(end < 0 ? old : old.subarray(0, end)));
    if (text === undefined) return false;
    const updated = new TextEncoder().encode(text);
    if (embedded) {
      // A descriptor that no longer fits its sectors must not spill over the grain directory.
      if (updated.length > room) return refuse(`it would need ${updated.length} bytes, its sectors hold ${room}`);
      const area = new Uint8Array(room);
      area.set(updated);
      await this.file.write(at, area);
    } else {
      await this.file.write(0, updated);
      await this.file.truncate(updated.length);
    }
    return true;
  }

  flush(): Promise<void> {
    return this.guard.queued('flush', () => this.flushNow());
  }

  private async flushNow(): Promise<void> {
    if (this.readOnly) return;
    for (const e of this.extents) if (e.kind === 'sparse') await e.sparse.flushTables();
    for (const f of new Set([this.file, ...this.extraFiles])) await f.flush();
  }

  discard(offset: number, length: number): Promise<void> {
    return this.guard.change('discard', () => this.discardNow(offset, length));
  }

  private async discardNow(offset: number, length: number): Promise<void> {
    checkRange(this, offset, length, 'discard');
    // Hosted sparse extents have no way to give a grain back; a discard is a hint we may ignore.
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    return this.guard.change('writeZeroes', () => this.writeZeroesNow(offset, length));
  }

  private async writeZeroesNow(offset: number, length: number): Promise<void> {
    checkRange(this, offset, length, 'writeZeroes');
    const zeros = new Uint8Array(Math.min(length, 1 << 20));
    for (let done = 0; done < length; done += zeros.length) {
      const n = Math.min(zeros.length, length - done);
      // Unallocated grains with no parent already read as zeros; the sparse extent skips them.
      await this.writeNow(offset + done, zeros.subarray(0, n));
    }
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.guard.live('allocation');
    checkRange(this, offset, length, 'allocation');
    const out: AllocationExtent[] = [];
    await this.pieces(offset, length, async (e, pos, _at, n) => {
      if (e.kind === 'flat') {
        out.push({ offset: pos, length: n, status: 'data', depth: 0, hostOffset: e.fileOffset + (pos - e.start) });
        return;
      }
      if (e.kind === 'zero') {
        out.push({ offset: pos, length: n, status: 'zero', depth: 0 });
        return;
      }
      const gb = e.sparse.grainBytes;
      for (let done = 0; done < n; ) {
        const p = pos + done;
        const rel = p - e.start;
        const index = Math.floor(rel / gb);
        const m = Math.min(gb - (rel - index * gb), n - done);
        const g = await e.sparse.grain(index);
        if (g.kind === 'data') out.push({ offset: p, length: m, status: 'data', depth: 0, ...(g.hostOffset >= 0 ? { hostOffset: g.hostOffset + (rel - index * gb) } : {}) });
        else if (g.kind === 'compressed') out.push({ offset: p, length: m, status: 'data', depth: 0 });
        else if (g.kind === 'zero') out.push({ offset: p, length: m, status: 'zero', depth: 0 });
        else out.push(...(await this.below(p, m)));
        done += m;
      }
    });
    return coalesceExtents(out);
  }

  private async below(offset: number, length: number): Promise<AllocationExtent[]> {
    const parent = this.backing;
    const inside = parent === undefined ? 0 : Math.max(0, Math.min(length, parent.size - offset));
    const out: AllocationExtent[] = [];
    if (parent !== undefined && inside > 0) for (const e of await parent.allocation(offset, inside)) out.push({ ...e, depth: e.depth + 1 });
    if (inside < length) out.push({ offset: offset + inside, length: length - inside, status: 'unallocated', depth: 0 });
    return out;
  }

  /** Load every grain table of every sparse extent; each entry must point inside its file. */
  async check(_options: { repair: 'none' | 'leaks' | 'all' }): Promise<CheckReport> {
    this.guard.live('check');
    const report: CheckReport = { corruptions: 0, leaks: 0, corruptionsFixed: 0, leaksFixed: 0, checkErrors: 0, messages: [] };
    for (const e of this.extents) {
      if (e.kind !== 'sparse') continue;
      for (const problem of await e.sparse.checkTables()) {
        report.corruptions++;
        report.messages.push(`ERROR: ${problem}`);
      }
    }
    return report;
  }

  async info(): Promise<FormatInfo> {
    this.guard.live('info');
    const cluster = this.clusterSize;
    return {
      dirty: false,
      ...(cluster === undefined ? {} : { clusterSize: cluster }),
      formatSpecific: {
        type: 'vmdk',
        data: {
          cid: this.descriptor.cid,
          'parent-cid': this.descriptor.parentCid,
          'create-type': this.descriptor.createType,
          extents: this.extents.map((e) => ({
            'virtual-size': e.length,
            filename: e.kind === 'sparse' ? e.sparse.file.path : e.kind === 'flat' ? e.file.path : '',
            // qemu-img names flat extents and leaves the format of sparse ones empty.
            format: e.kind === 'flat' ? 'FLAT' : e.kind === 'zero' ? 'ZERO' : '',
            ...(e.kind === 'sparse' ? { 'cluster-size': e.sparse.grainBytes } : {}),
            ...(e.kind === 'sparse' && (e.sparse.header.flags & FLAG_COMPRESSED) !== 0 ? { compressed: true } : {}),
          })),
        },
      },
    };
  }

  close(): Promise<void> {
    return this.guard.close(() => this.closeNow());
  }

  private async closeNow(): Promise<void> {
    if (!this.readOnly) {
      for (const e of this.extents) if (e.kind === 'sparse') await e.sparse.finish();
      await this.flushNow();
    }
    for (const f of new Set([this.file, ...this.extraFiles])) await f.close();
    await this.backing?.close();
  }
}
