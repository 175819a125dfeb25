import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createImage, openImage } from './index.js';
import { QEMU_IMG, QEMU_SKIP_REASON, mixedContent, qemuContent, qemuImg, qemuImgStatus, qemuIo, firstDifference } from './qemu-img-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-qcow2-qemu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
if (QEMU_IMG === undefined) console.warn(QEMU_SKIP_REASON);

async function readAll(path: string): Promise<Uint8Array> {
  const dev = await openImage(path);
  try {
    const out = new Uint8Array(dev.size);
    await dev.read(0, out);
    return out;
  } finally {
    await dev.close();
  }
}

const SIZE = 3 * 1024 * 1024 + 4096 * 3;

describe.skipIf(QEMU_IMG === undefined)('qcow2 against qemu-img', { timeout: 60_000 }, () => {
  const variants: [string, string[]][] = [
    ['v3 64k', []],
    ['v2', ['-o', 'compat=0.10']],
    ['512-byte clusters', ['-o', 'cluster_size=512']],
    ['2M clusters', ['-o', 'cluster_size=2M']],
    ['refcount_bits=1', ['-o', 'refcount_bits=1']],
    ['refcount_bits=64', ['-o', 'refcount_bits=64']],
    ['extended L2', ['-o', 'extended_l2=on,cluster_size=64k']],
    ['compressed zlib', ['-c']],
    ['compressed zstd', ['-c', '-o', 'compression_type=zstd']],
  ];
  const content = mixedContent(SIZE, 7);
  const raw = join(dir, 'src.raw');
  writeFileSync(raw, content);

  for (const [name, opts] of variants) {
    it(`reads an image qemu-img wrote (${name})`, async () => {
      const img = join(dir, `q-${name.replace(/\W/g, '_')}.qcow2`);
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', ...opts, raw, img);
      expect(firstDifference(await readAll(img), content)).toBe(-1);
    });
  }

  it('reads zero clusters and a shorter backing file through a chain', async () => {
    const base = join(dir, 'base.qcow2');
    const mid = join(dir, 'mid.qcow2');
    const top = join(dir, 'top.qcow2');
    qemuImg('create', '-f', 'qcow2', base, '1M');
    qemuImg('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', mid, '2M');
    qemuImg('create', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', top, '3M');
    const io = (f: string, cmd: string) => qemuIo(f, 'qcow2', cmd);
    io(base, 'write -P 0x11 0 1M');
    io(mid, 'write -P 0x22 512k 1M');
    io(top, 'write -z 640k 64k');
    io(top, 'write -P 0x33 2560k 4k');
    const expected = qemuContent(top, join(dir, 'chain.raw'));
    const got = await readAll(top);
    expect(firstDifference(got, expected)).toBe(-1);
    expect(got[0]).toBe(0x11);
    expect(got[600 * 1024]).toBe(0x22);
    expect(got[650 * 1024]).toBe(0);
    expect(got[2 * 1024 * 1024 - 1]).toBe(0); // past the 1M base inside the 2M mid: zeros
  });

  it('snapshots tsvm makes are listed, applied and checked by qemu-img, and the reverse', async () => {
    const img = join(dir, 'snaps.qcow2');
    await createImage(img, { format: 'qcow2', size: 2 << 20 });
    const dev = await openImage(img, { readOnly: false });
    await dev.write(0, content.subarray(0, 2 << 20));
    await dev.snapshots!.create('ours');
    await dev.write(4096, new Uint8Array(100_000).fill(0xee));
    await dev.close();
    expect(qemuImg('snapshot', '-l', img)).toMatch(/1\s+ours\s/);
    expect(qemuImgStatus('check', img).status).toBe(0);
    qemuImg('snapshot', '-c', 'theirs', img);
    qemuImg('snapshot', '-a', 'ours', img);
    expect(firstDifference(await readAll(img), content.subarray(0, 2 << 20))).toBe(-1);
    const again = await openImage(img, { readOnly: false });
    expect((await again.snapshots!.list()).map((s) => s.name)).toEqual(['ours', 'theirs']);
    await again.snapshots!.apply('theirs');
    await again.snapshots!.delete('ours');
    await again.close();
    expect(qemuImgStatus('check', img).status).toBe(0);
    const back = qemuContent(img, join(dir, 'snaps.raw'));
    expect(back[5000]).toBe(0xee);
  });

  it('writes images that qemu-img check passes and reads back identically', async () => {
    const variants: Record<string, string>[] = [{}, { compat: '0.10' }, { cluster_size: '512' }, { cluster_size: '2M' }, { refcount_bits: '1' }, { lazy_refcounts: 'on' }];
    for (const opts of variants) {
      const img = join(dir, `t-${Object.values(opts).join('_') || 'default'}.qcow2`);
      await createImage(img, { format: 'qcow2', size: SIZE, options: opts });
      const dev = await openImage(img, { readOnly: false });
      await dev.write(0, content.subarray(0, 1 << 20));
      await dev.write(5000, content.subarray(5000, 300_000)); // unaligned rewrite in place
      await dev.write((2 << 20) + 333, content.subarray((2 << 20) + 333, SIZE - 77));
      await dev.writeZeroes(65536, 131072);
      await dev.close();
      const expected = content.slice();
      expected.fill(0, 1 << 20, (2 << 20) + 333);
      expected.fill(0, SIZE - 77);
      expected.fill(0, 65536, 65536 + 131072);
      const check = qemuImgStatus('check', img);
      expect(check.stdout + check.stderr, JSON.stringify(opts)).toContain('No errors were found');
      expect(firstDifference(qemuContent(img, join(dir, "back.raw")), expected), JSON.stringify(opts)).toBe(-1);
    }
  });
});

