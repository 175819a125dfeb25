import type { MmioHandler } from '@tsvm/mmu';
import { MMIO_SIZE_8 } from '@tsvm/mmu';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import { VGA_FONT_8X16 } from './generated/vga-font.js';
import type { IoHandler } from './io-bus.js';

// Register references: IBM VGA Technical Reference; FreeVGA "VGA/SVGA Video Programming" register pages.
/** The VGA claims 0x3B0-0x3DF; offsets below are relative to that base. */
export const VGA_IO_BASE = 0x3b0;
export const VGA_IO_SIZE = 0x30;
const P_CRTC_MONO_INDEX = 0x04;
const P_CRTC_MONO_DATA = 0x05;
const P_STATUS1_MONO = 0x0a;
const P_ATTR = 0x10;
const P_ATTR_READ = 0x11;
const P_MISC_WRITE = 0x12; // 0x3C2 write: misc output; read: input status 0
const P_SEQ_INDEX = 0x14;
const P_SEQ_DATA = 0x15;
const P_DAC_MASK = 0x16;
const P_DAC_READ_INDEX = 0x17;
const P_DAC_WRITE_INDEX = 0x18;
const P_DAC_DATA = 0x19;
const P_FEATURE_READ = 0x1a;
const P_MISC_READ = 0x1c;
const P_GC_INDEX = 0x1e;
const P_GC_DATA = 0x1f;
const P_CRTC_COLOR_INDEX = 0x24;
const P_CRTC_COLOR_DATA = 0x25;
const P_STATUS1_COLOR = 0x2a;

/** Miscellaneous output: bit 0 I/O address select (1 = CRTC at 0x3Dx), bit 1 RAM enable. */
export const MISC_COLOR_IO = 0x01;
export const MISC_RAM_ENABLE = 0x02;
/** Sequencer registers: reset, clocking mode, map mask, character map select, memory mode. */
export const SEQ_CLOCKING = 0x01;
export const SEQ_MAP_MASK = 0x02;
export const SEQ_CHARMAP = 0x03;
export const SEQ_MEMORY_MODE = 0x04;
/** SR01 bit 0: 8-dot characters; bit 5: screen off. SR04 bit 2: odd/even disable; bit 3: chain 4. */
export const SR01_8DOT = 0x01;
export const SR01_SCREEN_OFF = 0x20;
export const SR04_ODD_EVEN_DISABLE = 0x04;
export const SR04_CHAIN4 = 0x08;
/** Graphics controller registers. */
export const GC_SET_RESET = 0x00;
export const GC_ENABLE_SET_RESET = 0x01;
export const GC_COLOR_COMPARE = 0x02;
export const GC_DATA_ROTATE = 0x03;
export const GC_READ_MAP = 0x04;
export const GC_MODE = 0x05;
export const GC_MISC = 0x06;
export const GC_COLOR_DONT_CARE = 0x07;
export const GC_BIT_MASK = 0x08;
/** GR05: bits 1-0 write mode, bit 3 read mode, bit 4 odd/even, bit 5 shift register (CGA), bit 6 256-color. */
export const GR05_READ_MODE1 = 0x08;
export const GR05_ODD_EVEN = 0x10;
export const GR05_256 = 0x40;
/** GR06: bit 0 graphics mode, bit 1 chain odd/even, bits 3-2 memory map. */
export const GR06_GRAPHICS = 0x01;
/** Attribute controller: palette 0-15, mode control, overscan, color plane enable, pixel panning, color select. */
export const AR_MODE = 0x10;
export const AR_PLANE_ENABLE = 0x12;
export const AR_PANNING = 0x13;
export const AR_COLOR_SELECT = 0x14;
/** AR index bit 5: palette address source (1 = display enabled). */
export const AR_PAS = 0x20;
/** CRTC registers used by the renderer and the cursor. */
export const CR_HDISP_END = 0x01;
export const CR_OVERFLOW = 0x07;
export const CR_MAX_SCAN = 0x09;
export const CR_CURSOR_START = 0x0a;
export const CR_CURSOR_END = 0x0b;
export const CR_START_HIGH = 0x0c;
export const CR_START_LOW = 0x0d;
export const CR_CURSOR_HIGH = 0x0e;
export const CR_CURSOR_LOW = 0x0f;
export const CR_VDISP_END = 0x12;
export const CR_OFFSET = 0x13;
export const CR_UNDERLINE = 0x14;
export const CR_MODE = 0x17;
/** CR11 bit 7: registers 0-7 write protected (except CR07 bit 4). */
const CR11_PROTECT = 0x80;
/** Input status 1: bit 0 display disabled (retrace), bit 3 vertical retrace. */
const ST1_DISPLAY_DISABLED = 0x01;
const ST1_VRETRACE = 0x08;
/** 256 KiB of planar memory: 4 planes x 64 KiB. */
export const VGA_PLANE_SIZE = 0x10000;
/** The legacy window is 128 KiB at 0xA0000. */
export const VGA_WINDOW_BASE = 0xa0000;
export const VGA_WINDOW_SIZE = 0x20000;

