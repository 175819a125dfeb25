import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostFile, ImageDevice, OpenContext } from './index.js';
import { MemoryHostFile, StorageError, qcow2Format } from './index.js';
import { QEMU_IMG, qemuImgStatus } from './qemu-img-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-qcow2-corrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(readOnly: boolean): OpenContext {
  return {
    readOnly,
    path: 'fuzz.qcow2',
    openFile: () => Promise.reject(new StorageError('Unsupported', 'no other files')),
    openBacking: async () => undefined,
  };
}

const SIZE = 1 << 20;
let good: Uint8Array;

/** A small image with every kind of structure: data, zero and compressed clusters, a snapshot, a backing name. */
beforeAll(async () => {
  const f = new MemoryHostFile('fuzz.qcow2');
  await qcow2Format.create(f, { size: SIZE, path: f.path, options: { cluster_size: '4k' }, backingFile: 'base.img', backingFormat: 'raw', openFile: () => Promise.reject(new Error('unused')) });
  const dev = await qcow2Format.open(f, context(false));
  await dev.write(0, new Uint8Array(40_000).map((_, i) => i * 13));
  await dev.writeCompressed!(65536, new Uint8Array(4096).fill(0x41));
  await dev.snapshots!.create('snap');
  await dev.write(8192, new Uint8Array(5000).fill(9));
  await dev.writeZeroes(4096 * 30, 4096 * 2);
  await dev.close();
  good = f.contents();
});

/** Open read-only and touch everything; returns the error if one was thrown. Asserts nothing was written. */
async function exercise(bytes: Uint8Array): Promise<unknown> {
  const file = new MemoryHostFile('fuzz.qcow2', bytes);
  let dev: ImageDevice | undefined;
  try {
    dev = await qcow2Format.open(file, context(true));
    const buf = new Uint8Array(dev.size);
    await dev.read(0, buf);
    await dev.allocation(0, dev.size);
    await dev.info();
    await dev.check!({ repair: 'none' });
    for (const s of await dev.snapshots!.list()) {
      const view = await dev.snapshots!.open(s.id);
      await view.read(0, new Uint8Array(view.size));
    }
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await dev?.close().catch(() => undefined);
    expect(file.writes, 'a read-only open wrote to the image').toBe(0);
  }
}

function patched(mutate: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const b = good.slice();
  mutate(new DataView(b.buffer), b);
  return b;
}

