import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { DeviceError } from './errors.js';
import { IoBus } from './io-bus.js';
import { readTextScreen, textCursor, VgaRenderer, vgaGeometry } from './vga-render.js';
import { VGA_IO_BASE, VGA_IO_SIZE, VGA_WINDOW_BASE, VGA_WINDOW_SIZE, Vga } from './vga.js';

// Register sets of BIOS modes 03h and 13h (IBM VGA Technical Reference, video mode tables).
const MODE3 = {
  misc: 0x67,
  seq: [0x03, 0x00, 0x03, 0x00, 0x02],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff],
  attr: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00],
};
const MODE13 = {
  misc: 0x63,
  seq: [0x03, 0x01, 0x0f, 0x00, 0x0e],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff],
  attr: [...Array.from({ length: 16 }, (_, i) => i), 0x41, 0x00, 0x0f, 0x00, 0x00],
};

function setup() {
  const vga = new Vga();
  const bus = new IoBus();
  bus.register('vga', VGA_IO_BASE, VGA_IO_SIZE, vga);
  const mem = new PhysicalMemory({ ramSize: 1 << 20 });
  mem.mapMmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, vga.window, 'vga');
  return { vga, bus, mem };
}

function setMode(bus: IoBus, m: typeof MODE3): void {
  bus.write8(0x3c2, m.misc);
  m.seq.forEach((v, i) => bus.write16(0x3c4, i | (v << 8)));
  bus.write16(0x3d4, 0x11 | (0x0e << 8)); // clear CR11 protection first
  m.crtc.forEach((v, i) => bus.write16(0x3d4, i | (v << 8)));
  m.gc.forEach((v, i) => bus.write16(0x3ce, i | (v << 8)));
  bus.read8(0x3da);
  m.attr.forEach((v, i) => { bus.write8(0x3c0, i); bus.write8(0x3c0, v); });
  bus.write8(0x3c0, 0x20);
}

/** Load glyphs into plane 2 the way a VGA BIOS does (sequential addressing, plane 2 only). */
function loadGlyph(bus: IoBus, mem: PhysicalMemory, ch: number, rows: number[]): void {
  bus.write16(0x3c4, 0x02 | (0x04 << 8));
  bus.write16(0x3c4, 0x04 | (0x07 << 8));
  bus.write16(0x3ce, 0x04 | (0x02 << 8));
  bus.write16(0x3ce, 0x05 | (0x00 << 8));
  bus.write16(0x3ce, 0x06 | (0x04 << 8));
  rows.forEach((r, i) => mem.write8(VGA_WINDOW_BASE + ch * 32 + i, r));
  setMode(bus, MODE3);
}