/**
 * A standard VGA: misc output, sequencer, CRT controller, graphics controller, attribute
 * controller, DAC, and 256 KiB of planar memory. Memory is held interleaved (`vram[offset * 4 +
 * plane]`) so the same bytes serve as a linear framebuffer for VBE modes (`vramSize` beyond 256
 * KiB is VBE memory). `window` is the MmioHandler for 0xA0000-0xBFFFF: chain-4 and odd/even
 * addressing, write modes 0-3 with set/reset, rotate, logical function and bit mask, read modes 0-1
 * with the latches. `vbeWindow` lets a banked VBE mode take over the window.
 */
export class Vga implements Device, IoHandler {
  readonly name: string;
  readonly vram: Uint8Array;
  misc = 0;
  readonly seq = new Uint8Array(8);
  readonly gc = new Uint8Array(16);
  readonly crtc = new Uint8Array(32);
  readonly attr = new Uint8Array(32);
  /** DAC: 256 entries of 6-bit R, G, B. */
  readonly dac = new Uint8Array(768);
  dacMask = 0xff;
  /** DAC components are 8 bits wide (set by a VBE mode with the 8-bit DAC option), else 6. */
  dac8 = false;
  private seqIndex = 0;
  private gcIndex = 0;
  private crtcIndex = 0;
  private attrIndex = 0;
  private attrFlipFlop = false;
  private dacReadIndex = 0;
  private dacWriteIndex = 0;
  private dacComponent = 0;
  /** 0 after a write index (writing), 3 after a read index (reading), as the DAC state register reports. */
  private dacState = 0;
  private readonly latch = new Uint8Array(4);
  private retraceToggle = 0;
  /** Set by a VBE mode that maps banked memory into the window: (offset) → vram index, or -1. */
  vbeWindow: ((offset: number) => number) | undefined;

  readonly window: MmioHandler = {
    sizes: MMIO_SIZE_8,
    read8: (offset) => this.readMemory(offset),
    write8: (offset, value) => this.writeMemory(offset, value),
  };

  constructor(options: { name?: string; vramSize?: number } = {}) {
    this.name = options.name ?? 'vga';
    const size = options.vramSize ?? 4 * VGA_PLANE_SIZE;
    if (!Number.isInteger(size) || size < 4 * VGA_PLANE_SIZE || size > 256 << 20 || (size & 0xffff) !== 0) {
      throw new DeviceError('InvalidArgument', `${this.name}: video memory size ${size} must be 256 KiB-256 MiB in 64 KiB units`);
    }
    this.vram = new Uint8Array(size);
    this.reset();
  }

  reset(): void {
    this.misc = 0;
    this.seq.fill(0);
    this.gc.fill(0);
    this.crtc.fill(0);
    this.attr.fill(0);
    this.gc[GC_BIT_MASK] = 0xff;
    this.seq[SEQ_MAP_MASK] = 0x0f;
    this.dacMask = 0xff;
    this.dac8 = false;
    this.seqIndex = this.gcIndex = this.crtcIndex = this.attrIndex = 0;
    this.attrFlipFlop = false;
    this.dacReadIndex = this.dacWriteIndex = this.dacComponent = this.dacState = 0;
    this.latch.fill(0);
  }

  // ---- I/O ports ----

  private get colorIo(): boolean {
    return (this.misc & MISC_COLOR_IO) !== 0;
  }

