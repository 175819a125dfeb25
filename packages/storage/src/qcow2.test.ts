import { describe, expect, it } from 'vitest';
import type { BlockDevice, ImageDevice, OpenContext } from './index.js';
import { MemoryBlockDevice, MemoryHostFile, StorageError, qcow2Format } from './index.js';
import { firstDifference, mixedContent } from './qemu-img-harness.js';

function context(file: MemoryHostFile, readOnly: boolean, backing?: BlockDevice): OpenContext {
  return {
    readOnly,
    path: file.path,
    openFile: () => Promise.reject(new StorageError('Unsupported', 'no other files in memory tests')),
    openBacking: async () => backing,
  };
}

async function create(size: number, options: Record<string, string> = {}, backingFile?: string): Promise<MemoryHostFile> {
  const f = new MemoryHostFile('mem.qcow2');
  await qcow2Format.create(f, { size, path: f.path, options, backingFile, backingFormat: backingFile === undefined ? undefined : 'raw', openFile: () => Promise.reject(new Error('unused')) });
  return f;
}

/** Open the image held in `f`; a fresh handle each time, since closing a device closes its file. */
const open = (f: MemoryHostFile, readOnly = false, backing?: BlockDevice): Promise<ImageDevice> => {
  const file = new MemoryHostFile(f.path, f.contents(), readOnly);
  handles.set(f, file);
  return qcow2Format.open(file, context(file, readOnly, backing));
};
const handles = new Map<MemoryHostFile, MemoryHostFile>();
/** The bytes the last device opened on `f` left behind. */
const latest = (f: MemoryHostFile): MemoryHostFile => handles.get(f) ?? f;

async function readAll(dev: BlockDevice): Promise<Uint8Array> {
  const out = new Uint8Array(dev.size);
  await dev.read(0, out);
  return out;
}

