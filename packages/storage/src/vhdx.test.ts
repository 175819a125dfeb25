import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';
import { FormatRegistry } from './format-registry.js';
import { guidConstant, guidToString } from './guid.js';
import type { HostFile } from './host-file.js';
import { MemoryHostFile } from './host-file.js';
import type { CreateOptions } from './image-format.js';
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
import { VhdxImage } from './vhdx.js';
import { vhdxFormat } from './vhdx-format.js';
import { MiB, VHDX_HEADER_OFFSETS, parseVhdxHeader, serializeVhdxHeader } from './vhdx-header.js';
import { findVhdxLogReplay, serializeVhdxLogEntry } from './vhdx-log.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-vhdx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const registry = new FormatRegistry([rawFormat, vhdxFormat]);
const at = (name: string): string => join(dir, name);
const noFiles = (): Promise<HostFile> => Promise.reject(new Error('no other files'));
const createOpts = (size: number, options: Record<string, string> = {}, extra: Partial<CreateOptions> = {}): CreateOptions =>
  ({ size, path: '/images/x.vhdx', options, openFile: noFiles, ...extra });

async function newImage(size: number, options: Record<string, string> = {}): Promise<MemoryHostFile> {
  const file = new MemoryHostFile('/images/x.vhdx');
  await vhdxFormat.create(file, createOpts(size, options));
  return file;
}

describe('VHDX building blocks', () => {
  it('CRC-32C matches the standard check value and GUIDs keep their mixed-endian layout', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe306_9283);
    const g = guidConstant('2dc27766-f623-4200-9d64-115e9bfd4a08');
    expect([...g.subarray(0, 4)]).toEqual([0x66, 0x77, 0xc2, 0x2d]);
    expect(guidToString(g)).toBe('2dc27766-f623-4200-9d64-115e9bfd4a08');
  });

  it('round-trips a log entry and finds it as the active sequence', () => {
    const logGuid = guidConstant('11111111-2222-3333-4444-555555555555');
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    const entry = serializeVhdxLogEntry({ sequence: 7n, logGuid, at: 8192, flushedFileOffset: 1 << 22, lastFileOffset: 1 << 22, sectors: [{ offset: 3 * MiB, data }] });
    const log = new Uint8Array(MiB);
    log.set(entry, 8192);
    const replay = findVhdxLogReplay(log, logGuid, 1 << 22, MiB);
    expect(replay?.headSequence).toBe(7n);
    expect(replay?.patches).toEqual([{ kind: 'data', offset: 3 * MiB, data }]);
    // A different log GUID, a flipped bit, or a file shorter than the log says: nothing or an error.
    expect(findVhdxLogReplay(log, guidConstant('11111111-2222-3333-4444-555555555556'), 1 << 22, MiB)).toBeUndefined();
    expect(() => findVhdxLogReplay(log, logGuid, 1 << 20, MiB)).toThrow(expect.objectContaining({ code: 'CorruptHeader' }));
    log[8192 + 5000] ^= 1;
    expect(findVhdxLogReplay(log, logGuid, 1 << 22, MiB)).toBeUndefined();
  });
});

