import { describe, expect, it } from 'vitest';
import type { BlockDevice } from './block-device.js';
import { copyImage } from './convert.js';
import { StorageError } from './errors.js';
import { MemoryHostFile } from './host-file.js';
import type { ImageDevice, ImageFormat } from './image-format.js';
import { memoryContext, mixedContent, readAll } from './image-test-support.js';
import { MemoryBlockDevice } from './memory-device.js';
import { qcow2Format } from './qcow2-format.js';
import { rawFormat } from './raw.js';
import { vhdFormat } from './vhd-format.js';
import { vhdxFormat } from './vhdx-format.js';
import { vmdkFormat } from './vmdk-format.js';

// Several pipeline rounds (2 MiB chunks, 4 in flight), a tail that is not a whole cluster.
const SIZE = 13 * (1 << 20) + 3 * 4096;

async function source(content: Uint8Array): Promise<MemoryBlockDevice> {
  const dev = new MemoryBlockDevice(content.length);
  await dev.write(0, content);
  return dev;
}

async function target(format: ImageFormat, size: number, options: Record<string, string> = {}): Promise<{ dev: ImageDevice; file: MemoryHostFile }> {
  const file = new MemoryHostFile('/images/out');
  await format.create(file, { size, path: '/images/out', options, openFile: () => Promise.reject(new StorageError('Io', 'none')) });
  return { dev: await format.open(file, memoryContext(false)), file };
}

/** Content with whole zero clusters, zero 4 KiB blocks inside data, and data up to the last byte. */
function content(): Uint8Array {
  const c = mixedContent(SIZE, 7);
  c.fill(0, 1 << 20, 3 << 20);
  c.fill(0, (5 << 20) + 8192, (5 << 20) + 16384);
  c[SIZE - 1] = 0x5a;
  return c;
}

describe('copyImage', { timeout: 60_000 }, () => {
  for (const [format, options] of [
    [rawFormat, {}],
    [qcow2Format, {}],
    [qcow2Format, { cluster_size: '4096' }],
    [vhdFormat, { force_size: 'on' }],
    [vhdxFormat, { block_size: '1048576' }],
    [vmdkFormat, {}],
  ] as const) {
    it(`copies every byte into ${format.name} ${JSON.stringify(options)}, with progress up to the size`, async () => {
      const data = content();
      const src = await source(data);
      const { dev } = await target(format, SIZE, options);
      const seen: number[] = [];
      await copyImage(src, dev, { onProgress: (done) => seen.push(done) });
      expect(Buffer.compare(await readAll(dev), data)).toBe(0);
      expect(seen[seen.length - 1]).toBe(SIZE);
      expect(seen.every((d, i) => i === 0 || d >= seen[i - 1])).toBe(true);
      await dev.close();
    });
  }

  it('leaves zero clusters of a qcow2 target unallocated and writes the rest in source order', async () => {
    const data = content();
    const { dev } = await target(qcow2Format, SIZE);
    await copyImage(await source(data), dev);
    const map = await dev.allocation(0, SIZE);
    expect(map.find((e) => e.offset <= (2 << 20) && e.offset + e.length > 2 << 20)?.status).toBe('unallocated');
    // Data clusters lie in the file in guest order: host offsets grow with guest offsets.
    const hosts = map.filter((e) => e.status === 'data').map((e) => e.hostOffset!);
    expect(hosts).toEqual([...hosts].sort((a, b) => a - b));
    await dev.close();
  });

  it('skips zero blocks inside new VHDX blocks, which stay holes', async () => {
    const data = new Uint8Array(4 << 20);
    data.fill(1, 0, 4096);
    data.fill(2, (3 << 20) - 4096, 3 << 20);
    const { dev, file } = await target(vhdxFormat, data.length, { block_size: '1048576' });
    const before = file.writes;
    await copyImage(await source(data), dev);
    expect(Buffer.compare(await readAll(dev), data)).toBe(0);
    // Two 4 KiB data writes and their block reservations, not 2 MiB of zeros.
    expect(file.writes - before).toBeLessThan(10);
    await dev.close();
  });

  it('overwrites an image that already holds data when the target is not new (convert -n)', async () => {
    const data = content();
    const { dev } = await target(qcow2Format, SIZE);
    await dev.write(0, new Uint8Array(SIZE).fill(0xee));
    await copyImage(await source(data), dev, { targetIsZero: false });
    expect(Buffer.compare(await readAll(dev), data)).toBe(0);
    await dev.close();
  });

  it('compresses into qcow2 and reads back the same bytes', async () => {
    const data = content();
    const { dev } = await target(qcow2Format, SIZE);
    await copyImage(await source(data), dev, { compress: true });
    expect(Buffer.compare(await readAll(dev), data)).toBe(0);
    await dev.close();
  });

  it('fails with the source error and leaves nothing running on the target', async () => {
    const data = content();
    const src = await source(data);
    const failing: BlockDevice = Object.assign(Object.create(src) as BlockDevice, {
      read: (offset: number, buf: Uint8Array): Promise<void> =>
        offset >= 6 << 20 ? Promise.reject(new StorageError('Io', 'disk on fire')) : src.read(offset, buf),
    });
    const { dev } = await target(qcow2Format, SIZE);
    await expect(copyImage(failing, dev)).rejects.toMatchObject({ code: 'Io', message: 'disk on fire' });
    // Everything before the failing chunk was written; the device still works.
    const head = new Uint8Array(1 << 20);
    await dev.read(0, head);
    expect(Buffer.compare(head, data.subarray(0, 1 << 20))).toBe(0);
    await dev.close();
  });
});
