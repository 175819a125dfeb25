import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { loadRom } from './rom.js';

describe('loadRom', () => {
  it('maps the image at the top of 4 GiB and its last 128 KiB below 1 MiB', () => {
    const mem = new PhysicalMemory({ ramSize: 2 << 20 });
    const image = new Uint8Array(256 << 10);
    for (let i = 0; i < image.length; i += 4096) image[i] = i >> 12;
    image[image.length - 16] = 0xea;
    loadRom(mem, 2 << 20, image);
    expect(mem.read8(0xfffffff0)).toBe(0xea);
    expect(mem.read8(0xfffc0000)).toBe(0);
    expect(mem.read8(0xfffc1000)).toBe(1);
    expect(mem.read8(0xffff0)).toBe(0xea);
    expect(mem.read8(0xe0000)).toBe(32); // 128 KiB from the end: page 32 of 64
    mem.write8(0xffff0, 0);
    expect(mem.read8(0xffff0)).toBe(0xea); // read-only
  });

  it('refuses an empty, ragged or oversized image', () => {
    const mem = new PhysicalMemory({ ramSize: 1 << 20 });
    expect(() => loadRom(mem, 1 << 20, new Uint8Array(0))).toThrow(/empty/);
    expect(() => loadRom(mem, 1 << 20, new Uint8Array(5000))).toThrow(/multiple of 4 KiB/);
    expect(() => loadRom(mem, 1 << 20, new Uint8Array(32 << 20))).toThrow(/flash window/);
  });
});
