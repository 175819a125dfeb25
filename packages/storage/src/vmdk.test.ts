import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { FormatRegistry } from './format-registry.js';
import type { HostFile } from './host-file.js';
import { MemoryHostFile } from './host-file.js';
import {
  HAVE_QEMU_IMG,
  firstDifference,
  fuzzImage,
  memoryContext,
  mixedContent,
  qemuCheck,
  qemuImg,
  qemuToRaw,
  readAll,
} from './image-test-support.js';
import { createImage, openImage } from './open-image.js';
import { rawFormat } from './raw.js';
import { parseVmdkDescriptor, serializeVmdkDescriptor } from './vmdk-descriptor.js';
import { vmdkFormat } from './vmdk-format.js';
import type { VmdkImage } from './vmdk.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-vmdk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const registry = new FormatRegistry([rawFormat, vmdkFormat]);
const at = (name: string): string => join(dir, name);
const MiB = 1 << 20;
const noFiles = (): Promise<HostFile> => Promise.reject(new Error('no other files'));

async function memoryImage(size: number, subformat = 'monolithicSparse'): Promise<MemoryHostFile> {
  const file = new MemoryHostFile('/images/x.vmdk');
  await vmdkFormat.create(file, { size, path: '/images/x.vmdk', options: { subformat }, openFile: noFiles });
  return file;
}

describe('VMDK descriptor', () => {
  it('round-trips and rejects malformed lines with the offset named', () => {
    const text = serializeVmdkDescriptor({ createType: 'monolithicFlat', cid: 0x1234, parentCid: 0xffff_ffff, extents: [{ access: 'RW', sectors: 2048, type: 'FLAT', fileName: 'a-flat.vmdk', offset: 0 }], ddb: new Map([['ddb.adapterType', 'ide']]) });
    const d = parseVmdkDescriptor(text, 'a.vmdk', 0);
    expect(d.extents).toEqual([{ access: 'RW', sectors: 2048, type: 'FLAT', fileName: 'a-flat.vmdk', offset: 0 }]);
    expect(d.cid).toBe(0x1234);
    expect(() => parseVmdkDescriptor('createType="x"\nRW 10 SPARSE\n', 'a.vmdk', 512)).toThrow(expect.objectContaining({ code: 'CorruptHeader', message: expect.stringContaining('offset 512') }));
    expect(() => parseVmdkDescriptor('createType="x"\n', 'a.vmdk', 0)).toThrow(expect.objectContaining({ code: 'CorruptHeader' }));
  });
});

describe('VMDK images written by tsvm', { timeout: 60_000 }, () => {
  it('monolithicSparse: writes at any alignment and reads back after reopening', async () => {
    const file = await memoryImage(10 * MiB);
    const dev = await vmdkFormat.open(file, memoryContext(false));
    const data = mixedContent(3 * MiB, 4);
    await dev.write(123_457, data);
    await dev.close();
    const again = await vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', file.contents(), true), memoryContext(true));
    const all = await readAll(again);
    expect(firstDifference(all.subarray(123_457, 123_457 + data.length), data)).toBe(-1);
    expect(all.subarray(0, 123_457).every((b) => b === 0)).toBe(true);
    const alloc = await again.allocation(0, again.size);
    expect(alloc.at(-1)).toMatchObject({ status: 'unallocated' });
  });

  it('streamOptimized: written once in order, read back, refuses rewrites', async () => {
    const file = await memoryImage(4 * MiB, 'streamOptimized');
    const dev = await vmdkFormat.open(file, memoryContext(false));
    const data = mixedContent(4 * MiB, 12);
    data[0] = 1; // grain 0 holds data, so the rewrite below hits a written grain
    for (let off = 0; off < data.length; off += 100_000) await dev.write(off, data.subarray(off, Math.min(data.length, off + 100_000)));
    await expect(dev.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'Unsupported' });
    await dev.close();
    expect(file.contents().length).toBeLessThan(data.length);
    const again = await vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', file.contents(), true), memoryContext(true));
    expect(firstDifference(await readAll(again), data)).toBe(-1);
    await expect(vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', file.contents()), memoryContext(false))).rejects.toMatchObject({ code: 'Unsupported' });
  });
});

