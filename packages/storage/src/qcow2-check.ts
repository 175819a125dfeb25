import { StorageError } from './errors.js';
import type { CheckReport } from './image-format.js';
import type { Qcow2Device } from './qcow2-device.js';
import { HI_COPIED, l1Offset } from './qcow2-entries.js';
import { Qcow2Metadata } from './qcow2-metadata.js';
import { readSnapshotTable } from './qcow2-snapshots.js';
import { compressedSpan, recomputeCopiedFlags, walkTree } from './qcow2-tree.js';

/** Most findings listed one by one; the counters go on. */
const MAX_MESSAGES = 1000;

/**
 * `qemu-img check` for qcow2: rebuild the reference count of every host cluster from the tables
 * (header, L1/L2 of the active image and of each snapshot, snapshot table, refcount structures),
 * compare with the stored refcounts, and check the COPIED flags. With `repair`, set the stored
 * refcounts to the references (`leaks`: only lower them; `all`: also raise them and fix the flags).
 */
export async function qcow2Check(device: Qcow2Device, repair: 'none' | 'leaks' | 'all'): Promise<CheckReport> {
  const meta = device.meta;
  const h = meta.header;
  const cs = meta.clusterSize;
  const fileSize = await meta.file.size();
  const fileClusters = Math.ceil(fileSize / cs);
  const refs = new Uint32Array(fileClusters);
  const report: CheckReport = {
    corruptions: 0,
    leaks: 0,
    corruptionsFixed: 0,
    leaksFixed: 0,
    checkErrors: 0,
    messages: [],
    totalClusters: Math.ceil(h.size / cs),
    allocatedClusters: 0,
    fragmentedClusters: 0,
    compressedClusters: 0,
    imageEndOffset: fileSize,
  };
  const say = (line: string): void => {
    if (report.messages.length < MAX_MESSAGES) report.messages.push(line);
  };
  const ref = (offset: number, count: number, what: string): void => {
    const first = Math.floor(offset / cs);
    for (let c = first; c < first + count; c++) {
      if (c >= fileClusters) {
        say(`ERROR ${what} at 0x${(c * cs).toString(16)} is outside the image`);
        report.corruptions++;
        return;
      }
      refs[c]++;
    }
  };

  ref(0, 1, 'header');
  ref(h.refcountTableOffset, h.refcountTableClusters, 'refcount table');
  for (const b of meta.refcounts.tableEntries) if (b !== 0) ref(b, 1, 'refcount block');
  if (h.l1Size > 0) ref(h.l1TableOffset, Math.ceil((h.l1Size * 8) / cs), 'L1 table');

  const walk = async (l1: Uint32Array, active: boolean): Promise<void> => {
    let prevHost = -1;
    await walkTree(meta, l1, {
      l2: (_i, off) => ref(off, 1, 'L2 table'),
      cluster: (_i, _j, m) => {
        if (m.kind === 'compressed') {
          const { first, count } = compressedSpan(m, cs);
          ref(first * cs, count, 'compressed cluster');
          if (active) {
            report.allocatedClusters!++;
            report.compressedClusters!++;
          }
          return;
        }
        if (!meta.externalData) ref(m.host, 1, 'data cluster');
        if (active && m.kind === 'normal') {
          report.allocatedClusters!++;
          if (prevHost !== -1 && m.host !== prevHost + cs) report.fragmentedClusters!++;
          prevHost = m.host;
        }
      },
    });
  };
  try {
    await walk(meta.l1, true);
    const snapshots = await readSnapshotTable(meta.file, h);
    if (h.nbSnapshots > 0) {
      let bytes = 0;
      for (const s of snapshots) bytes += (40 + 24 + s.id.length + s.name.length + s.extraRest.length + 7) & ~7;
      ref(h.snapshotsOffset, Math.max(1, Math.ceil(bytes / cs)), 'snapshot table');
    }
    for (const s of snapshots) {
      if (s.l1Size === 0) continue;
      ref(s.l1TableOffset, Math.ceil((s.l1Size * 8) / cs), `snapshot '${s.name}' L1 table`);
      await walk(await Qcow2Metadata.readL1(meta.file, s.l1TableOffset, s.l1Size, cs, `snapshot '${s.name}' L1 table`), false);
    }
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    report.checkErrors++;
    say(`ERROR ${err.message}`);
    return report;
  }

  // Compare with the stored refcounts. Clusters past the end of the file may still carry refcounts.
  const coveredClusters = meta.refcounts.tableEntries.reduce((n, b, i) => (b !== 0 ? (i + 1) * meta.refcounts.entriesPerBlock : n), 0);
  const last = Math.max(fileClusters, Math.min(coveredClusters, fileClusters + (1 << 20)));
  const fixes: { cluster: number; delta: number }[] = [];
  for (let c = 0; c < last; c++) {
    const stored = await meta.refcounts.get(c * cs);
    const expected = c < fileClusters ? refs[c] : 0;
    if (stored === expected) continue;
    if (stored > expected) {
      report.leaks++;
      say(`Leaked cluster ${c} refcount=${stored} reference=${expected}`);
      if (repair !== 'none') fixes.push({ cluster: c, delta: expected - stored });
    } else {
      report.corruptions++;
      say(`ERROR cluster ${c} refcount=${stored} reference=${expected}`);
      if (repair === 'all') fixes.push({ cluster: c, delta: expected - stored });
    }
  }
  // COPIED flags of the active tree.
  const l1 = meta.l1;
  for (let i = 0; i * 2 < l1.length; i++) {
    const off = l1Offset(l1[i * 2], l1[i * 2 + 1]);
    if (off === 0) continue;
    const expected = off < fileSize ? refs[Math.floor(off / cs)] : 0;
    if (((l1[i * 2] & HI_COPIED) !== 0) !== (expected === 1)) {
      report.corruptions++;
      say(`ERROR OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${off.toString(16)} refcount=${expected}`);
    }
    const table = await meta.l2Table(off);
    for (let j = 0; j < meta.l2Entries; j++) {
      const m = meta.entry(table, j);
      if ((m.kind !== 'normal' && m.kind !== 'zero') || m.host === 0 || meta.externalData) continue;
      const rc = m.host < fileSize ? refs[Math.floor(m.host / cs)] : 0;
      if (m.copied !== (rc === 1)) {
        report.corruptions++;
        say(`ERROR OFLAG_COPIED data cluster: l2_entry=${m.host.toString(16)} refcount=${rc}`);
      }
    }
  }

  if (repair !== 'none' && fixes.length > 0) {
    if (device.readOnly) throw new StorageError('ReadOnly', `${meta.file.path}: repair needs the image opened read-write`);
    // Raise before lowering, so no cluster in use is ever counted free on disk.
    fixes.sort((a, b) => b.delta - a.delta);
    for (const f of fixes) {
      await meta.refcounts.adjust(f.cluster * cs, 1, f.delta);
      if (f.delta < 0) report.leaksFixed++;
      else report.corruptionsFixed++;
    }
    await meta.refcounts.sync();
    await meta.file.flush();
  }
  if (repair === 'all') {
    const flagFixes = await recomputeCopiedFlags(meta);
    report.corruptionsFixed += flagFixes;
    await meta.file.flush();
  }
  report.imageEndOffset = await meta.file.size();
  return report;
}
