import { HI_COPIED, encodeStandard, l1Offset } from './qcow2-entries.js';
import type { Mapping, Qcow2Metadata } from './qcow2-metadata.js';

/** The host clusters a compressed cluster's bytes touch: [first, first + count). */
export function compressedSpan(m: Mapping, clusterSize: number): { first: number; count: number } {
  const first = Math.floor(m.host / clusterSize);
  const last = Math.floor((m.host + m.compressedLength - 1) / clusterSize);
  return { first, count: last - first + 1 };
}

/**
 * Visit every L2 table and every host cluster one L1 tree references. The walk is bounded by the
 * L1 size and the entries per table; every entry is validated by `Qcow2Metadata.entry`.
 */
export async function walkTree(
  meta: Qcow2Metadata,
  l1: Uint32Array,
  visit: {
    l2?(l1Index: number, offset: number): void | Promise<void>;
    cluster?(l1Index: number, l2Index: number, m: Mapping): void | Promise<void>;
  },
): Promise<void> {
  for (let i = 0; i * 2 < l1.length; i++) {
    const off = l1Offset(l1[i * 2], l1[i * 2 + 1]);
    if (off === 0) continue;
    await visit.l2?.(i, off);
    if (visit.cluster === undefined) continue;
    const table = await meta.l2Table(off);
    for (let j = 0; j < meta.l2Entries; j++) {
      const m = meta.entry(table, j);
      if (m.kind === 'unallocated' || ((m.kind === 'zero' || m.kind === 'normal') && m.host === 0)) continue;
      await visit.cluster(i, j, m);
    }
  }
}

/** Add `delta` to the refcount of every L2 table and data cluster of an L1 tree (not the L1 itself). */
export async function adjustTreeRefcounts(meta: Qcow2Metadata, l1: Uint32Array, delta: number): Promise<void> {
  const cs = meta.clusterSize;
  const freed: number[] = [];
  await walkTree(meta, l1, {
    cluster: async (_i, _j, m) => {
      if (m.kind === 'compressed') {
        const { first, count } = compressedSpan(m, cs);
        await meta.refcounts.adjust(first * cs, count, delta);
      } else if (!meta.externalData) {
        await meta.refcounts.adjust(m.host, 1, delta);
      }
    },
  });
  await walkTree(meta, l1, {
    l2: async (_i, off) => {
      await meta.refcounts.adjust(off, 1, delta);
      if (delta < 0 && (await meta.refcounts.get(off)) === 0) freed.push(off);
    },
  });
  for (const off of freed) meta.dropL2(off);
}

/**
 * Set the COPIED flag of every active L1 and L2 entry to "refcount is exactly one", as the spec
 * requires after snapshots change the sharing. Returns how many entries changed.
 */
export async function recomputeCopiedFlags(meta: Qcow2Metadata): Promise<number> {
  let changed = 0;
  const l1 = meta.l1;
  for (let i = 0; i * 2 < l1.length; i++) {
    const off = l1Offset(l1[i * 2], l1[i * 2 + 1]);
    if (off === 0) continue;
    const sole = (await meta.refcounts.get(off)) === 1;
    if (sole !== ((l1[i * 2] & HI_COPIED) !== 0)) {
      await meta.setL1(i, off, sole);
      changed++;
    }
    const table = await meta.l2Table(off);
    for (let j = 0; j < meta.l2Entries; j++) {
      const m = meta.entry(table, j);
      if ((m.kind !== 'normal' && m.kind !== 'zero') || m.host === 0) continue;
      const want = meta.externalData || (await meta.refcounts.get(m.host)) === 1;
      if (want === m.copied) continue;
      const [hi, lo] = encodeStandard(m.host, want, m.kind === 'zero');
      meta.setEntry(table, j, hi, lo, m.allocBits === -1 ? 0 : m.allocBits, m.zeroBits);
      changed++;
    }
  }
  await meta.syncL2();
  return changed;
}