describe('VHDX images written by tsvm', { timeout: 60_000 }, () => {
  it('dynamic: reads what it wrote, before and after reopening, with a clean log after close', async () => {
    const file = await newImage(40 * MiB, { block_size: '1M' });
    const dev = await vhdxFormat.open(file, memoryContext(false));
    const data = mixedContent(5 * MiB, 2);
    await dev.write(3 * MiB + 777, data);
    await dev.writeZeroes(20 * MiB, 2 * MiB);
    expect(await dev.allocation(20 * MiB, 2 * MiB)).toEqual([{ offset: 20 * MiB, length: 2 * MiB, status: 'zero', depth: 0 }]);
    await dev.close();
    const bytes = file.contents();
    const h = parseVhdxHeader(bytes.subarray(VHDX_HEADER_OFFSETS[0]), VHDX_HEADER_OFFSETS[0]);
    expect(typeof h === 'string' ? h : guidToString(h.logGuid)).toBe('00000000-0000-0000-0000-000000000000');
    const again = await vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', bytes, true), memoryContext(true));
    const all = await readAll(again);
    expect(firstDifference(all.subarray(3 * MiB + 777, 3 * MiB + 777 + data.length), data)).toBe(-1);
    expect(all.subarray(0, 3 * MiB + 777).every((b) => b === 0)).toBe(true);
  });

  it('differencing: partial sectors merge with the parent, unwritten sectors read from it', async () => {
    const parentFile = await newImage(16 * MiB, { block_size: '2M' });
    const parent = await vhdxFormat.open(parentFile, memoryContext(false));
    const base = mixedContent(16 * MiB, 8);
    await parent.write(0, base);
    await parent.close();
    const parentBytes = parentFile.contents();
    const openParent = () => vhdxFormat.open(new MemoryHostFile('/images/p.vhdx', parentBytes, true), memoryContext(true));
    const child = new MemoryHostFile('/images/c.vhdx');
    await vhdxFormat.create(child, createOpts(16 * MiB, {}, { path: '/images/c.vhdx', backingFile: 'p.vhdx', openFile: async () => new MemoryHostFile('/images/p.vhdx', parentBytes, true) }));
    const ctx = { ...memoryContext(false), openBacking: async () => openParent() };
    const dev = await vhdxFormat.open(child, ctx);
    expect(dev.backingFile).toBe('p.vhdx');
    const expected = base.slice();
    const writes: [number, number][] = [[100, 10], [2 * MiB - 300, 5000], [6 * MiB, 8 * MiB], [15 * MiB + 511, 513]];
    for (const [off, len] of writes) {
      const d = mixedContent(len, off + 1);
      await dev.write(off, d);
      expected.set(d, off);
    }
    await dev.writeZeroes(4 * MiB, 2 * MiB);
    expected.fill(0, 4 * MiB, 6 * MiB);
    expect(firstDifference(await readAll(dev), expected)).toBe(-1);
    const alloc = await dev.allocation(0, dev.size);
    expect(alloc.some((e) => e.depth === 1)).toBe(true);
    await dev.close();
    const again = await vhdxFormat.open(new MemoryHostFile('/images/c.vhdx', child.contents(), true), { ...memoryContext(true), openBacking: async () => openParent() });
    expect(firstDifference(await readAll(again), expected)).toBe(-1);
    // A parent that was written after the child was made is refused (its data write GUID moved).
    const moved = await vhdxFormat.open(new MemoryHostFile('/images/p.vhdx', parentBytes), memoryContext(false));
    await moved.write(0, new Uint8Array([1]));
    await moved.close();
    const ctx2 = { ...memoryContext(true), openBacking: async () => moved instanceof VhdxImage ? vhdxFormat.open(new MemoryHostFile('/p', (moved.file as MemoryHostFile).contents(), true), memoryContext(true)) : undefined };
    await expect(vhdxFormat.open(new MemoryHostFile('/images/c.vhdx', child.contents(), true), ctx2)).rejects.toMatchObject({ code: 'BackingChain' });
  });

  it('replays a log on open: in memory when read-only (no write), in the file when read-write', async () => {
    const file = await newImage(8 * MiB, { block_size: '1M' });
    const clean = file.contents();
    const { crafted, pattern } = craftPendingLog(clean);
    const ro = new MemoryHostFile('/images/x.vhdx', crafted, true);
    const dev = await vhdxFormat.open(ro, memoryContext(true));
    const first = new Uint8Array(MiB);
    await dev.read(0, first);
    expect(firstDifference(first, pattern)).toBe(-1);
    expect(ro.writes).toBe(0);
    const rw = new MemoryHostFile('/images/x.vhdx', crafted);
    const dev2 = await vhdxFormat.open(rw, memoryContext(false));
    expect(rw.writes).toBeGreaterThan(0);
    await dev2.close();
    const after = await vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', rw.contents(), true), memoryContext(true));
    await after.read(0, first);
    expect(firstDifference(first, pattern)).toBe(-1);
  });

  it('survives a writer killed at any write: old or new data, never garbage', async () => {
    const file = await newImage(8 * MiB, { block_size: '1M' });
    const start = file.contents();
    const data = new Uint8Array(MiB).fill(0x77);
    for (let crashAfter = 0; crashAfter < 12; crashAfter++) {
      const crashing = new CrashingFile('/images/x.vhdx', start, crashAfter);
      try {
        const dev = await vhdxFormat.open(crashing, memoryContext(false));
        await dev.write(MiB, data);
        await dev.close();
      } catch (err) {
        expect(String(err)).toContain('simulated crash');
      }
      const dev = await vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', crashing.contents(), true), memoryContext(true));
      const back = new Uint8Array(MiB);
      await dev.read(MiB, back);
      expect(back.every((b) => b === 0) || back.every((b) => b === 0x77)).toBe(true);
    }
  });
});

