import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryHostFile, NodeHostFile, readExact } from './index.js';
import { readInto } from './host-file.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-hostfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NodeHostFile', () => {
  it('writes and reads at positions, grows, truncates and reports holes', async () => {
    const path = join(dir, 'a.bin');
    const f = await NodeHostFile.create(path);
    await f.write(10, new Uint8Array([1, 2, 3]));
    expect(await f.size()).toBe(13);
    const buf = new Uint8Array(20);
    expect(await f.read(8, buf)).toBe(5);
    expect([...buf.subarray(0, 5)]).toEqual([0, 0, 1, 2, 3]);
    await f.truncate(64 << 20);
    expect(await f.size()).toBe(64 << 20);
    expect(await f.allocatedSize()).toBeLessThan(1 << 20);
    await f.flush();
    await f.close();
    await expect(f.read(0, buf)).rejects.toMatchObject({ code: 'Closed' });
  });

  it('refuses writes when read-only and names the file on I/O errors', async () => {
    const path = join(dir, 'b.bin');
    await (await NodeHostFile.create(path)).close();
    const f = await NodeHostFile.open(path, { readOnly: true });
    await expect(f.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'ReadOnly' });
    await expect(readExact(f, 0, new Uint8Array(4), 'header')).rejects.toMatchObject({ code: 'Truncated' });
    await f.close();
    await expect(NodeHostFile.open(join(dir, 'missing'), { readOnly: true })).rejects.toMatchObject({
      code: 'Io',
      message: expect.stringContaining('missing') as string,
    });
    await expect(NodeHostFile.open(dir, { readOnly: true })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('vector reads', () => {
  it('fill buffers in order from one position, short only at the end of the file, on disk and in memory', async () => {
    const data = new Uint8Array(10_000).map((_, i) => (i * 13) & 0xff);
    const path = join(dir, 'v.bin');
    const disk = await NodeHostFile.create(path);
    await disk.write(0, data);
    const mem = new MemoryHostFile('m', data);
    for (const f of [disk, mem]) {
      const a = new Uint8Array(3000);
      const b = new Uint8Array(5000);
      expect(await readInto(f, 1000, [a, b])).toBe(8000);
      expect(Buffer.compare(a, data.subarray(1000, 4000))).toBe(0);
      expect(Buffer.compare(b, data.subarray(4000, 9000))).toBe(0);
      const c = new Uint8Array(4000);
      expect(await readInto(f, 8000, [new Uint8Array(1000), c])).toBe(2000);
      expect(Buffer.compare(c.subarray(0, 1000), data.subarray(9000))).toBe(0);
    }
    await disk.close();
  });
});

describe('NodeHostFile cache modes', () => {
  it('keeps writes readable whether flush syncs (writeback) or not (unsafe)', async () => {
    for (const cache of ['writeback', 'unsafe'] as const) {
      const path = join(dir, `cache-${cache}.bin`);
      const f = await NodeHostFile.create(path, { cache });
      expect(f.cache).toBe(cache);
      await f.write(4096, new Uint8Array([1, 2, 3]));
      await f.flush();
      await f.close();
      const g = await NodeHostFile.open(path, { readOnly: true });
      expect(g.cache).toBe('writeback');
      const b = new Uint8Array(3);
      expect(await g.read(4096, b)).toBe(3);
      expect([...b]).toEqual([1, 2, 3]);
      await g.close();
    }
  });
});

describe('MemoryHostFile', () => {
  it('behaves like a file: short reads at the end, zero-filled growth', async () => {
    const f = new MemoryHostFile('m', new Uint8Array([9, 9]));
    await f.truncate(6000);
    await f.write(5000, new Uint8Array([7]));
    const b = new Uint8Array(10);
    expect(await f.read(5995, b)).toBe(5);
    expect(await f.read(4999, b)).toBe(10);
    expect([...b.subarray(0, 3)]).toEqual([0, 7, 0]);
    expect(await f.allocatedSize()).toBe(8192);
    await f.truncate(1);
    await f.truncate(3);
    expect([...f.contents()]).toEqual([9, 0, 0]);
    expect(f.writes).toBe(4);
  });
});