describe('qcow2 corrupt images give typed errors', () => {
  const cases: [string, (v: DataView, b: Uint8Array) => void, string][] = [
    ['version 4', (v) => v.setUint32(4, 4), 'Unsupported'],
    ['cluster_bits 30', (v) => v.setUint32(20, 30), 'CorruptHeader'],
    ['huge l1_size', (v) => v.setUint32(36, 0xffff_ffff), 'CorruptHeader'],
    ['l1_size too small for the disk', (v) => v.setUint32(36, 0), 'CorruptHeader'],
    ['L1 table past the end of the file', (v) => v.setUint32(44, 0x7000_0000), 'Truncated'],
    ['unaligned refcount table', (v) => v.setUint32(52, v.getUint32(52) + 8), 'CorruptHeader'],
    ['no refcount table clusters', (v) => v.setUint32(56, 0), 'CorruptHeader'],
    ['too many snapshots', (v) => v.setUint32(60, 1_000_000), 'CorruptHeader'],
    ['unknown incompatible feature', (v) => v.setUint32(76, 1 << 20), 'Unsupported'],
    ['encrypted', (v) => v.setUint32(32, 1), 'Unsupported'],
    ['refcount_order 7', (v) => v.setUint32(96, 7), 'CorruptHeader'],
    ['header_length past the cluster', (v) => v.setUint32(100, 8192), 'CorruptHeader'],
    ['backing name longer than qemu allows', (v) => v.setUint32(16, 5000), 'CorruptHeader'],
    ['virtual size above 2^53', (v) => v.setUint32(24, 0x0100_0000), 'CorruptHeader'],
    ['header extension runs past the header', (v) => v.setUint32(116, 0xffff_fff0), 'CorruptHeader'],
  ];
  for (const [name, mutate, code] of cases) {
    it(name, async () => {
      const err = await exercise(patched(mutate));
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code });
    });
  }

  const l1At = (): number => Number(new DataView(good.buffer).getBigUint64(40));
  const l2At = (): number => Number(new DataView(good.buffer).getBigUint64(l1At()) & 0x00ff_ffff_ffff_fe00n);

  it('L1 entry with reserved bits', async () => {
    const err = await exercise(patched((v) => v.setUint32(l1At(), v.getUint32(l1At()) | 0x0100_0000)));
    expect(err).toMatchObject({ code: 'CorruptTable' });
  });

  it('L2 entry pointing to an unaligned cluster, and one past the end of the file', async () => {
    expect(await exercise(patched((v) => v.setUint32(l2At() + 4, v.getUint32(l2At() + 4) + 512)))).toMatchObject({ code: 'CorruptTable' });
    expect(await exercise(patched((v) => v.setUint32(l2At(), 0x8000_1000)))).toMatchObject({ code: 'Truncated' });
  });

  it('compressed cluster with garbage data', async () => {
    const v = new DataView(good.buffer);
    const entry = v.getBigUint64(l2At() + 16 * 8);
    expect(entry >> 62n).toBe(1n);
    const host = Number(entry & ((1n << 58n) - 1n));
    const bytes = patched((_, b) => b.fill(0xff, host, host + 64));
    expect(await exercise(bytes)).toMatchObject({ code: 'CorruptTable' });
  });

  it('snapshot table entry with oversized extra data', async () => {
    const at = Number(new DataView(good.buffer).getBigUint64(64));
    expect(await exercise(patched((v) => v.setUint32(at + 36, 1 << 20)))).toMatchObject({ code: 'CorruptTable' });
  });

  it('refuses to write over metadata an L2 entry points into', async () => {
    const bytes = patched((v) => {
      v.setUint32(l2At(), 0x8000_0000);
      v.setUint32(l2At() + 4, 0); // data cluster 0 "at offset 0" with COPIED: the header
    });
    // Offset 0 without flags reads as unallocated; with COPIED it is a normal entry onto the header.
    const file = new MemoryHostFile('x.qcow2', bytes);
    const dev = await qcow2Format.open(file, context(false));
    await expect(dev.write(0, new Uint8Array(10))).resolves.toBeUndefined();
    const bytes2 = patched((v) => {
      v.setUint32(l2At(), 0x8000_0000);
      v.setUint32(l2At() + 4, 4096); // onto the refcount table
    });
    const dev2 = await qcow2Format.open(new MemoryHostFile('y.qcow2', bytes2), context(false));
    await expect(dev2.write(0, new Uint8Array(10))).rejects.toMatchObject({ code: 'CorruptTable' });
    await dev.close();
  });

  it('random byte damage never crashes, hangs or writes (500 images)', { timeout: 120_000 }, async () => {
    let x = 0x9e3779b9;
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const metadataEnd = Math.min(good.length, 12 * 4096);
    let typed = 0;
    for (let i = 0; i < 500; i++) {
      const b = good.slice();
      const hits = 1 + (next() % 8);
      for (let h = 0; h < hits; h++) {
        // Mostly the header cluster, sometimes the tables after it.
        const at = next() % 4 === 0 ? next() % metadataEnd : next() % 256;
        b[at] = next() & 0xff;
      }
      const err = await exercise(b);
      if (err !== undefined) {
        if (!(err instanceof StorageError)) throw new Error(`image ${i}: untyped error ${err instanceof Error ? err.message : typeof err}`, { cause: err });
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(50);
  });
});