describe('VMDK corruption', () => {
  it('gives typed errors for fuzzed headers, descriptors, directories and tables; never writes a rejected image', async () => {
    const file = await memoryImage(4 * MiB);
    const dev = await vmdkFormat.open(file, memoryContext(false));
    await dev.write(0, mixedContent(2 * MiB, 3));
    await dev.close();
    const image = file.contents();
    // header, descriptor, redundant directory + tables, directory + tables
    const outcome = await fuzzImage(vmdkFormat, image, [[0, 80], [512, 900], [21 * 512, 21 * 512 + 64], [26 * 512, 26 * 512 + 64], [27 * 512, 27 * 512 + 200]], 300);
    expect(outcome.rejected).toBeGreaterThan(50);
    expect([...outcome.codes].every((c) => ['CorruptHeader', 'CorruptTable', 'Truncated', 'Unsupported'].includes(c))).toBe(true);

    const so = await memoryImage(2 * MiB, 'streamOptimized');
    const sdev = await vmdkFormat.open(so, memoryContext(false));
    await sdev.write(0, mixedContent(2 * MiB, 5));
    await sdev.close();
    const sImage = so.contents();
    const end = sImage.length;
    const sOutcome = await fuzzImage(vmdkFormat, sImage, [[0, 80], [128 * 512, 128 * 512 + 600], [end - 3 * 512, end]], 200, 11);
    expect(sOutcome.rejected).toBeGreaterThan(30);
  }, 60_000);

  it('gives typed errors for fuzzed descriptor files of flat images', async () => {
    const flat = new MemoryHostFile('/images/x-flat.vmdk', new Uint8Array(2 * MiB));
    const descriptor = new MemoryHostFile('/images/x.vmdk');
    await vmdkFormat.create(descriptor, { size: 2 * MiB, path: '/images/x.vmdk', options: { subformat: 'monolithicFlat' }, openFile: async () => flat });
    const text = descriptor.contents();
    const context = () => ({ ...memoryContext(false), openFile: async (name: string) => (name === 'x-flat.vmdk' ? new MemoryHostFile('/images/x-flat.vmdk', new Uint8Array(2 * MiB)) : Promise.reject(new StorageError('Io', `no file ${name}`))) });
    const outcome = await fuzzImage(vmdkFormat, text, [[0, text.length]], 300, 3, context);
    expect(outcome.opened).toBeGreaterThan(0);
    expect(outcome.rejected).toBeGreaterThan(50);
    expect([...outcome.codes].every((c) => ['CorruptHeader', 'Truncated', 'Unsupported', 'Io'].includes(c))).toBe(true);
  }, 60_000);

  it('names the structure and offset of hand-corrupted fields', async () => {
    const good = (await memoryImage(4 * MiB)).contents();
    const open = (b: Uint8Array) => vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', b), memoryContext(false));
    const badGd = good.slice();
    new DataView(badGd.buffer).setUint32(26 * 512, 0x7fff_ffff, true);
    await expect(open(badGd)).rejects.toMatchObject({ code: 'CorruptTable', message: expect.stringContaining(`offset ${26 * 512}`) });
    const badGrain = good.slice();
    badGrain[20] = 3; // grain size 3 sectors
    await expect(open(badGrain)).rejects.toMatchObject({ code: 'CorruptHeader', message: expect.stringContaining('grain size') });
    const textMode = good.slice();
    textMode[75] = 0x0a;
    await expect(open(textMode)).rejects.toMatchObject({ code: 'CorruptHeader', message: expect.stringContaining('newline') });
  });
});

