import type { MmioHandler } from '@tsvm/mmu';
import { MMIO_SIZE_8, MMIO_SIZE_16, MMIO_SIZE_32 } from '@tsvm/mmu';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';
import { PciFunction } from './pci-function.js';
import type { Vga } from './vga.js';

// The Bochs "DISPI" VBE interface (Bochs vbe.h, as QEMU's std VGA and its VGA BIOS use it).
/** Index port 0x1CE and data port 0x1CF (0x1D0 is a data alias); the handler claims 3 ports. */
export const VBE_IO_BASE = 0x1ce;
export const VBE_IO_SIZE = 3;
export const VBE_INDEX_ID = 0x0;
export const VBE_INDEX_XRES = 0x1;
export const VBE_INDEX_YRES = 0x2;
export const VBE_INDEX_BPP = 0x3;
export const VBE_INDEX_ENABLE = 0x4;
export const VBE_INDEX_BANK = 0x5;
export const VBE_INDEX_VIRT_WIDTH = 0x6;
export const VBE_INDEX_VIRT_HEIGHT = 0x7;
export const VBE_INDEX_X_OFFSET = 0x8;
export const VBE_INDEX_Y_OFFSET = 0x9;
export const VBE_INDEX_VIDEO_MEMORY_64K = 0xa;
const VBE_INDEX_COUNT = 0xb;
/** Interface versions: ID0 (B0C0h) to ID5 (B0C5h). */
export const VBE_ID0 = 0xb0c0;
export const VBE_ID5 = 0xb0c5;
/** ENABLE bits: enabled, get capabilities, 8-bit DAC, linear framebuffer, do not clear memory. */
export const VBE_ENABLED = 0x01;
export const VBE_GETCAPS = 0x02;
export const VBE_8BIT_DAC = 0x20;
export const VBE_LFB_ENABLED = 0x40;
export const VBE_NOCLEARMEM = 0x80;
/** The largest mode offered (GETCAPS). */
export const VBE_MAX_XRES = 2560;
export const VBE_MAX_YRES = 1600;
export const VBE_MAX_BPP = 32;
const BANK_SIZE = 0x10000;
const SUPPORTED_BPP = [4, 8, 15, 16, 24, 32];
/** The std VGA PCI function: vendor 1234h device 1111h, class 030000h (VGA compatible). */
export const STDVGA_VENDOR_ID = 0x1234;
export const STDVGA_DEVICE_ID = 0x1111;

/**
 * Bochs VBE extensions on a `Vga`: the DISPI registers select a linear mode (resolution, depth,
 * virtual size, panning offsets); the frame lives in the VGA's video memory, reachable through 64
 * KiB banks in the 0xA0000 window and as a linear framebuffer (`lfb`, mapped at the PCI BAR of
 * `StdVgaPci`). An enable with an impossible mode is refused and leaves VBE off.
 */
export class BochsVbe implements Device, IoHandler {
  readonly name: string;
  private index = 0;
  readonly regs = new Uint16Array(VBE_INDEX_COUNT);

  readonly lfb: MmioHandler;

  constructor(private readonly vga: Vga, options: { name?: string } = {}) {
    this.name = options.name ?? 'vbe';
    const vram = vga.vram;
    const view = new DataView(vram.buffer, vram.byteOffset, vram.byteLength);
    const size = vram.length;
    this.lfb = {
      sizes: MMIO_SIZE_8 | MMIO_SIZE_16 | MMIO_SIZE_32,
      read8: (o) => (o < size ? vram[o] : 0xff),
      read16: (o) => (o + 1 < size ? view.getUint16(o, true) : 0xffff),
      read32: (o) => (o + 3 < size ? view.getUint32(o, true) : 0xffff_ffff),
      write8: (o, v) => { if (o < size) vram[o] = v; },
      write16: (o, v) => { if (o + 1 < size) view.setUint16(o, v, true); },
      write32: (o, v) => { if (o + 3 < size) view.setUint32(o, v >>> 0, true); },
    };
    this.reset();
  }

  get enabled(): boolean {
    return (this.regs[VBE_INDEX_ENABLE] & VBE_ENABLED) !== 0;
  }

  reset(): void {
    this.index = 0;
    this.regs.fill(0);
    this.regs[VBE_INDEX_ID] = VBE_ID5;
    this.regs[VBE_INDEX_VIDEO_MEMORY_64K] = this.vga.vram.length / BANK_SIZE;
    this.vga.vbeWindow = undefined;
    this.vga.dac8 = false;
  }