describe('qcow2 (in memory)', { timeout: 30_000 }, () => {
  it('round-trips unaligned writes across clusters, for every cluster size and refcount width', async () => {
    const configs: Record<string, string>[] = [{ cluster_size: '512' }, { cluster_size: '4k', refcount_bits: '1' }, { compat: '0.10' }, { cluster_size: '2M', refcount_bits: '64' }];
    for (const options of configs) {
      const size = 2 * 1024 * 1024 + 1000;
      const f = await create(size, options);
      const dev = await open(f);
      const content = mixedContent(size, 3, 1536);
      await dev.write(0, content.subarray(0, 300_001));
      await dev.write(300_001, content.subarray(300_001));
      await dev.write(12_345, content.subarray(12_345, 99_999)); // rewrite in place
      await dev.close();
      const back = await open(latest(f), true);
      expect(firstDifference(await readAll(back), content), JSON.stringify(options)).toBe(-1);
      const report = await back.check!({ repair: 'none' });
      expect(report.corruptions + report.leaks + report.checkErrors, report.messages.join('\n')).toBe(0);
      await back.close();
    }
  });

  it('grows the refcount table when the file outgrows it, and check stays clean', async () => {
    // 512-byte clusters with 64-bit refcounts: one refcount block covers 32 KiB, one table cluster 2 MiB.
    const f = await create(8 << 20, { cluster_size: '512', refcount_bits: '64' });
    const dev = await open(f);
    const content = mixedContent(8 << 20, 5, 512);
    for (let at = 0; at < content.length; at += 1 << 20) await dev.write(at, content.subarray(at, at + (1 << 20)));
    const report = await dev.check!({ repair: 'none' });
    expect(report.corruptions + report.leaks, report.messages.slice(0, 5).join('\n')).toBe(0);
    await dev.close();
    const back = await open(latest(f), true);
    expect(firstDifference(await readAll(back), content)).toBe(-1);
    await back.close();
  });

  it('reads through a backing device that is shorter than the overlay and copies on write', async () => {
    const base = new MemoryBlockDevice(1 << 20);
    await base.write(0, new Uint8Array(1 << 20).fill(0x11));
    const f = await create(3 << 20, {}, 'base.raw');
    const dev = await open(f, false, base);
    await dev.write(4096 + 7, new Uint8Array([1, 2, 3]));
    await dev.writeZeroes(128 * 1024, 64 * 1024);
    const all = await readAll(dev);
    expect(all[0]).toBe(0x11);
    expect([...all.subarray(4096 + 6, 4096 + 11)]).toEqual([0x11, 1, 2, 3, 0x11]);
    expect(all[130 * 1024]).toBe(0);
    expect(all[(1 << 20) + 5]).toBe(0); // past the backing device's end
    const map = await dev.allocation(0, dev.size);
    expect(map[0]).toMatchObject({ offset: 0, length: 65536, status: 'data', depth: 0 });
    expect(map.find((e) => e.offset === 131072)).toMatchObject({ status: 'zero', depth: 0 });
    expect(map.find((e) => e.offset === 65536)).toMatchObject({ status: 'data', depth: 1 });
    await dev.makeEmpty!();
    expect((await readAll(dev))[4097 + 7]).toBe(0x11);
    await dev.close();
  });

  it('creates, applies and deletes internal snapshots and keeps refcounts exact', async () => {
    const f = await create(2 << 20);
    const dev = await open(f);
    const v1 = mixedContent(2 << 20, 1);
    await dev.write(0, v1);
    const s = await dev.snapshots!.create('one');
    expect(s).toMatchObject({ id: '1', name: 'one' });
    const v2 = mixedContent(2 << 20, 2);
    await dev.write(0, v2.subarray(0, 1 << 20));
    const snapView = await dev.snapshots!.open('one');
    expect(firstDifference(await readAll(snapView), v1)).toBe(-1);
    let report = await dev.check!({ repair: 'none' });
    expect(report.corruptions + report.leaks, report.messages.join('\n')).toBe(0);
    await dev.snapshots!.apply('1');
    expect(firstDifference(await readAll(dev), v1)).toBe(-1);
    await dev.snapshots!.delete('one');
    expect(await dev.snapshots!.list()).toEqual([]);
    report = await dev.check!({ repair: 'none' });
    expect(report.corruptions + report.leaks, report.messages.join('\n')).toBe(0);
    await expect(dev.snapshots!.delete('one')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await dev.close();
  });

  it('writes compressed clusters and reads them back', async () => {
    const f = await create(1 << 20);
    const dev = await open(f);
    const data = new Uint8Array(65536).map((_, i) => (i % 7) * 3);
    for (let at = 0; at < 1 << 20; at += 65536) await dev.writeCompressed!(at, data);
    await expect(dev.writeCompressed!(0, data)).rejects.toMatchObject({ code: 'Unsupported' });
    await dev.write(65536 + 10, new Uint8Array([9])); // overwrite part of a compressed cluster
    const all = await readAll(dev);
    expect(all[65536 + 10]).toBe(9);
    expect(all[3 * 65536 + 13]).toBe(data[13]);
    const report = await dev.check!({ repair: 'none' });
    expect(report.compressedClusters).toBe(15);
    expect(report.corruptions + report.leaks, report.messages.join('\n')).toBe(0);
    expect((await dev.file.size())).toBeLessThan(8 * 65536);
    await dev.close();
  });

  it('resizes: grows the L1 table, shrinks and zeroes the cut tail', async () => {
    const f = await create(1 << 20, { cluster_size: '512' });
    const dev = await open(f);
    await dev.write(0, new Uint8Array(1 << 20).fill(7));
    await dev.resize!(64 << 20);
    expect(dev.size).toBe(64 << 20);
    await dev.write((64 << 20) - 1, new Uint8Array([5]));
    await dev.resize!(1000);
    await dev.resize!(4096);
    const back = await readAll(dev);
    expect(back[999]).toBe(7);
    expect(back[1000]).toBe(0);
    const report = await dev.check!({ repair: 'none' });
    expect(report.corruptions + report.leaks, report.messages.join('\n')).toBe(0);
    await dev.close();
  });

  it('repairs a leak with check -r leaks', async () => {
    const f = await create(1 << 20);
    const dev = (await open(f)) as ImageDevice & { meta: { refcounts: { allocate(n: number): Promise<number>; sync(): Promise<void> } } };
    await dev.write(0, new Uint8Array(70_000).fill(1));
    await dev.meta.refcounts.allocate(2); // clusters nothing references
    await dev.meta.refcounts.sync();
    let report = await dev.check!({ repair: 'none' });
    expect(report.leaks).toBe(2);
    expect(report.corruptions).toBe(0);
    report = await dev.check!({ repair: 'leaks' });
    expect(report.leaksFixed).toBe(2);
    report = await dev.check!({ repair: 'none' });
    expect(report.leaks).toBe(0);
    await dev.close();
  });

  it('sets the dirty bit with lazy refcounts and rebuilds refcounts when opened dirty', async () => {
    const f = await create(1 << 20, { lazy_refcounts: 'on' });
    const dev = await open(f);
    await dev.write(0, new Uint8Array(200_000).fill(3));
    expect((await dev.info()).dirty).toBe(true);
    // Simulate a writer that died here: metadata was never written back.
    const snapshot = new MemoryHostFile('crashed.qcow2', latest(f).contents());
    await dev.close();
    expect((await (await open(latest(f), true)).info()).dirty).toBe(false);
    const reopened = await open(snapshot);
    expect((await reopened.info()).dirty).toBe(false);
    const report = await reopened.check!({ repair: 'none' });
    expect(report.corruptions, report.messages.join('\n')).toBe(0);
    await reopened.close();
  });

  it('refuses writes to read-only images, snapshot views and extended-L2 creation', async () => {
    const f = await create(1 << 20);
    const ro = await open(f, true);
    await expect(ro.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'ReadOnly' });
    await expect(create(1 << 20, { extended_l2: 'on' })).rejects.toMatchObject({ code: 'Unsupported' });
    await expect(create(1 << 20, { cluster_size: '1000' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(create(1 << 20, { compat: '0.10', lazy_refcounts: 'on' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