describe('Vga', () => {
  it('runs text mode 3: odd/even text at 0xB8000, the text-screen reader, cursor and rendering', () => {
    const { vga, bus, mem } = setup();
    setMode(bus, MODE3);
    loadGlyph(bus, mem, 0x41, Array.from({ length: 16 }, (_, i) => (i === 3 ? 0xff : 0x81)));
    expect(vgaGeometry(vga)).toMatchObject({ kind: 'text', columns: 80, rows: 25, width: 720, height: 400 });
    const text = 'Hello, VGA';
    for (let i = 0; i < text.length; i++) {
      mem.write8(0xb8000 + 160 + 2 * i, text.charCodeAt(i));
      mem.write8(0xb8000 + 160 + 2 * i + 1, 0x1e);
    }
    mem.write16(0xb8000, 0x4f41); // 'A', white on red
    expect(mem.read8(0xb8000 + 160)).toBe(0x48);
    const screen = readTextScreen(vga);
    expect(screen.length).toBe(25);
    expect(screen[1].trimEnd()).toBe(text);
    expect(screen[0].startsWith('A')).toBe(true);
    // Cursor at row 1, column 3.
    bus.write16(0x3d4, 0x0e | (0x00 << 8));
    bus.write16(0x3d4, 0x0f | (83 << 8));
    expect(textCursor(vga)).toEqual({ row: 1, column: 3 });
    // DAC entries for palette 4 (red) and 0x3F (white).
    bus.write8(0x3c8, 4); bus.write8(0x3c9, 0x2a); bus.write8(0x3c9, 0); bus.write8(0x3c9, 0);
    bus.write8(0x3c8, 0x3f); for (let i = 0; i < 3; i++) bus.write8(0x3c9, 0x3f);
    const { width, height, rgba } = new VgaRenderer(vga).render();
    expect([width, height]).toEqual([720, 400]);
    const px = (x: number, y: number): number[] => Array.from(rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 4));
    expect(px(0, 3)).toEqual([255, 255, 255, 255]); // glyph row 3 is solid
    expect(px(1, 0)).toEqual([0xaa, 0, 0, 255]); // background red
    expect(px(0, 0)).toEqual([255, 255, 255, 255]);
    expect(px(8, 3)).toEqual([0xaa, 0, 0, 255]); // 9th column: background for a letter
  });

  it('renders the built-in font loaded without a BIOS', () => {
    const { vga, bus, mem } = setup();
    setMode(bus, MODE3);
    vga.loadFont();
    mem.write16(0xb8000, 0x0741); // 'A', grey on black
    bus.write8(0x3c8, 7); bus.write8(0x3c9, 0x2a); bus.write8(0x3c9, 0x2a); bus.write8(0x3c9, 0x2a);
    const { width, rgba } = new VgaRenderer(vga).render();
    // Row 2 of 'A' in a VGA font is 0x10: one lit pixel at x = 3.
    const lit = [0, 1, 2, 3, 4, 5, 6, 7].map((x) => rgba[(2 * width + x) * 4]);
    expect(lit).toEqual([0, 0, 0, 0xaa, 0, 0, 0, 0]);
    expect(() => vga.loadFont(new Uint8Array(10))).toThrow(DeviceError);
  });

  it('runs mode 13h: chain-4 bytes are pixels through the DAC', () => {
    const { vga, bus, mem } = setup();
    setMode(bus, MODE13);
    expect(vgaGeometry(vga)).toMatchObject({ kind: 'vga256', width: 320, height: 200 });
    bus.write8(0x3c8, 7); bus.write8(0x3c9, 0x3f); bus.write8(0x3c9, 0x20); bus.write8(0x3c9, 0x01);
    mem.write8(0xa0000 + 5 * 320 + 17, 7);
    expect(mem.read8(0xa0000 + 5 * 320 + 17)).toBe(7);
    bus.write8(0x3c7, 7);
    expect([bus.read8(0x3c9), bus.read8(0x3c9), bus.read8(0x3c9)]).toEqual([0x3f, 0x20, 0x01]);
    const { rgba } = new VgaRenderer(vga).render();
    const o = (5 * 320 + 17) * 4;
    expect(Array.from(rgba.subarray(o, o + 4))).toEqual([255, 0x82, 0x04, 255]);
    expect(rgba[o - 4]).toBe(0);
  });

  it('planar write modes 0-3 and read modes 0-1', () => {
    const { vga, bus, mem } = setup();
    setMode(bus, { ...MODE3, seq: [0x03, 0x01, 0x0f, 0x00, 0x06], gc: [0, 0, 0, 0, 0, 0x00, 0x05, 0x0f, 0xff] });
    const plane = (p: number, a: number): number => vga.vram[(a << 2) | p];
    // Mode 0 with set/reset on planes 0 and 2 (value 0b0101), bit mask 0xF0.
    bus.write16(0x3ce, 0x00 | (0x05 << 8));
    bus.write16(0x3ce, 0x01 | (0x05 << 8));
    bus.write16(0x3ce, 0x08 | (0xf0 << 8));
    mem.write8(0xa0010, 0x3c);
    expect([plane(0, 0x10), plane(1, 0x10), plane(2, 0x10), plane(3, 0x10)]).toEqual([0xf0, 0x30, 0xf0, 0x30]);
    // Mode 1 copies the latches: read 0x10, write to 0x20.
    bus.write16(0x3ce, 0x05 | (0x01 << 8));
    mem.read8(0xa0010);
    mem.write8(0xa0020, 0);
    expect([plane(0, 0x20), plane(1, 0x20), plane(2, 0x20), plane(3, 0x20)]).toEqual([0xf0, 0x30, 0xf0, 0x30]);
    // Mode 2: the written value's low bits are a color for every masked bit; XOR with the latches.
    bus.write16(0x3ce, 0x05 | (0x02 << 8));
    bus.write16(0x3ce, 0x08 | (0x0f << 8));
    bus.write16(0x3ce, 0x03 | (0x18 << 8));
    mem.read8(0xa0020);
    mem.write8(0xa0020, 0x03);
    expect([plane(0, 0x20), plane(1, 0x20), plane(2, 0x20), plane(3, 0x20)]).toEqual([0xff, 0x3f, 0xf0, 0x30]);
    // Mode 3: rotated data ANDed with the bit mask selects set/reset bits.
    bus.write16(0x3ce, 0x03 | (0x00 << 8));
    bus.write16(0x3ce, 0x05 | (0x03 << 8));
    bus.write16(0x3ce, 0x08 | (0xff << 8));
    bus.write16(0x3ce, 0x00 | (0x0f << 8));
    mem.read8(0xa0030);
    mem.write8(0xa0030, 0x81);
    expect([plane(0, 0x30), plane(3, 0x30)]).toEqual([0x81, 0x81]);
    // Read mode 0 with read map select 1, then read mode 1 comparing color 0b0101.
    bus.write16(0x3ce, 0x04 | (0x01 << 8));
    bus.write16(0x3ce, 0x05 | (0x00 << 8));
    expect(mem.read8(0xa0010)).toBe(0x30);
    bus.write16(0x3ce, 0x05 | (0x08 << 8));
    bus.write16(0x3ce, 0x02 | (0x05 << 8));
    bus.write16(0x3ce, 0x07 | (0x0f << 8));
    expect(mem.read8(0xa0010)).toBe(0xc0); // bits 7-6: planes 0,2 set and 1,3 clear
  });

  it('honours the map mask and the memory map select, keeps CR0-7 protected, and never throws', () => {
    const { vga, bus, mem } = setup();
    setMode(bus, MODE13);
    bus.write16(0x3c4, 0x02 | (0x01 << 8));
    mem.write8(0xa0001, 0x55); // plane 1 is masked off
    expect(mem.read8(0xa0001)).toBe(0);
    bus.write16(0x3d4, 0x11 | (0x80 << 8));
    bus.write16(0x3d4, 0x01 | (0x10 << 8));
    expect(vga.crtc[1]).toBe(0x4f);
    bus.write16(0x3ce, 0x06 | (0x0d << 8)); // 0xB8000 window only
    expect(mem.read8(0xa0000)).toBe(0xff);
    let seed = 7;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 20000; i++) {
      if (rand() & 1) bus.write8(0x3b0 + (rand() % 0x30), rand() & 0xff);
      else mem.write8(0xa0000 + (rand() & 0x1ffff), rand() & 0xff);
      if ((i & 255) === 0) new VgaRenderer(vga).render();
    }
  });

  it('saves and restores registers and memory; refuses out-of-range DAC values', () => {
    const { vga, bus } = setup();
    setMode(bus, MODE3);
    vga.vram[1234] = 99;
    const saved = vga.saveState();
    const other = setup();
    other.vga.loadState(saved);
    expect(other.vga.vram[1234]).toBe(99);
    expect(readTextScreen(other.vga).length).toBe(25);
    const dac = new Uint8Array(768);
    dac[5] = 0x40;
    expect(() => other.vga.loadState({ ...saved, dac, misc: 0 })).toThrow(DeviceError);
    expect(other.vga.misc).toBe(0x67);
  });
});
