import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice, StorageError, readSectors, writeSectors } from './index.js';

describe('MemoryBlockDevice (the block-device contract)', () => {
  it('reads zeros where nothing was written and back what was written, across chunk edges', async () => {
    const dev = new MemoryBlockDevice(1 << 20);
    const data = new Uint8Array(100_000).map((_, i) => (i * 7 + 3) & 0xff);
    await dev.write(65_000, data);
    const back = new Uint8Array(100_000);
    await dev.read(65_000, back);
    expect(back).toEqual(data);
    const head = new Uint8Array(16).fill(0xaa);
    await dev.read(0, head);
    expect(head).toEqual(new Uint8Array(16));
  });

  it('addresses sectors', async () => {
    const dev = new MemoryBlockDevice(8 * 512);
    const sector = new Uint8Array(512).fill(0x5a);
    await writeSectors(dev, 3, 1, sector);
    const out = new Uint8Array(1024);
    await readSectors(dev, 2, 2, out);
    expect(out.subarray(0, 512)).toEqual(new Uint8Array(512));
    expect(out.subarray(512)).toEqual(sector);
  });

  it('reports its allocation map and deallocates zeroed chunks', async () => {
    const dev = new MemoryBlockDevice(256 * 1024);
    await dev.write(70_000, new Uint8Array([1]));
    expect(await dev.allocation(0, dev.size)).toEqual([
      { offset: 0, length: 65_536, status: 'unallocated', depth: 0 },
      { offset: 65_536, length: 65_536, status: 'data', depth: 0 },
      { offset: 131_072, length: 131_072, status: 'unallocated', depth: 0 },
    ]);
    await dev.writeZeroes(65_536, 65_536);
    expect(await dev.allocation(0, dev.size)).toEqual([{ offset: 0, length: 262_144, status: 'unallocated', depth: 0 }]);
  });

  it('refuses out-of-range, read-only and closed access with typed errors', async () => {
    const dev = new MemoryBlockDevice(1024, { readOnly: true });
    await expect(dev.read(1000, new Uint8Array(100))).rejects.toMatchObject({ code: 'OutOfRange' });
    await expect(dev.write(0, new Uint8Array(1))).rejects.toBeInstanceOf(StorageError);
    await expect(dev.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'ReadOnly' });
    await dev.close();
    await expect(dev.read(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'Closed' });
  });
});