describe.skipIf(!HAVE_QEMU_IMG)('VMDK against qemu-img', { timeout: 60_000 }, () => {
  const size = 12 * MiB;
  writeFileSync(at('src.raw'), mixedContent(size, 41));
  const source = (): Uint8Array => new Uint8Array(readFileSync(at('src.raw')));

  for (const subformat of ['monolithicSparse', 'monolithicFlat', 'streamOptimized']) {
    it(`reads a ${subformat} VMDK qemu-img wrote with identical content`, async () => {
      const path = at(`q-${subformat}.vmdk`);
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, at('src.raw'), path);
      const dev = await openImage(path, { registry });
      expect(dev.format).toBe('vmdk');
      expect(firstDifference(await readAll(dev), source())).toBe(-1);
      await dev.close();
    });

    it(`writes a ${subformat} VMDK that passes qemu-img check and reads back identically`, async () => {
      const path = at(`t-${subformat}.vmdk`);
      await createImage(path, { format: 'vmdk', size, options: { subformat }, registry });
      const dev = await openImage(path, { registry, readOnly: false });
      const data = source();
      for (let off = 0; off < size; off += 1_000_000) await dev.write(off, data.subarray(off, Math.min(size, off + 1_000_000)));
      await dev.close();
      const check = qemuCheck(path, 'vmdk');
      expect(check.status, check.output).toBe(0);
      const info = JSON.parse(qemuImg('info', '--output', 'json', path)) as { 'virtual-size': number; 'format-specific': { data: { 'create-type': string } } };
      expect(info['virtual-size']).toBe(size);
      expect(info['format-specific'].data['create-type']).toBe(subformat);
      expect(firstDifference(qemuToRaw(path, 'vmdk', at(`t-${subformat}.raw`)), data)).toBe(-1);
      if (subformat !== 'monolithicFlat') expect(statSync(path).size).toBeLessThan(size + 2 * MiB);
    });
  }

  it('reads a monolithicSparse overlay of a qemu-img base through its parentFileNameHint', async () => {
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', at('src.raw'), at('base.vmdk'));
    qemuImg('create', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', at('top.vmdk'));
    qemuImg('convert', '-f', 'vmdk', '-O', 'raw', at('top.vmdk'), at('top.raw'));
    const dev = await openImage(at('top.vmdk'), { registry, readOnly: false });
    expect(dev.backingFile).toBe('base.vmdk');
    const patch = new Uint8Array(1000).fill(0x42);
    await dev.write(70_000, patch);
    await dev.close();
    const expected = source();
    expected.set(patch, 70_000);
    expect(firstDifference(qemuToRaw(at('top.vmdk'), 'vmdk', at('top2.raw')), expected)).toBe(-1);
  });
});

describe('VMDK check', () => {
  it('finds a grain table entry outside the file that reading has not touched yet', async () => {
    const good = (await memoryImage(4 * MiB)).contents();
    const bad = good.slice();
    // First entry of the first grain table (directory at sector 26 points to the table at sector 27).
    new DataView(bad.buffer).setUint32(27 * 512, 0x00ff_ffff, true);
    const dev = await vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', bad, true), memoryContext(true));
    const report = await dev.check!({ repair: 'none' });
    expect(report.corruptions).toBe(1);
    expect(report.messages[0]).toContain('grain table 0 entry 0');
    const clean = await vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', good, true), memoryContext(true));
    expect(await clean.check!({ repair: 'none' })).toMatchObject({ corruptions: 0 });
  });
});

describe('VMDK content id', () => {
  it('changes the CID on the first write and keeps the rest of the descriptor', async () => {
    const file = await memoryImage(2 * MiB);
    const before = await vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', file.contents(), true), memoryContext(true));
    const cid = (before as VmdkImage).descriptor.cid;
    const dev = await vmdkFormat.open(file, memoryContext(false));
    await dev.write(0, new Uint8Array(512).fill(1));
    await dev.close();
    const after = (await vmdkFormat.open(new MemoryHostFile('/images/x.vmdk', file.contents(), true), memoryContext(true))) as VmdkImage;
    expect(after.descriptor.cid).not.toBe(cid);
    expect(after.descriptor.ddb).toEqual((before as VmdkImage).descriptor.ddb);
    expect(after.descriptor.createType).toBe('monolithicSparse');
  });
});
