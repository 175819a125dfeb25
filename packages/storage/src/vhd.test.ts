import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatRegistry } from './format-registry.js';
import { MemoryHostFile } from './host-file.js';
import {
  HAVE_QEMU_IMG,
  QEMU_SKIP_REASON,
  firstDifference,
  fuzzImage,
  memoryContext,
  mixedContent,
  qemuImg,
  qemuToRaw,
  readAll,
} from './image-test-support.js';
import { createImage, openImage } from './open-image.js';
import { rawFormat } from './raw.js';
import { VhdImage } from './vhd.js';
import { parseVhdFooter, serializeVhdFooter, vhdChecksum } from './vhd-footer.js';
import { vhdFormat, vhdVirtualSize } from './vhd-format.js';
import { chsSectors, vhdGeometry, vhdSizeForCreate } from './vhd-geometry.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-vhd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const registry = new FormatRegistry([rawFormat, vhdFormat]);
const at = (name: string): string => join(dir, name);

describe('VHD geometry', () => {
  it('computes the spec CHS and qemu-img create rounding', () => {
    // qemu-img create -f vpc x 100M: 1004/12/17, 104865792 bytes.
    expect(vhdSizeForCreate(100 << 20)).toEqual({ size: 104_865_792, geometry: { cylinders: 1004, heads: 12, sectorsPerTrack: 17 } });
    expect(vhdGeometry(65535 * 16 * 255 + 1000)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    const g = vhdGeometry((8 * 2 ** 30) / 512);
    expect(g.sectorsPerTrack).toBe(63);
    expect(chsSectors(g)).toBeLessThanOrEqual((8 * 2 ** 30) / 512);
    // Beyond CHS the exact size is kept.
    expect(vhdSizeForCreate(200 * 2 ** 30).size).toBe(200 * 2 ** 30);
  });
});

describe('VHD footer', () => {
  it('round-trips and rejects a bad checksum, cookie and disk type with typed errors', () => {
    const footer = parseVhdFooter(serializeVhdFooter({
      features: 2, dataOffset: 512, timestamp: 5, creatorApp: 'tsvm', creatorVersion: 1, creatorHostOs: 0,
      originalSize: 1 << 20, currentSize: 1 << 20, geometry: { cylinders: 20, heads: 4, sectorsPerTrack: 17 },
      diskType: 3, uniqueId: new Uint8Array(16).fill(9), savedState: false,
    }), 0);
    expect(footer.dataOffset).toBe(512);
    expect(vhdVirtualSize(footer)).toBe(20 * 4 * 17 * 512);
    const raw = serializeVhdFooter(footer);
    raw[100] ^= 1;
    expect(() => parseVhdFooter(raw, 4096)).toThrow(expect.objectContaining({ code: 'CorruptHeader', message: expect.stringContaining('offset 4096') }));
    raw[100] ^= 1;
    raw[60 + 3] = 9;
    new DataView(raw.buffer).setUint32(64, vhdChecksum(raw, 64));
    expect(() => parseVhdFooter(raw, 0)).toThrow(expect.objectContaining({ code: 'Unsupported' }));
  });
});

describe('VHD images written by tsvm', { timeout: 60_000 }, () => {
  it('dynamic: writes at any alignment, reads back, allocates lazily', async () => {
    const file = new MemoryHostFile('/images/d.vhd');
    await vhdFormat.create(file, { size: 10 << 20, path: '/images/d.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const dev = await vhdFormat.open(file, memoryContext(false));
    expect(dev.size).toBe(vhdSizeForCreate(10 << 20).size);
    const data = mixedContent(3 << 20, 3);
    await dev.write(1_000_001, data);
    await dev.write(8 << 20, new Uint8Array(4096));
    const back = new Uint8Array(data.length);
    await dev.read(1_000_001, back);
    expect(firstDifference(back, data)).toBe(-1);
    const alloc = await dev.allocation(0, dev.size);
    expect(alloc[0]).toEqual({ offset: 0, length: 2 << 20, status: 'data', depth: 0, hostOffset: expect.any(Number) as number });
    expect(alloc.at(-1)).toMatchObject({ status: 'unallocated' });
    await dev.close();
    const reopened = await vhdFormat.open(new MemoryHostFile('/images/d.vhd', file.contents()), memoryContext(true));
    const all = await readAll(reopened);
    expect(firstDifference(all.subarray(1_000_001, 1_000_001 + data.length), data)).toBe(-1);
    expect(all.subarray(0, 1_000_001).every((b) => b === 0)).toBe(true);
    await expect(reopened.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'ReadOnly' });
  });

  it('differencing: sectors not written come from the parent, partial sectors merge with it', async () => {
    const parentFile = new MemoryHostFile('/images/p.vhd');
    await vhdFormat.create(parentFile, { size: 6 << 20, path: '/images/p.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const parent = await vhdFormat.open(parentFile, memoryContext(false));
    const base = mixedContent(parent.size, 11);
    await parent.write(0, base);
    await parent.close();
    const parentBytes = parentFile.contents();
    const child = new MemoryHostFile('/images/c.vhd');
    await vhdFormat.create(child, {
      size: 6 << 20, path: '/images/c.vhd', backingFile: 'p.vhd', options: {},
      openFile: async () => new MemoryHostFile('/images/p.vhd', parentBytes, true),
    });
    const openParent = () => vhdFormat.open(new MemoryHostFile('/images/p.vhd', parentBytes, true), memoryContext(true));
    const dev = await vhdFormat.open(child, { ...memoryContext(false), openBacking: async (name) => (name === 'p.vhd' ? openParent() : undefined) });
    expect(dev.backingFile).toBe('p.vhd');
    const expected = base.slice();
    const patch = new Uint8Array(1000).fill(0x5a);
    await dev.write(2_097_000, patch); // straddles a block boundary, starts mid-sector
    expected.set(patch, 2_097_000);
    await dev.write(5 << 20, new Uint8Array(512)); // zeros shadow the parent
    expected.fill(0, 5 << 20, (5 << 20) + 512);
    expect(firstDifference(await readAll(dev), expected)).toBe(-1);
    const alloc = await dev.allocation(0, dev.size);
    expect(alloc.some((e) => e.depth === 1 && e.status === 'data')).toBe(true);
    expect(alloc.some((e) => e.depth === 0 && e.status === 'data')).toBe(true);
    await dev.close();
    const again = await vhdFormat.open(new MemoryHostFile('/images/c.vhd', child.contents()), { ...memoryContext(true), openBacking: openParent });
    expect(firstDifference(await readAll(again), expected)).toBe(-1);
  });

  it('refuses a parent whose unique id differs', async () => {
    const mk = async (name: string) => {
      const f = new MemoryHostFile(name);
      await vhdFormat.create(f, { size: 1 << 20, path: name, options: {}, openFile: () => Promise.reject(new Error('no')) });
      return f.contents();
    };
    const p1 = await mk('/images/p1.vhd');
    const p2 = await mk('/images/p2.vhd');
    const child = new MemoryHostFile('/images/c.vhd');
    await vhdFormat.create(child, { size: 1 << 20, path: '/images/c.vhd', backingFile: 'p1.vhd', options: {}, openFile: async () => new MemoryHostFile('p1', p1, true) });
    const ctx = { ...memoryContext(true), openBacking: () => vhdFormat.open(new MemoryHostFile('p2', p2, true), memoryContext(true)) };
    await expect(vhdFormat.open(new MemoryHostFile('c', child.contents(), true), ctx)).rejects.toMatchObject({ code: 'BackingChain' });
  });
});

describe('VHD corruption', () => {
  it('gives typed errors for fuzzed footers, headers and BATs, and never writes a rejected image', async () => {
    const file = new MemoryHostFile('/images/f.vhd');
    await vhdFormat.create(file, { size: 6 << 20, path: '/images/f.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const dev = await vhdFormat.open(file, memoryContext(false));
    await dev.write(0, mixedContent(3 << 20, 5));
    await dev.close();
    const image = file.contents();
    const end = image.length;
    const outcome = await fuzzImage(vhdFormat, image, [[0, 512], [512, 1536], [1536, 1536 + 16], [end - 512, end]], 300);
    expect(outcome.rejected).toBeGreaterThan(100);
    expect([...outcome.codes].every((c) => ['CorruptHeader', 'CorruptTable', 'Truncated', 'Unsupported', 'OutOfRange'].includes(c))).toBe(true);
  }, 60_000);

  it('rejects hand-corrupted structures with the structure and offset named', async () => {
    const file = new MemoryHostFile('/images/h.vhd');
    await vhdFormat.create(file, { size: 8 << 20, path: '/images/h.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const good = file.contents();
    const open = (bytes: Uint8Array) => vhdFormat.open(new MemoryHostFile('/images/h.vhd', bytes), memoryContext(false));
    // A BAT entry pointing past the end of the file, with the header checksum left intact.
    const badBat = good.slice();
    new DataView(badBat.buffer).setUint32(1536, 0x00ff_ffff);
    await expect(open(badBat)).rejects.toMatchObject({ code: 'CorruptTable', message: expect.stringContaining('offset 1536') });
    // Truncated file.
    await expect(open(good.subarray(0, 300))).rejects.toMatchObject({ code: 'Truncated' });
    // Both footers damaged.
    const noFooter = good.slice();
    noFooter[3] ^= 0xff;
    noFooter[noFooter.length - 509] ^= 0xff;
    await expect(open(noFooter)).rejects.toMatchObject({ code: 'CorruptHeader' });
    // End footer damaged, copy intact: readable read-only, refused read-write.
    const tailOnly = good.slice();
    tailOnly[tailOnly.length - 400] ^= 0xff;
    await expect(open(tailOnly)).rejects.toMatchObject({ code: 'CorruptHeader', message: expect.stringContaining('read-only') });
    const ro = await vhdFormat.open(new MemoryHostFile('/images/h.vhd', tailOnly, true), memoryContext(true));
    expect(ro.size).toBe(vhdSizeForCreate(8 << 20).size);
  });
});

describe.skipIf(!HAVE_QEMU_IMG)('VHD against qemu-img', { timeout: 60_000 }, () => {
  const size = 12 << 20;
  const content = mixedContent(size, 21);
  writeFileSync(at('src.raw'), content);

  for (const subformat of ['dynamic', 'fixed']) {
    it(`reads a ${subformat} VHD qemu-img wrote with identical content`, async () => {
      qemuImg('convert', '-f', 'raw', '-O', 'vpc', '-o', `subformat=${subformat}`, at('src.raw'), at(`q-${subformat}.vhd`));
      const expected = qemuToRaw(at(`q-${subformat}.vhd`), 'vpc', at(`q-${subformat}.raw`));
      const dev = await openImage(at(`q-${subformat}.vhd`), { registry });
      expect(dev.format).toBe('vpc');
      expect(dev.size).toBe(expected.length);
      expect(firstDifference(await readAll(dev), expected)).toBe(-1);
      expect(firstDifference(expected.subarray(0, size), content)).toBe(-1);
      await dev.close();
    });

    it(`writes a ${subformat} VHD that qemu-img reads back identically`, async () => {
      const path = at(`t-${subformat}.vhd`);
      await createImage(path, { format: 'vpc', size: 10_000_000, options: { subformat }, registry });
      const info = JSON.parse(qemuImg('info', '-f', 'vpc', '--output', 'json', path)) as { 'virtual-size': number; format: string };
      const dev = await openImage(path, { registry, readOnly: false });
      expect(info['virtual-size']).toBe(dev.size);
      expect(info.format).toBe('vpc');
      const data = mixedContent(dev.size, 4);
      for (let off = 0; off < dev.size; off += 3_000_001) await dev.write(off, data.subarray(off, Math.min(dev.size, off + 3_000_001)));
      await dev.close();
      expect(firstDifference(qemuToRaw(path, 'vpc', at(`t-${subformat}.raw`)), data)).toBe(-1);
    });
  }

  it('reads a differencing VHD over a qemu-img base, which qemu-img itself reads without its parent', async () => {
    qemuImg('convert', '-f', 'raw', '-O', 'vpc', at('src.raw'), at('base.vhd'));
    const base = qemuToRaw(at('base.vhd'), 'vpc', at('base.raw'));
    await createImage(at('child.vhd'), { format: 'vpc', backingFile: 'base.vhd', registry });
    const child = await openImage(at('child.vhd'), { registry, readOnly: false });
    const patch = mixedContent(300_000, 9);
    await child.write(5_000_123, patch);
    await child.close();
    const expected = base.slice();
    expected.set(patch, 5_000_123);
    const again = await openImage(at('child.vhd'), { registry });
    expect(again.backing).toBeInstanceOf(VhdImage);
    expect(firstDifference(await readAll(again), expected)).toBe(-1);
    await again.close();
    // qemu-img opens it (and reads only the child's own sectors): the structure is valid VHD.
    const info = JSON.parse(qemuImg('info', '--output', 'json', at('child.vhd'))) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(base.length);
    const qemuView = qemuToRaw(at('child.vhd'), 'vpc', at('child.raw'));
    expect(firstDifference(qemuView.subarray(5_000_123, 5_000_123 + patch.length), patch)).toBe(-1);
    expect(statSync(at('child.vhd')).size).toBeLessThan(6 << 20);
    expect(readFileSync(at('child.vhd')).subarray(0, 8).toString()).toBe('conectix');
  });
});

if (!HAVE_QEMU_IMG) console.warn(QEMU_SKIP_REASON);

describe('VHD check', () => {
  it('reports a footer copy that differs and rewrites it with -r all', async () => {
    const file = new MemoryHostFile('/images/k.vhd');
    await vhdFormat.create(file, { size: 4 << 20, path: '/images/k.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const bytes = file.contents();
    bytes[40] ^= 0x10; // original size in the copy only; the copy's checksum no longer matters to open
    const ro = await vhdFormat.open(new MemoryHostFile('/images/k.vhd', bytes, true), memoryContext(true));
    expect(await ro.check!({ repair: 'none' })).toMatchObject({ corruptions: 1, corruptionsFixed: 0 });
    const rwFile = new MemoryHostFile('/images/k.vhd', bytes);
    const rw = await vhdFormat.open(rwFile, memoryContext(false));
    expect(await rw.check!({ repair: 'all' })).toMatchObject({ corruptions: 1, corruptionsFixed: 1 });
    expect(await rw.check!({ repair: 'none' })).toMatchObject({ corruptions: 0 });
    await rw.close();
  });
});

describe('VHD differencing structure', () => {
  it('records the parent as the spec says: unique id, time stamp, name and W2ru/W2ku locators', async () => {
    const parentFile = new MemoryHostFile('/images/base.vhd');
    await vhdFormat.create(parentFile, { size: 4 << 20, path: '/images/base.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const parentBytes = parentFile.contents();
    const child = new MemoryHostFile('/images/child.vhd');
    await vhdFormat.create(child, { size: 4 << 20, path: '/images/child.vhd', backingFile: 'base.vhd', options: {}, openFile: async () => new MemoryHostFile('/images/base.vhd', parentBytes, true) });
    const b = child.contents();
    const v = new DataView(b.buffer);
    const pv = new DataView(parentBytes.buffer);
    expect(v.getUint32(60)).toBe(4); // footer disk type: differencing
    const h = 512; // dynamic header right after the footer copy
    expect([...b.subarray(h + 40, h + 56)]).toEqual([...parentBytes.subarray(68, 84)]); // parent unique id
    expect(v.getUint32(h + 56)).toBe(pv.getUint32(24)); // parent time stamp
    expect(new TextDecoder('utf-16be').decode(b.subarray(h + 64, h + 64 + 16))).toBe('base.vhd');
    const codes = [0, 1].map((i) => v.getUint32(h + 576 + i * 24));
    expect(codes).toEqual([0x5732_7275, 0x5732_6b75]); // W2ru, W2ku
    const rel = { length: v.getUint32(h + 576 + 8), offset: Number(v.getBigUint64(h + 576 + 16)) };
    expect(new TextDecoder('utf-16le').decode(b.subarray(rel.offset, rel.offset + rel.length))).toBe('.\\base.vhd');
  });
});

describe('VHD without its parent', () => {
  it('reads unallocated sectors as zeros and refuses writes when the parent was not opened', async () => {
    const parentFile = new MemoryHostFile('/images/p.vhd');
    await vhdFormat.create(parentFile, { size: 2 << 20, path: '/images/p.vhd', options: {}, openFile: () => Promise.reject(new Error('no')) });
    const parentBytes = parentFile.contents();
    const child = new MemoryHostFile('/images/c.vhd');
    await vhdFormat.create(child, { size: 2 << 20, path: '/images/c.vhd', backingFile: 'p.vhd', options: {}, openFile: async () => new MemoryHostFile('/images/p.vhd', parentBytes, true) });
    const dev = await vhdFormat.open(child, memoryContext(false)); // openBacking answers undefined
    expect(dev.backingFile).toBe('p.vhd');
    expect(dev.backing).toBeUndefined();
    const writes = child.writes;
    await expect(dev.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'BackingChain' });
    expect(child.writes).toBe(writes);
    const sector = new Uint8Array(512).fill(9);
    await dev.read(0, sector);
    expect(sector.every((b) => b === 0)).toBe(true);
  });
});