  read16(offset: number): number {
    if (offset === 0) return this.index;
    const i = this.index;
    if (i >= VBE_INDEX_COUNT) return 0;
    if ((this.regs[VBE_INDEX_ENABLE] & VBE_GETCAPS) !== 0) {
      if (i === VBE_INDEX_XRES) return VBE_MAX_XRES;
      if (i === VBE_INDEX_YRES) return VBE_MAX_YRES;
      if (i === VBE_INDEX_BPP) return VBE_MAX_BPP;
    }
    return this.regs[i];
  }

  read8(offset: number): number {
    return offset === 0 ? this.index & 0xff : this.read16(1) & 0xff;
  }

  write8(offset: number, value: number): void {
    this.write16(offset, value);
  }

  write16(offset: number, value: number): void {
    if (offset === 0) { this.index = value; return; }
    const i = this.index;
    switch (i) {
      case VBE_INDEX_ID:
        if (value >= VBE_ID0 && value <= VBE_ID5) this.regs[i] = value;
        return;
      case VBE_INDEX_XRES: case VBE_INDEX_YRES: case VBE_INDEX_BPP:
        // The mode registers change only while VBE is off (as the DISPI interface requires).
        if (!this.enabled) this.regs[i] = value;
        return;
      case VBE_INDEX_BANK:
        if (value < this.vga.vram.length / BANK_SIZE) this.regs[i] = value;
        return;
      case VBE_INDEX_ENABLE: this.setEnable(value); return;
      case VBE_INDEX_VIRT_WIDTH: this.setVirtualWidth(value); return;
      case VBE_INDEX_X_OFFSET: case VBE_INDEX_Y_OFFSET:
        this.regs[i] = value;
        return;
      default:
    }
  }

  private bytesPerPixel(bpp = this.regs[VBE_INDEX_BPP]): number {
    return bpp === 15 ? 2 : Math.max(1, bpp >>> 3);
  }

  private setEnable(value: number): void {
    const x = this.regs[VBE_INDEX_XRES];
    const y = this.regs[VBE_INDEX_YRES];
    const bpp = this.regs[VBE_INDEX_BPP];
    if ((value & VBE_ENABLED) !== 0 && !this.enabled) {
      const lineBytes = bpp === 4 ? x >>> 1 : x * this.bytesPerPixel(bpp);
      const ok = SUPPORTED_BPP.includes(bpp) && x >= 8 && y >= 1 && x <= VBE_MAX_XRES && y <= VBE_MAX_YRES && (x & 7) === 0 &&
        lineBytes * y <= this.vga.vram.length;
      if (!ok) { this.regs[VBE_INDEX_ENABLE] = value & (VBE_GETCAPS | VBE_8BIT_DAC); return; }
      this.regs[VBE_INDEX_VIRT_WIDTH] = x;
      this.regs[VBE_INDEX_VIRT_HEIGHT] = Math.min(0xffff, Math.floor(this.vga.vram.length / lineBytes));
      this.regs[VBE_INDEX_X_OFFSET] = 0;
      this.regs[VBE_INDEX_Y_OFFSET] = 0;
      this.regs[VBE_INDEX_BANK] = 0;
      if ((value & VBE_NOCLEARMEM) === 0) this.vga.vram.fill(0, 0, lineBytes * y);
    }
    this.regs[VBE_INDEX_ENABLE] = value & (VBE_ENABLED | VBE_GETCAPS | VBE_8BIT_DAC | VBE_LFB_ENABLED | VBE_NOCLEARMEM);
    this.vga.vbeWindow = this.enabled ? (o) => this.bankOffset(o) : undefined;
    this.vga.dac8 = (this.regs[VBE_INDEX_ENABLE] & VBE_8BIT_DAC) !== 0;
  }

  private bankOffset(offset: number): number {
    if (offset >= BANK_SIZE) return -1;
    const i = this.regs[VBE_INDEX_BANK] * BANK_SIZE + offset;
    return i < this.vga.vram.length ? i : -1;
  }

  private setVirtualWidth(value: number): void {
    const bpp = this.bytesPerPixel();
    if (value < this.regs[VBE_INDEX_XRES] || value * bpp > 0xffff * 4) return;
    const lineBytes = this.regs[VBE_INDEX_BPP] === 4 ? value >>> 1 : value * bpp;
    if (lineBytes === 0) return;
    this.regs[VBE_INDEX_VIRT_WIDTH] = value;
    this.regs[VBE_INDEX_VIRT_HEIGHT] = Math.min(0xffff, Math.floor(this.vga.vram.length / lineBytes));
  }

  /** The displayed mode, when VBE is on. */
  get mode(): { width: number; height: number; bpp: number } | undefined {
    if (!this.enabled) return undefined;
    return { width: this.regs[VBE_INDEX_XRES], height: this.regs[VBE_INDEX_YRES], bpp: this.regs[VBE_INDEX_BPP] };
  }