/** A file that dies (every later call fails) after `limit` writes, like a killed process. */
class DyingFile implements HostFile {
  private count = 0;
  constructor(
    readonly inner: MemoryHostFile,
    private readonly limit: number,
  ) {}
  get path(): string {
    return this.inner.path;
  }
  get readOnly(): boolean {
    return false;
  }
  private check(): void {
    if (this.count >= this.limit) throw new StorageError('Io', 'killed');
  }
  read(p: number, b: Uint8Array): Promise<number> {
    return this.inner.read(p, b);
  }
  async write(p: number, d: Uint8Array): Promise<void> {
    this.check();
    this.count++;
    return this.inner.write(p, d);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  allocatedSize(): Promise<number> {
    return this.inner.allocatedSize();
  }
  async truncate(n: number): Promise<void> {
    this.check();
    return this.inner.truncate(n);
  }
  async flush(): Promise<void> {
    this.check();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

// Leaks are the only damage outside snapshot operations; a kill inside one can also leave COPIED
// flags that disagree with the refcounts (qemu has the same window), which `check -r all` repairs.
describe('a writer killed at any write leaves an image check repairs without data loss', () => {
  it('for every kill point of a workload with COW, snapshots and table growth', { timeout: 120_000 }, async () => {
    const base = new MemoryHostFile('crash.qcow2');
    await qcow2Format.create(base, { size: 4 << 20, path: base.path, options: { cluster_size: '512' }, openFile: () => Promise.reject(new Error('unused')) });
    const flushed = new Uint8Array(300_000).fill(0x5a);
    const workload = async (dev: ImageDevice): Promise<void> => {
      await dev.write(0, flushed);
      await dev.flush();
      await dev.snapshots!.create('s');
      await dev.write(100_000, new Uint8Array(600_000).fill(7));
      await dev.writeZeroes(0, 4096);
      await dev.write(3 << 20, new Uint8Array(900_000).fill(1));
      await dev.flush();
    };
    // Count the writes of a full run, then kill at a spread of points through it.
    const probe = new DyingFile(new MemoryHostFile('p', base.contents()), Number.MAX_SAFE_INTEGER);
    const pd = await qcow2Format.open(probe, context(false));
    await workload(pd);
    const total = (probe as unknown as { count: number }).count;
    expect(total).toBeGreaterThan(20);
    let checkedWithQemu = 0;
    for (let k = 1; k < total; k += Math.max(1, Math.floor(total / 40))) {
      const mem = new MemoryHostFile('crash.qcow2', base.contents());
      const dying = new DyingFile(mem, k);
      let reachedFlush = false;
      try {
        const dev = await qcow2Format.open(dying, context(false));
        await dev.write(0, flushed);
        await dev.flush();
        reachedFlush = true;
        await workload(dev);
      } catch (err) {
        expect(err).toBeInstanceOf(StorageError);
      }
      const after = await qcow2Format.open(new MemoryHostFile('crash.qcow2', mem.contents()), context(true));
      const report = await after.check!({ repair: 'none' });
      const serious = report.messages.filter((m) => m.startsWith('ERROR') && !m.includes('OFLAG_COPIED'));
      expect(serious, `killed after ${k} writes`).toEqual([]);
      if (report.corruptions > 0) {
        const fixable = await qcow2Format.open(new MemoryHostFile('crash.qcow2', mem.contents()), context(false));
        await fixable.check!({ repair: 'all' });
        const again = await fixable.check!({ repair: 'none' });
        expect(again.corruptions + again.leaks, again.messages.slice(0, 5).join('\n')).toBe(0);
        await fixable.close();
      }
      if (reachedFlush) {
        const back = new Uint8Array(flushed.length);
        await after.read(0, back);
        // Each byte holds the flushed value or what a later (unflushed) write put there, never garbage.
        const bad = back.findIndex((b, i) => !(b === flushed[i] || (i < 4096 && b === 0) || (i >= 100_000 && b === 7)));
        expect(bad, `killed after ${k} writes`).toBe(-1);
      }
      await after.close();
      if (QEMU_IMG !== undefined && k % 5 === 1) {
        const path = join(dir, `crash-${k}.qcow2`);
        writeFileSync(path, mem.contents());
        const r = qemuImgStatus('check', path);
        expect([0, 2, 3], `qemu-img check after a kill at write ${k}: ${r.stdout}${r.stderr}`).toContain(r.status);
        if (r.status === 2) expect(r.stdout).not.toMatch(/ERROR (?!OFLAG_COPIED)/);
        expect(qemuImgStatus('check', '-r', r.status === 2 ? 'all' : 'leaks', path).status).toBe(0);
        checkedWithQemu++;
      }
    }
    if (QEMU_IMG !== undefined) expect(checkedWithQemu).toBeGreaterThan(0);
  });
});
