import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import {
  BochsVbe,
  StdVgaPci,
  VBE_8BIT_DAC,
  VBE_ENABLED,
  VBE_GETCAPS,
  VBE_INDEX_BANK,
  VBE_INDEX_BPP,
  VBE_INDEX_ENABLE,
  VBE_INDEX_ID,
  VBE_INDEX_VIDEO_MEMORY_64K,
  VBE_INDEX_VIRT_HEIGHT,
  VBE_INDEX_XRES,
  VBE_INDEX_Y_OFFSET,
  VBE_INDEX_YRES,
  VBE_IO_BASE,
  VBE_IO_SIZE,
  VBE_LFB_ENABLED,
} from './bochs-vbe.js';
import { DeviceError } from './errors.js';
import { IoBus } from './io-bus.js';
import { PCI_BAR0 } from './pci-function.js';
import { VgaRenderer } from './vga-render.js';
import { VGA_WINDOW_BASE, VGA_WINDOW_SIZE, Vga } from './vga.js';

const LFB = 0xe000_0000;

function setup() {
  const vga = new Vga({ vramSize: 16 << 20 });
  const vbe = new BochsVbe(vga);
  const bus = new IoBus();
  bus.register('vbe', VBE_IO_BASE, VBE_IO_SIZE, vbe);
  const mem = new PhysicalMemory({ ramSize: 1 << 20 });
  mem.mapMmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, vga.window, 'vga');
  mem.mapMmio(LFB, 16 << 20, vbe.lfb, 'lfb');
  const reg = (i: number, v?: number): number => {
    bus.write16(0x1ce, i);
    if (v !== undefined) bus.write16(0x1cf, v);
    return bus.read16(0x1cf);
  };
  return { vga, vbe, bus, mem, reg };
}