  /** Render the VBE frame into `rgba` (`width * height * 4` bytes). */
  renderInto(rgba: Uint8Array): void {
    const mode = this.mode;
    if (mode === undefined) return;
    const vram = this.vga.vram;
    const bpp = mode.bpp;
    const bytes = this.bytesPerPixel();
    const pitch = bpp === 4 ? this.regs[VBE_INDEX_VIRT_WIDTH] >>> 1 : this.regs[VBE_INDEX_VIRT_WIDTH] * bytes;
    const start = this.regs[VBE_INDEX_Y_OFFSET] * pitch + (bpp === 4 ? this.regs[VBE_INDEX_X_OFFSET] >>> 1 : this.regs[VBE_INDEX_X_OFFSET] * bytes);
    for (let y = 0; y < mode.height; y++) {
      let s = start + y * pitch;
      let d = y * mode.width * 4;
      for (let x = 0; x < mode.width; x++, d += 4) {
        let r = 0, g = 0, b = 0;
        if (s + bytes <= vram.length) {
          if (bpp === 8 || bpp === 4) {
            const index = bpp === 8 ? vram[s] : (vram[s] >>> ((x & 1) === 0 ? 4 : 0)) & 0x0f;
            const rgb = this.vga.dacColor(index);
            r = rgb >>> 16; g = (rgb >>> 8) & 0xff; b = rgb & 0xff;
          } else if (bpp === 15 || bpp === 16) {
            const v = vram[s] | (vram[s + 1] << 8);
            const gBits = bpp === 16 ? 6 : 5;
            r = expand(v >>> (5 + gBits), 5);
            g = expand((v >>> 5) & ((1 << gBits) - 1), gBits);
            b = expand(v & 0x1f, 5);
          } else {
            b = vram[s]; g = vram[s + 1]; r = vram[s + 2];
          }
        }
        rgba[d] = r; rgba[d + 1] = g; rgba[d + 2] = b; rgba[d + 3] = 0xff;
        if (bpp !== 4 || (x & 1) === 1) s += bpp === 4 ? 1 : bytes;
      }
    }
  }

  saveState(): DeviceState {
    return { version: 1, index: this.index, regs: Array.from(this.regs) };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const index = r.int('index', 0, 0xffff);
    const regs = r.ints('regs', VBE_INDEX_COUNT, 0, 0xffff);
    if (regs[VBE_INDEX_ID] < VBE_ID0 || regs[VBE_INDEX_ID] > VBE_ID5) r.fail('regs', `ID ${regs[VBE_INDEX_ID]} is not B0C0h-B0C5h`);
    if (regs[VBE_INDEX_VIDEO_MEMORY_64K] !== this.vga.vram.length / BANK_SIZE) r.fail('regs', 'video memory size differs from this adapter');
    if (regs[VBE_INDEX_BANK] >= this.vga.vram.length / BANK_SIZE) r.fail('regs', 'bank is past video memory');
    const enabled = (regs[VBE_INDEX_ENABLE] & VBE_ENABLED) !== 0;
    if (enabled) {
      const bpp = regs[VBE_INDEX_BPP];
      const bytes = bpp === 15 ? 2 : Math.max(1, bpp >>> 3);
      if (!SUPPORTED_BPP.includes(bpp) || regs[VBE_INDEX_XRES] > VBE_MAX_XRES || regs[VBE_INDEX_YRES] > VBE_MAX_YRES ||
        regs[VBE_INDEX_VIRT_WIDTH] < regs[VBE_INDEX_XRES] || regs[VBE_INDEX_XRES] * regs[VBE_INDEX_YRES] * bytes > this.vga.vram.length) {
        r.fail('regs', 'describe an enabled mode this adapter cannot show');
      }
    }
    this.index = index;
    this.regs.set(regs);
    this.vga.vbeWindow = enabled ? (o) => this.bankOffset(o) : undefined;
  }
}

function expand(v: number, bits: number): number {
  return ((v << (8 - bits)) | (v >>> (2 * bits - 8))) & 0xff;
}

/** QEMU's std VGA as a PCI function (1234:1111, class 030000h) with the framebuffer in BAR0. */
export class StdVgaPci extends PciFunction {
  constructor(vga: Vga, name = 'stdvga') {
    let size = 1;
    while (size < vga.vram.length) size *= 2;
    super({
      name,
      vendorId: STDVGA_VENDOR_ID,
      deviceId: STDVGA_DEVICE_ID,
      classCode: 0x030000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      bars: [{ kind: 'memory', size, prefetchable: true }],
    });
  }
}