/** A memory file whose writer "dies" (every call fails) after `limit` writes. */
class CrashingFile extends MemoryHostFile {
  private count = 0;
  constructor(path: string, initial: Uint8Array, private readonly limit: number) {
    super(path, initial);
  }
  override async write(position: number, data: Uint8Array): Promise<void> {
    if (this.count++ >= this.limit) throw new Error('simulated crash');
    return super.write(position, data);
  }
  override async truncate(length: number): Promise<void> {
    if (this.count++ >= this.limit) throw new Error('simulated crash');
    return super.truncate(length);
  }
}

/**
 * A copy of a clean, empty image (1 MiB blocks, log at 1 MiB, BAT at 3 MiB) with a pending log entry
 * that maps block 0 to a new block at the end of the file holding `pattern`.
 */
function craftPendingLog(clean: Uint8Array): { crafted: Uint8Array; pattern: Uint8Array } {
  const pattern = mixedContent(MiB, 99);
  const end = clean.length;
  const crafted = new Uint8Array(end + MiB);
  crafted.set(clean);
  crafted.set(pattern, end);
  const logGuid = guidConstant('0badc0de-1234-4321-8888-a1b2c3d4e5f6');
  const hv = parseVhdxHeader(crafted.subarray(VHDX_HEADER_OFFSETS[1]), VHDX_HEADER_OFFSETS[1]);
  if (typeof hv === 'string') throw new Error(hv);
  crafted.set(serializeVhdxHeader({ ...hv, sequenceNumber: hv.sequenceNumber + 5n, logGuid }), VHDX_HEADER_OFFSETS[0]);
  const batSector = crafted.slice(3 * MiB, 3 * MiB + 4096);
  const mb = end / MiB;
  new DataView(batSector.buffer).setUint32(0, ((mb << 20) | 6) >>> 0, true);
  const entry = serializeVhdxLogEntry({ sequence: 1n, logGuid, at: 0, flushedFileOffset: end + MiB, lastFileOffset: end + MiB, sectors: [{ offset: 3 * MiB, data: batSector }] });
  crafted.set(entry, MiB);
  return { crafted, pattern };
}

describe('VHDX corruption', () => {
  it('gives typed errors for fuzzed headers, region tables, metadata and BAT, and never writes a rejected image', async () => {
    const file = await newImage(6 * MiB, { block_size: '1M' });
    const dev = await vhdxFormat.open(file, memoryContext(false));
    await dev.write(0, mixedContent(3 * MiB, 3));
    await dev.close();
    const image = file.contents();
    const ranges: [number, number][] = [[0, 16], [64 << 10, (64 << 10) + 80], [128 << 10, (128 << 10) + 80], [192 << 10, (192 << 10) + 80], [256 << 10, (256 << 10) + 80], [2 * MiB, 2 * MiB + 256], [(2 * MiB) + (64 << 10), 2 * MiB + (64 << 10) + 64], [3 * MiB, 3 * MiB + 64]];
    const outcome = await fuzzImage(vhdxFormat, image, ranges, 300);
    expect(outcome.rejected).toBeGreaterThan(50);
    expect([...outcome.codes].every((c) => ['CorruptHeader', 'CorruptTable', 'Truncated', 'Unsupported'].includes(c))).toBe(true);
  }, 60_000);

  it('opens images with a fuzzed pending log either replaying a valid sequence or ignoring it, never crashing', async () => {
    const { crafted } = craftPendingLog((await newImage(8 * MiB, { block_size: '1M' })).contents());
    // The entry header, its descriptor and its data sector; and the header naming the log.
    const outcome = await fuzzImage(vhdxFormat, crafted, [[MiB, MiB + 128], [MiB + 4096, MiB + 8192], [64 << 10, (64 << 10) + 80]], 200, 5);
    expect(outcome.opened + outcome.rejected).toBe(200);
    expect([...outcome.codes].every((c) => ['CorruptHeader', 'CorruptTable', 'Truncated', 'Unsupported'].includes(c))).toBe(true);
  }, 60_000);

  it('names the structure and offset of hand-corrupted fields', async () => {
    const good = (await newImage(4 * MiB, { block_size: '1M' })).contents();
    const open = (b: Uint8Array) => vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', b), memoryContext(false));
    const badBat = good.slice();
    new DataView(badBat.buffer).setUint32(3 * MiB, ((4000 << 20) | 6) >>> 0, true);
    await expect(open(badBat)).rejects.toMatchObject({ code: 'CorruptTable', message: expect.stringContaining(`offset ${3 * MiB}`) });
    const badState = good.slice();
    badState[3 * MiB + 8] = 5;
    await expect(open(badState)).rejects.toMatchObject({ code: 'CorruptTable' });
    const noHeaders = good.slice();
    noHeaders[(64 << 10) + 20] ^= 1;
    noHeaders[(128 << 10) + 20] ^= 1;
    await expect(open(noHeaders)).rejects.toMatchObject({ code: 'CorruptHeader', message: expect.stringContaining('checksum') });
    await expect(open(good.subarray(0, 500_000))).rejects.toMatchObject({ code: 'Truncated' });
  });
});