describe('BochsVbe', () => {
  it('identifies itself, reports capabilities and the memory size', () => {
    const { reg } = setup();
    expect(reg(VBE_INDEX_ID)).toBe(0xb0c5);
    reg(VBE_INDEX_ID, 0xb0c2);
    expect(reg(VBE_INDEX_ID)).toBe(0xb0c2);
    reg(VBE_INDEX_ID, 0x1234);
    expect(reg(VBE_INDEX_ID)).toBe(0xb0c2);
    expect(reg(VBE_INDEX_VIDEO_MEMORY_64K)).toBe(256);
    reg(VBE_INDEX_ENABLE, VBE_GETCAPS);
    expect([reg(VBE_INDEX_XRES), reg(VBE_INDEX_YRES), reg(VBE_INDEX_BPP)]).toEqual([2560, 1600, 32]);
  });

  it('sets a 32-bpp linear mode: the LFB and the banked window reach the same memory, the renderer shows it', () => {
    const { vga, vbe, mem, reg } = setup();
    reg(VBE_INDEX_ENABLE, 0);
    reg(VBE_INDEX_XRES, 640); reg(VBE_INDEX_YRES, 480); reg(VBE_INDEX_BPP, 32);
    reg(VBE_INDEX_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
    expect(vbe.mode).toEqual({ width: 640, height: 480, bpp: 32 });
    expect(reg(VBE_INDEX_VIRT_HEIGHT)).toBe(Math.floor((16 << 20) / 2560));
    reg(VBE_INDEX_XRES, 800); // ignored while enabled
    expect(reg(VBE_INDEX_XRES)).toBe(640);
    mem.write32(LFB + (10 * 640 + 3) * 4, 0x00ff8040);
    expect(vga.vram[(10 * 640 + 3) * 4 + 2]).toBe(0xff);
    // Pixel 70000 (byte 280000) through bank 4 of the 0xA0000 window.
    reg(VBE_INDEX_BANK, 4);
    mem.write32(VGA_WINDOW_BASE + 280000 - 4 * 0x10000, 0x00112233);
    expect(mem.read32(LFB + 280000)).toBe(0x00112233);
    const { width, height, rgba } = new VgaRenderer(vga, vbe).render();
    expect([width, height]).toEqual([640, 480]);
    const o = (10 * 640 + 3) * 4;
    expect(Array.from(rgba.subarray(o, o + 4))).toEqual([0xff, 0x80, 0x40, 0xff]);
    // Panning by Y offset moves the frame.
    reg(VBE_INDEX_Y_OFFSET, 10);
    expect(Array.from(new VgaRenderer(vga, vbe).render().rgba.subarray(12, 16))).toEqual([0xff, 0x80, 0x40, 0xff]);
  });

  it('renders 16-bpp and 8-bpp modes and refuses impossible modes', () => {
    const { vga, vbe, mem, reg } = setup();
    reg(VBE_INDEX_XRES, 320); reg(VBE_INDEX_YRES, 200); reg(VBE_INDEX_BPP, 16);
    reg(VBE_INDEX_ENABLE, VBE_ENABLED);
    mem.write16(LFB, 0xf800);
    expect(Array.from(new VgaRenderer(vga, vbe).render().rgba.subarray(0, 4))).toEqual([255, 0, 0, 255]);
    reg(VBE_INDEX_ENABLE, 0);
    reg(VBE_INDEX_BPP, 8);
    reg(VBE_INDEX_ENABLE, VBE_ENABLED);
    vga.dac.set([0x3f, 0, 0x3f], 9 * 3);
    mem.write8(LFB + 1, 9);
    expect(Array.from(new VgaRenderer(vga, vbe).render().rgba.subarray(4, 8))).toEqual([255, 0, 255, 255]);
    // With the 8-bit DAC option, port 0x3C9 takes full 8-bit components.
    reg(VBE_INDEX_ENABLE, 0);
    reg(VBE_INDEX_ENABLE, VBE_ENABLED | VBE_8BIT_DAC);
    expect(vga.dac8).toBe(true);
    mem.write8(LFB + 1, 9);
    vga.write8(0x18, 9); vga.write8(0x19, 0x80); vga.write8(0x19, 0x40); vga.write8(0x19, 0xff);
    expect(Array.from(new VgaRenderer(vga, vbe).render().rgba.subarray(4, 8))).toEqual([0x80, 0x40, 0xff, 255]);
    reg(VBE_INDEX_ENABLE, 0);
    expect(vga.dac8).toBe(false);
    reg(VBE_INDEX_XRES, 4000); reg(VBE_INDEX_BPP, 7);
    reg(VBE_INDEX_ENABLE, VBE_ENABLED);
    expect(vbe.enabled).toBe(false);
    expect(vga.vbeWindow).toBeUndefined();
  });

  it('is the std VGA PCI function with a 16 MiB prefetchable BAR0', () => {
    const { vga } = setup();
    const pci = new StdVgaPci(vga);
    expect(pci.readConfig(0, 4)).toBe(0x1111_1234);
    pci.writeConfig(PCI_BAR0, 4, 0xffff_ffff);
    expect(pci.readConfig(PCI_BAR0, 4)).toBe(0xff00_0008);
  });

  it('saves and restores the DISPI registers and refuses hostile ones', () => {
    const { vbe, reg } = setup();
    reg(VBE_INDEX_XRES, 1024); reg(VBE_INDEX_YRES, 768); reg(VBE_INDEX_BPP, 32);
    reg(VBE_INDEX_ENABLE, VBE_ENABLED);
    const saved = vbe.saveState();
    const other = setup();
    other.vbe.loadState(saved);
    expect(other.vbe.mode).toEqual({ width: 1024, height: 768, bpp: 32 });
    const regs = [...(saved.regs as number[])];
    regs[VBE_INDEX_BPP] = 13;
    const fresh = setup();
    expect(() => fresh.vbe.loadState({ ...saved, regs })).toThrow(DeviceError);
    expect(fresh.vbe.enabled).toBe(false);
  });
});
