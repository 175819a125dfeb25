import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { ShadowRam } from './shadow-ram.js';

/** A 256 KiB image whose every byte is its offset's page number, so the ISA alias is visible. */
function image(): Uint8Array {
  const out = new Uint8Array(256 << 10);
  for (let i = 0; i < out.length; i++) out[i] = (i >>> 12) & 0xff;
  return out;
}

function pam(pam0: number, others: number): Uint8Array {
  return Uint8Array.of(pam0, others, others, others, others, others, others);
}

describe('ShadowRam', () => {
  it('at power-on reads the last 128 KiB of the flash at 0xE0000-0xFFFFF and drops writes', () => {
    const memory = new PhysicalMemory({ ramSize: 2 << 20 });
    new ShadowRam(memory, image());
    expect(memory.read8(0xfffff)).toBe(0x3f);
    expect(memory.read8(0xe0000)).toBe(0x20);
    // No flash shows below 0xE0000: the option ROM areas are RAM until firmware maps them.
    memory.write8(0xc0000, 0x44);
    expect(memory.read8(0xc0000)).toBe(0x44);
    memory.write8(0xf0000, 0x99);
    expect(memory.read8(0xf0000)).toBe(0x30);
  });

  it('follows the PAM bits: write-only copies the flash into RAM, read/write is RAM, read-only keeps RAM and drops writes', () => {
    const memory = new PhysicalMemory({ ramSize: 2 << 20 });
    const shadow = new ShadowRam(memory, image());
    shadow.apply(pam(0x20, 0x22)); // WE only: reads the flash, writes RAM
    memory.write8(0xf1234, memory.read8(0xf1234) + 1);
    expect(memory.read8(0xf1234)).toBe(0x31); // still the flash
    expect(memory.ram[0xf1234]).toBe(0x32);
    shadow.apply(pam(0x30, 0x33)); // RAM
    expect(memory.read8(0xf1234)).toBe(0x32);
    memory.write8(0xe4000, 0x55);
    expect(memory.read8(0xe4000)).toBe(0x55);
    shadow.apply(pam(0x10, 0x11)); // read-only RAM
    memory.write8(0xe4000, 0x66);
    expect(memory.read8(0xe4000)).toBe(0x55);
    expect(shadow.modeAt(0xe4000)).toEqual({ read: 'ram', write: 'none' });
    shadow.reset();
    expect(memory.read8(0xf1234)).toBe(0x31);
    expect(memory.read8(0xe4000)).toBe(0x24);
  });

  it('saves the PAM bits and maps them again on restore', () => {
    const memory = new PhysicalMemory({ ramSize: 2 << 20 });
    const shadow = new ShadowRam(memory, image());
    shadow.apply(pam(0x30, 0x00));
    const saved = shadow.saveState();
    shadow.reset();
    shadow.loadState(saved);
    expect(shadow.modeAt(0xf8000)).toEqual({ read: 'ram', write: 'ram' });
    expect(() => shadow.loadState({ version: 1, pam: new Uint8Array(3) })).toThrow(/pam/);
  });

  it('leaves areas below a small image as RAM', () => {
    const memory = new PhysicalMemory({ ramSize: 2 << 20 });
    new ShadowRam(memory, new Uint8Array(0x10000).fill(0xaa));
    memory.write8(0xe0000, 0x12);
    expect(memory.read8(0xe0000)).toBe(0x12);
    expect(memory.read8(0xf0000)).toBe(0xaa);
  });
});