describe.skipIf(!HAVE_QEMU_IMG)('VHDX against qemu-img', { timeout: 60_000 }, () => {
  const size = 20 * MiB;
  writeFileSync(at('src.raw'), mixedContent(size, 31));

  for (const subformat of ['dynamic', 'fixed']) {
    it(`reads a ${subformat} VHDX qemu-img wrote with identical content`, async () => {
      qemuImg('convert', '-f', 'raw', '-O', 'vhdx', '-o', `subformat=${subformat}`, at('src.raw'), at(`q-${subformat}.vhdx`));
      const dev = await openImage(at(`q-${subformat}.vhdx`), { registry });
      expect(dev.format).toBe('vhdx');
      expect(firstDifference(await readAll(dev), readFileSync(at('src.raw')))).toBe(-1);
      await dev.close();
    });

    it(`writes a ${subformat} VHDX that passes qemu-img check and reads back identically`, async () => {
      const path = at(`t-${subformat}.vhdx`);
      await createImage(path, { format: 'vhdx', size: 14 * MiB, options: { subformat, block_size: '2M' }, registry });
      const dev = await openImage(path, { registry, readOnly: false });
      const data = mixedContent(dev.size, 6);
      for (let off = 0; off < dev.size; off += 3_000_000) await dev.write(off, data.subarray(off, Math.min(dev.size, off + 3_000_000)));
      await dev.close();
      expect(qemuCheck(path, 'vhdx').status).toBe(0);
      const info = JSON.parse(qemuImg('info', '--output', 'json', path)) as { 'virtual-size': number; 'cluster-size': number };
      expect(info['virtual-size']).toBe(14 * MiB);
      expect(info['cluster-size']).toBe(2 * MiB);
      expect(firstDifference(qemuToRaw(path, 'vhdx', at(`t-${subformat}.raw`)), data)).toBe(-1);
    });
  }

  it('writes log entries qemu-img replays the same way tsvm does', async () => {
    const path = at('log.vhdx');
    await createImage(path, { format: 'vhdx', size: 8 * MiB, options: { block_size: '1M' }, registry });
    const { crafted, pattern } = craftPendingLog(new Uint8Array(readFileSync(path)));
    writeFileSync(path, crafted);
    copyFileSync(path, at('log-tsvm.vhdx'));
    // qemu-img refuses to read an image with a log to replay until it may write it.
    expect(() => qemuImg('convert', '-f', 'vhdx', '-O', 'raw', path, at('log.raw'))).toThrow();
    qemuCheck(path, 'vhdx');
    qemuImg('check', '-r', 'all', '-f', 'vhdx', path);
    expect(firstDifference(qemuToRaw(path, 'vhdx', at('log.raw')).subarray(0, MiB), pattern)).toBe(-1);
    const dev = await openImage(at('log-tsvm.vhdx'), { registry, readOnly: false });
    await dev.close();
    expect(firstDifference(qemuToRaw(at('log-tsvm.vhdx'), 'vhdx', at('log2.raw')).subarray(0, MiB), pattern)).toBe(-1);
  });
});

