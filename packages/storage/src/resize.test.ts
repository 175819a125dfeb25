import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageDevice } from './image-format.js';
import { HAVE_QEMU_IMG, QEMU_SKIP_REASON, mixedContent, qemuCheck, qemuImg, qemuToRaw, readAll } from './image-test-support.js';
import { createImage, openImage } from './open-image.js';
import { vhdSizeForCreate } from './vhd-geometry.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-resize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
if (!HAVE_QEMU_IMG) console.warn(QEMU_SKIP_REASON);

const MiB = 1 << 20;

/** Create `name`, fill it with `content`, close it; returns its path. */
async function made(name: string, format: string, content: Uint8Array, options: Record<string, string> = {}): Promise<string> {
  const path = join(dir, name);
  await createImage(path, { format, size: content.length, options });
  const dev = await openImage(path, { format, readOnly: false });
  await dev.write(0, content);
  await dev.close();
  return path;
}

async function resized(path: string, size: number): Promise<ImageDevice> {
  const dev = await openImage(path, { readOnly: false });
  await dev.resize!(size);
  await dev.close();
  return openImage(path);
}

/** What the image should read as after a resize from `content`: kept up to the smaller size, zeros after. */
function expected(content: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(content.subarray(0, Math.min(size, content.length)));
  return out;
}

/** tsvm and qemu-img both read `path` as `want`; qemu-img's virtual size agrees. */
async function agree(path: string, format: string, want: Uint8Array): Promise<void> {
  const dev = await openImage(path);
  try {
    expect(dev.size).toBe(want.length);
    expect(Buffer.compare(await readAll(dev), want)).toBe(0);
  } finally {
    await dev.close();
  }
  if (!HAVE_QEMU_IMG) return;
  const info = JSON.parse(qemuImg('info', '-f', format, '--output', 'json', path)) as { 'virtual-size': number };
  expect(info['virtual-size']).toBe(want.length);
  expect(Buffer.compare(qemuToRaw(path, format, `${path}.raw`), want)).toBe(0);
}

describe('resize of VHD images (qemu-img cannot resize them)', { timeout: 60_000 }, () => {
  it('grows and shrinks a fixed VHD with the footer size (force_size), exactly', async () => {
    const content = mixedContent(8 * MiB, 3);
    const path = await made('fixed.vpc', 'vpc', content, { subformat: 'fixed', force_size: 'on' });
    await (await resized(path, 12 * MiB)).close();
    await agree(path, 'vpc', expected(content, 12 * MiB));
    await (await resized(path, 5 * MiB)).close();
    await agree(path, 'vpc', expected(content, 5 * MiB));
  });

  it('rounds a fixed VHD sized by geometry up to a CHS size, as create does', async () => {
    const content = mixedContent(vhdSizeForCreate(8 * MiB).size, 4);
    const path = await made('chs.vpc', 'vpc', content, { subformat: 'fixed' });
    const want = vhdSizeForCreate(20 * MiB).size;
    const dev = await resized(path, 20 * MiB);
    expect(dev.size).toBe(want);
    await dev.close();
    await agree(path, 'vpc', expected(content, want));
  });

  it('grows a dynamic VHD into the rest of its BAT sector, zeros past the old end, and refuses beyond', async () => {
    const content = mixedContent(7 * MiB, 5);
    const path = await made('dyn.vpc', 'vpc', content, { force_size: 'on' });
    await (await resized(path, 24 * MiB)).close();
    await agree(path, 'vpc', expected(content, 24 * MiB));
    // Writes into the new blocks land where they should.
    const dev = await openImage(path, { readOnly: false });
    const tail = new Uint8Array(MiB).fill(0x77);
    await dev.write(23 * MiB, tail);
    await dev.close();
    const want = expected(content, 24 * MiB);
    want.set(tail, 23 * MiB);
    await agree(path, 'vpc', want);
    // 128 entries of 2 MiB fit in the table's one sector; more need a bigger table.
    const big = await openImage(path, { readOnly: false });
    await expect(big.resize!(257 * MiB)).rejects.toMatchObject({ code: 'Unsupported' });
    await expect(big.resize!(4 * MiB)).rejects.toMatchObject({ code: 'Unsupported' });
    await big.close();
    await agree(path, 'vpc', want);
  });
});

describe('resize of VHDX images (qemu-img cannot resize them)', { timeout: 60_000 }, () => {
  for (const subformat of ['dynamic', 'fixed']) {
    it(`grows and shrinks a ${subformat} VHDX through the log; qemu-img checks and reads it`, async () => {
      const content = mixedContent(9 * MiB, 6);
      const path = await made(`${subformat}.vhdx`, 'vhdx', content, { subformat, block_size: '2M' });
      await (await resized(path, 20 * MiB + 4096)).close();
      await agree(path, 'vhdx', expected(content, 20 * MiB + 4096));
      if (HAVE_QEMU_IMG) expect(qemuCheck(path, 'vhdx').status).toBe(0);
      const dev = await openImage(path, { readOnly: false });
      await dev.write(19 * MiB, new Uint8Array(MiB).fill(0x42));
      await dev.close();
      await (await resized(path, 3 * MiB + 512)).close();
      await agree(path, 'vhdx', expected(content, 3 * MiB + 512));
      // Growing again shows zeros where the cut data was.
      await (await resized(path, 10 * MiB)).close();
      await agree(path, 'vhdx', expected(content.subarray(0, 3 * MiB + 512), 10 * MiB));
      if (HAVE_QEMU_IMG) expect(qemuCheck(path, 'vhdx').status).toBe(0);
    });
  }

  it('refuses sizes that are not whole sectors and sizes the BAT region cannot map', async () => {
    const path = await made('small.vhdx', 'vhdx', new Uint8Array(MiB), { block_size: '1M' });
    const dev = await openImage(path, { readOnly: false });
    await expect(dev.resize!(MiB + 100)).rejects.toMatchObject({ code: 'InvalidArgument' });
    // A 1 MiB BAT region holds 131072 entries: with 1 MiB blocks (and a bitmap entry every 4096) about 127 GiB.
    await expect(dev.resize!(200 * 1024 * MiB)).rejects.toMatchObject({ code: 'Unsupported' });
    await dev.close();
  });
});