  read8(offset: number): number {
    switch (offset) {
      case P_ATTR: return this.attrIndex;
      case P_ATTR_READ: return this.attr[this.attrIndex & 0x1f];
      case P_MISC_WRITE: return 0x10; // input status 0: switch sense high (a color monitor)
      case P_SEQ_INDEX: return this.seqIndex;
      case P_SEQ_DATA: return this.seq[this.seqIndex & 7];
      case P_DAC_MASK: return this.dacMask;
      case P_DAC_READ_INDEX: return this.dacState;
      case P_DAC_WRITE_INDEX: return this.dacWriteIndex;
      case P_DAC_DATA: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacComponent];
        if (++this.dacComponent === 3) { this.dacComponent = 0; this.dacReadIndex = (this.dacReadIndex + 1) & 0xff; }
        return v;
      }
      case P_FEATURE_READ: return 0;
      case P_MISC_READ: return this.misc;
      case P_GC_INDEX: return this.gcIndex;
      case P_GC_DATA: return this.gc[this.gcIndex & 0x0f];
      case P_CRTC_MONO_INDEX: case P_CRTC_COLOR_INDEX:
        return this.crtcPort(offset) ? this.crtcIndex : 0xff;
      case P_CRTC_MONO_DATA: case P_CRTC_COLOR_DATA:
        return this.crtcPort(offset) ? this.crtc[this.crtcIndex & 0x1f] : 0xff;
      case P_STATUS1_MONO: case P_STATUS1_COLOR: {
        if (!this.crtcPort(offset)) return 0xff;
        // Reading input status 1 resets the attribute flip-flop; retrace toggles so polling loops end.
        this.attrFlipFlop = false;
        this.retraceToggle ^= ST1_DISPLAY_DISABLED | ST1_VRETRACE;
        return this.retraceToggle;
      }
      default: return 0xff;
    }
  }

  /** Whether a CRTC/status port belongs to the current I/O address select (mono 0x3Bx or color 0x3Dx). */
  private crtcPort(offset: number): boolean {
    return offset >= 0x20 === this.colorIo;
  }

  write8(offset: number, value: number): void {
    switch (offset) {
      case P_ATTR:
        if (!this.attrFlipFlop) this.attrIndex = value & 0x3f;
        else if ((this.attrIndex & 0x1f) < 0x15) this.attr[this.attrIndex & 0x1f] = value;
        this.attrFlipFlop = !this.attrFlipFlop;
        return;
      case P_MISC_WRITE: this.misc = value; return;
      case P_SEQ_INDEX: this.seqIndex = value & 7; return;
      case P_SEQ_DATA: this.seq[this.seqIndex & 7] = value; return;
      case P_DAC_MASK: this.dacMask = value; return;
      case P_DAC_READ_INDEX: this.dacReadIndex = value; this.dacComponent = 0; this.dacState = 3; return;
      case P_DAC_WRITE_INDEX: this.dacWriteIndex = value; this.dacComponent = 0; this.dacState = 0; return;
      case P_DAC_DATA:
        this.dac[this.dacWriteIndex * 3 + this.dacComponent] = this.dac8 ? value : value & 0x3f;
        if (++this.dacComponent === 3) { this.dacComponent = 0; this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff; }
        return;
      case P_GC_INDEX: this.gcIndex = value & 0x0f; return;
      case P_GC_DATA: this.gc[this.gcIndex & 0x0f] = value; return;
      case P_CRTC_MONO_INDEX: case P_CRTC_COLOR_INDEX:
        if (this.crtcPort(offset)) this.crtcIndex = value & 0x1f;
        return;
      case P_CRTC_MONO_DATA: case P_CRTC_COLOR_DATA: {
        if (!this.crtcPort(offset)) return;
        const i = this.crtcIndex & 0x1f;
        if ((this.crtc[0x11] & CR11_PROTECT) !== 0 && i <= 7) {
          if (i === CR_OVERFLOW) this.crtc[i] = (this.crtc[i] & ~0x10) | (value & 0x10);
          return;
        }
        this.crtc[i] = value;
        return;
      }
      default:
    }
  }

  write16(offset: number, value: number): void {
    // An index/data pair written as one word (the common `out dx, ax`).
    this.write8(offset, value & 0xff);
    this.write8(offset + 1, value >>> 8);
  }

  // ---- the memory window ----

  /** The vram index for a window offset, or -1 outside the mapped part (GR06 bits 3-2). */
  private windowOffset(offset: number): number {
    switch ((this.gc[GC_MISC] >>> 2) & 3) {
      case 0: return offset;
      case 1: return offset < 0x10000 ? offset : -1;
      case 2: return offset >= 0x10000 && offset < 0x18000 ? offset - 0x10000 : -1;
      default: return offset >= 0x18000 ? offset - 0x18000 : -1;
    }
  }

  readMemory(offset: number): number {
    if (this.vbeWindow !== undefined) {
      const i = this.vbeWindow(offset);
      return i < 0 ? 0xff : this.vram[i];
    }
    const a = this.windowOffset(offset);
    if (a < 0) return 0xff;
    const mm = this.seq[SEQ_MEMORY_MODE];
    if ((mm & SR04_CHAIN4) !== 0) return this.vram[((a & ~3) << 2) | (a & 3)];
    let plane: number;
    let addr = a;
    if ((this.gc[GC_MODE] & GR05_ODD_EVEN) !== 0) {
      plane = (this.gc[GC_READ_MAP] & 2) | (a & 1);
      addr = a & ~1;
    } else {
      plane = this.gc[GC_READ_MAP] & 3;
    }
    addr &= 0xffff;
    const base = addr << 2;
    this.latch[0] = this.vram[base];
    this.latch[1] = this.vram[base + 1];
    this.latch[2] = this.vram[base + 2];
    this.latch[3] = this.vram[base + 3];
    if ((this.gc[GC_MODE] & GR05_READ_MODE1) === 0) return this.latch[plane];
    // Read mode 1: bits where every enabled plane matches the color compare value read 1.
    const compare = this.gc[GC_COLOR_COMPARE];
    const care = this.gc[GC_COLOR_DONT_CARE];
    let diff = 0;
    for (let p = 0; p < 4; p++) {
      if ((care & (1 << p)) === 0) continue;
      diff |= this.latch[p] ^ ((compare & (1 << p)) !== 0 ? 0xff : 0);
    }
    return ~diff & 0xff;
  }

  writeMemory(offset: number, value: number): void {
    if (this.vbeWindow !== undefined) {
      const i = this.vbeWindow(offset);
      if (i >= 0) this.vram[i] = value;
      return;
    }
    const a = this.windowOffset(offset);
    if (a < 0) return;
    const mm = this.seq[SEQ_MEMORY_MODE];
    const mapMask = this.seq[SEQ_MAP_MASK];
    if ((mm & SR04_CHAIN4) !== 0) {
      const plane = a & 3;
      if ((mapMask & (1 << plane)) !== 0) this.vram[((a & ~3) << 2) | plane] = value;
      return;
    }
    // CPU writes use odd/even addressing unless SR04 disables it (reads follow GR05 bit 4).
    if ((mm & SR04_ODD_EVEN_DISABLE) === 0) {
      const plane = (this.gc[GC_READ_MAP] & 2) | (a & 1);
      if ((mapMask & (1 << plane)) !== 0) this.vram[((a & ~1 & 0xffff) << 2) | plane] = value;
      return;
    }
    this.writePlanar(a & 0xffff, value, mapMask);
  }

  /** Write modes 0-3 through set/reset, rotate, logical function and bit mask (FreeVGA "Graphics Controller"). */
  private writePlanar(addr: number, value: number, mapMask: number): void {
    const mode = this.gc[GC_MODE] & 3;
    const rotate = this.gc[GC_DATA_ROTATE] & 7;
    const func = (this.gc[GC_DATA_ROTATE] >>> 3) & 3;
    const setReset = this.gc[GC_SET_RESET];
    const bitMask = this.gc[GC_BIT_MASK];
    const rotated = ((value >>> rotate) | (value << (8 - rotate))) & 0xff;
    const base = addr << 2;
    for (let p = 0; p < 4; p++) {
      if ((mapMask & (1 << p)) === 0) continue;
      const bit = 1 << p;
      let data: number;
      let mask = bitMask;
      switch (mode) {
        case 0:
          data = (this.gc[GC_ENABLE_SET_RESET] & bit) !== 0 ? ((setReset & bit) !== 0 ? 0xff : 0) : rotated;
          break;
        case 1:
          this.vram[base + p] = this.latch[p];
          continue;
        case 2:
          data = (value & bit) !== 0 ? 0xff : 0;
          break;
        default:
          mask = rotated & bitMask;
          data = (setReset & bit) !== 0 ? 0xff : 0;
      }
      const l = this.latch[p];
      switch (func) {
        case 1: data &= l; break;
        case 2: data |= l; break;
        case 3: data ^= l; break;
        default:
      }
      this.vram[base + p] = (data & mask) | (l & ~mask & 0xff);
    }
  }

  /**
   * Put an 8x16 font into plane 2 as character map `map` (32-byte cells), as a VGA BIOS does when
   * it sets a text mode; for machines that run without one. Defaults to the built-in CP437 font.
   */
  loadFont(font: Uint8Array = VGA_FONT_8X16, map = 0): void {
    if (font.length !== 256 * 16 || !Number.isInteger(map) || map < 0 || map > 7) {
      throw new DeviceError('InvalidArgument', `${this.name}: a font is 4096 bytes (256 x 16) and a character map 0-7`);
    }
    const base = [0x0000, 0x4000, 0x8000, 0xc000, 0x2000, 0x6000, 0xa000, 0xe000][map];
    for (let c = 0; c < 256; c++) {
      for (let row = 0; row < 32; row++) this.vram[((base + c * 32 + row) << 2) | 2] = row < 16 ? font[c * 16 + row] : 0;
    }
  }

  // ---- what the renderer and the cursor need ----

  /** CRTC start address (CR0C/CR0D). */
  get startAddress(): number {
    return (this.crtc[CR_START_HIGH] << 8) | this.crtc[CR_START_LOW];
  }

  /** Text cursor address (CR0E/CR0F) and whether it is shown (CR0A bit 5 clear). */
  get cursorAddress(): number {
    return (this.crtc[CR_CURSOR_HIGH] << 8) | this.crtc[CR_CURSOR_LOW];
  }

  get cursorVisible(): boolean {
    return (this.crtc[CR_CURSOR_START] & 0x20) === 0 && (this.crtc[CR_CURSOR_START] & 0x1f) <= (this.crtc[CR_CURSOR_END] & 0x1f);
  }

  /** The DAC entry `i` as 8-bit RGB packed 0x00RRGGBB. */
  dacColor(i: number, eightBit = this.dac8): number {
    const r = this.dac[i * 3];
    const g = this.dac[i * 3 + 1];
    const b = this.dac[i * 3 + 2];
    if (eightBit) return (r << 16) | (g << 8) | b;
    const x = (v: number): number => (v << 2) | (v >>> 4);
    return (x(r) << 16) | (x(g) << 8) | x(b);
  }

  saveState(): DeviceState {
    return {
      version: 1,
      misc: this.misc,
      seq: this.seq.slice(),
      gc: this.gc.slice(),
      crtc: this.crtc.slice(),
      attr: this.attr.slice(),
      dac: this.dac.slice(),
      dacMask: this.dacMask,
      dac8: this.dac8,
      indexes: new Uint8Array([this.seqIndex, this.gcIndex, this.crtcIndex, this.attrIndex, this.attrFlipFlop ? 1 : 0,
        this.dacReadIndex, this.dacWriteIndex, this.dacComponent, this.dacState]),
      latch: this.latch.slice(),
      vram: this.vram.slice(),
    };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const misc = r.int('misc', 0, 0xff);
    const seq = r.bytes('seq', 8);
    const gc = r.bytes('gc', 16);
    const crtc = r.bytes('crtc', 32);
    const attr = r.bytes('attr', 32);
    const dac = r.bytes('dac', 768);
    const dacMask = r.int('dacMask', 0, 0xff);
    const dac8 = r.bool('dac8');
    const idx = r.bytes('indexes', 9);
    const latch = r.bytes('latch', 4);
    const vram = r.bytes('vram', this.vram.length);
    if (!dac8 && dac.some((v) => v > 0x3f)) r.fail('dac', 'holds a component above 63');
    if (idx[0] > 7 || idx[1] > 15 || idx[2] > 31 || idx[3] > 0x3f || idx[4] > 1 || idx[7] > 2 || (idx[8] !== 0 && idx[8] !== 3)) {
      r.fail('indexes', 'holds an index outside its register file');
    }
    this.misc = misc;
    this.seq.set(seq); this.gc.set(gc); this.crtc.set(crtc); this.attr.set(attr); this.dac.set(dac);
    this.dacMask = dacMask;
    this.dac8 = dac8;
    [this.seqIndex, this.gcIndex, this.crtcIndex, this.attrIndex] = idx;
    this.attrFlipFlop = idx[4] === 1;
    [, , , , , this.dacReadIndex, this.dacWriteIndex, this.dacComponent, this.dacState] = idx;
    this.latch.set(latch);
    this.vram.set(vram);
  }
}