describe('VHDX check', () => {
  it('reports a log that needs replay, and counts the replay as fixed when opened for repair', async () => {
    const clean = (await newImage(8 * MiB, { block_size: '1M' })).contents();
    const { crafted } = craftPendingLog(clean);
    const ro = await vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', crafted, true), memoryContext(true));
    expect(await ro.check!({ repair: 'none' })).toMatchObject({ corruptions: 1, corruptionsFixed: 0 });
    const rw = await vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', crafted), memoryContext(false));
    expect(await rw.check!({ repair: 'all' })).toMatchObject({ corruptions: 1, corruptionsFixed: 1 });
    await rw.close();
    const cleanDev = await vhdxFormat.open(new MemoryHostFile('/images/x.vhdx', clean, true), memoryContext(true));
    expect(await cleanDev.check!({ repair: 'none' })).toMatchObject({ corruptions: 0, leaks: 0, checkErrors: 0 });
  });
});

describe('VHDX differencing structure', () => {
  it('writes the [MS-VHDX] fields a differencing disk needs: HasParent, locator, interleaved bitmap entries', async () => {
    const parentBytes = (await newImage(4 * MiB, { block_size: '1M' })).contents();
    const child = new MemoryHostFile('/images/c.vhdx');
    await vhdxFormat.create(child, createOpts(4 * MiB, { block_size: '1M' }, { path: '/images/c.vhdx', backingFile: 'p.vhdx', openFile: async () => new MemoryHostFile('/images/p.vhdx', parentBytes, true) }));
    const dev = await vhdxFormat.open(child, { ...memoryContext(false), openBacking: () => vhdxFormat.open(new MemoryHostFile('/images/p.vhdx', parentBytes, true), memoryContext(true)) });
    await dev.write(512, new Uint8Array(512).fill(7)); // one sector: a partially present block
    await dev.close();
    const b = child.contents();
    const v = new DataView(b.buffer);
    // Region table at 192 KiB: two entries, BAT then metadata, each a GUID, offset and length.
    expect(new TextDecoder().decode(b.subarray(192 << 10, (192 << 10) + 4))).toBe('regi');
    const regions = new Map<string, number>();
    for (let i = 0; i < v.getUint32((192 << 10) + 8, true); i++) {
      const at = (192 << 10) + 16 + i * 32;
      regions.set(guidToString(b, at), Number(v.getBigUint64(at + 16, true)));
    }
    const md = regions.get('8b7ca206-4790-4b9a-b8fe-575f050f886e')!;
    const bat = regions.get('2dc27766-f623-4200-9d64-115e9bfd4a08')!;
    // Metadata: the file parameters item has HasParent (bit 1); the parent locator item exists.
    const items = new Map<string, { offset: number; length: number }>();
    for (let i = 0; i < v.getUint16(md + 10, true); i++) {
      const at = md + 32 + i * 32;
      items.set(guidToString(b, at), { offset: v.getUint32(at + 16, true), length: v.getUint32(at + 20, true) });
    }
    const fp = items.get('caa16737-fa36-4d43-b3b6-33f0aa44e76b')!;
    expect(v.getUint32(md + fp.offset + 4, true) & 2).toBe(2);
    const pl = items.get('a8d35f2b-b30b-454d-abf7-d3d84834ab0c')!;
    expect(guidToString(b, md + pl.offset)).toBe('b04aefb7-d19e-4a81-b789-25b8e9445913');
    const text = new TextDecoder('utf-16le').decode(b.subarray(md + pl.offset, md + pl.offset + pl.length));
    expect(text).toContain('parent_linkage');
    expect(text).toContain('.\\p.vhdx');
    // BAT: chunk ratio for 1 MiB blocks and 512-byte sectors is 4096; block 0 partially present (7),
    // and the sector bitmap entry after the chunk's payload entries present (6).
    expect(v.getUint32(bat, true) & 7).toBe(7);
    const bitmapEntry = v.getUint32(bat + 4096 * 8, true);
    expect(bitmapEntry & 7).toBe(6);
    const bitmapAt = (bitmapEntry >>> 20) * MiB;
    expect(b[bitmapAt]).toBe(0b10); // sector 1 only, least significant bit first
  });
});
