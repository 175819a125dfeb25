import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { VmmError } from '../errors.js';
import { loadLinux } from './linux.js';
import { loadMultiboot, MULTIBOOT_HEADER_MAGIC } from './multiboot.js';

const RAM = 4 << 20;

/** A deterministic xorshift generator, so a failure reproduces. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** A plausible starting point for each loader, so mutations reach the deep checks. */
function seedImage(kind: 'linux' | 'multiboot-aout' | 'multiboot-elf'): Uint8Array {
  const image = new Uint8Array(0x1400);
  const v = new DataView(image.buffer);
  if (kind === 'linux') {
    image[0x1f1] = 1;
    v.setUint16(0x1fe, 0xaa55, true);
    image.set([0xeb, 0x6a, 0x48, 0x64, 0x72, 0x53, 0x0f, 0x02], 0x200);
    image[0x211] = 1;
    v.setUint32(0x214, 0x100000, true);
    v.setUint32(0x22c, 0x37ffffff, true);
    v.setUint32(0x238, 255, true);
    return image;
  }
  const at = kind === 'multiboot-aout' ? 0 : 0x100;
  const flags = kind === 'multiboot-aout' ? 0x10003 : 0x3;
  v.setUint32(at, MULTIBOOT_HEADER_MAGIC, true);
  v.setUint32(at + 4, flags, true);
  v.setUint32(at + 8, -(MULTIBOOT_HEADER_MAGIC + flags) >>> 0, true);
  if (kind === 'multiboot-aout') {
    [0x100000, 0x100000, 0, 0x102000, 0x100020].forEach((x, i) => v.setUint32(12 + i * 4, x, true));
  } else {
    image.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
    v.setUint16(16, 2, true);
    v.setUint16(18, 3, true);
    v.setUint32(24, 0x100000, true);
    v.setUint32(28, 52, true);
    v.setUint16(42, 32, true);
    v.setUint16(44, 1, true);
    [1, 0x200, 0x100000, 0x100000, 0x800, 0x1000].forEach((x, i) => v.setUint32(52 + [0, 4, 8, 12, 16, 20][i], x, true));
  }
  return image;
}

describe('boot loaders on hostile images', () => {
  for (const kind of ['linux', 'multiboot-aout', 'multiboot-elf'] as const) {
    it(`${kind}: random mutations load or fail with a VmmError, never anything else`, () => {
      const next = random(kind.length * 7919);
      const mem = new PhysicalMemory({ ramSize: RAM });
      const base = seedImage(kind);
      let loaded = 0;
      for (let round = 0; round < 200; round++) {
        const image = base.slice(0, 0x200 + Math.floor(next() * (base.length - 0x200)) + 1);
        const flips = 1 + Math.floor(next() * 6);
        for (let f = 0; f < flips; f++) {
          // Bias mutations toward the headers, where the fields are.
          const at = next() < 0.8 ? Math.floor(next() * Math.min(image.length, 0x280)) : Math.floor(next() * image.length);
          image[at] = Math.floor(next() * 256);
        }
        try {
          if (kind === 'linux') loadLinux(mem, RAM, { kernel: image, initrd: new Uint8Array(1 + Math.floor(next() * 8192)), cmdline: 'x' });
          else loadMultiboot(mem, RAM, { kernel: image, modules: [{ data: new Uint8Array(100) }] });
          loaded++;
        } catch (err) {
          if (!(err instanceof VmmError)) throw err;
          expect(['InvalidImage', 'OutOfMemory', 'InvalidArgument']).toContain(err.code);
        }
      }
      expect(loaded).toBeGreaterThan(0);
    });
  }
});
