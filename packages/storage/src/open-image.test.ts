import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageFormat } from './index.js';
import { FORMATS, FormatRegistry, createImage, openImage, rawFormat, resolveRelative } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fake = (name: string, score: number): ImageFormat => ({
  name,
  createOptions: [],
  probe: ({ head }) => (head[0] === score ? score : 0),
  open: () => Promise.reject(new Error('not used')),
  create: () => Promise.reject(new Error('not used')),
});

describe('FormatRegistry', () => {
  it('detects by content with the highest score, raw as the fallback', () => {
    const reg = new FormatRegistry([rawFormat, fake('a', 50), fake('b', 60)]);
    const input = (b: number) => ({ head: new Uint8Array([b]), tail: new Uint8Array(0), fileSize: 1 });
    expect(reg.detect(input(50)).name).toBe('a');
    expect(reg.detect(input(60)).name).toBe('b');
    expect(reg.detect(input(7)).name).toBe('raw');
    expect(() => new FormatRegistry([fake('a', 1)]).detect(input(0))).toThrow(expect.objectContaining({ code: 'Unsupported' }));
    expect(() => reg.register(fake('a', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => reg.get('nope')).toThrow(expect.objectContaining({ code: 'Unsupported' }));
    expect(FORMATS.names()).toContain('raw');
  });
});

describe('resolveRelative', () => {
  it('resolves against the image directory as qemu-img does', () => {
    expect(resolveRelative('/x/y/top.qcow2', 'base.img')).toBe('/x/y/base.img');
    expect(resolveRelative('/x/y/top.qcow2', '../b/base.img')).toBe('/x/b/base.img');
    expect(resolveRelative('/x/y/top.qcow2', '/abs/base.img')).toBe('/abs/base.img');
    expect(() => resolveRelative('/x/top', 'nbd://host/x')).toThrow(expect.objectContaining({ code: 'Unsupported' }));
    expect(() => resolveRelative('/x/top', '')).toThrow(expect.objectContaining({ code: 'BackingChain' }));
  });
});

describe('raw images through openImage/createImage', () => {
  it('creates a sparse raw image, writes, reads back, resizes', async () => {
    const path = join(dir, 'disk.raw');
    await createImage(path, { format: 'raw', size: 8 << 20 });
    expect(statSync(path).size).toBe(8 << 20);
    expect(statSync(path).blocks).toBe(0);
    const dev = await openImage(path, { readOnly: false });
    expect(dev.format).toBe('raw');
    expect(await dev.allocation(0, dev.size)).toEqual([{ offset: 0, length: 8 << 20, status: 'zero', depth: 0 }]);
    await dev.write(4096, new Uint8Array([1, 2, 3]));
    await dev.writeZeroes(4097, 1);
    await dev.resize!(16 << 20);
    expect(dev.size).toBe(16 << 20);
    await expect(dev.read(16 << 20, new Uint8Array(1))).rejects.toMatchObject({ code: 'OutOfRange' });
    await dev.close();
    expect([...readFileSync(path).subarray(4096, 4099)]).toEqual([1, 0, 3]);
  });

  it('opens read-only by default and refuses unknown formats and options', async () => {
    const path = join(dir, 'ro.raw');
    writeFileSync(path, new Uint8Array(1024));
    const dev = await openImage(path);
    await expect(dev.write(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'ReadOnly' });
    await dev.close();
    await expect(openImage(path, { format: 'nope' })).rejects.toMatchObject({ code: 'Unsupported' });
    await expect(createImage(join(dir, 'x.raw'), { format: 'raw', size: 1, options: { cluster_size: '512' } })).rejects.toMatchObject({
      code: 'Unsupported',
    });
    await expect(openImage(join(dir, 'missing.raw'))).rejects.toMatchObject({ code: 'Io' });
  });
});
