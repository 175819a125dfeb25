import {
  AR_COLOR_SELECT,
  AR_MODE,
  AR_PLANE_ENABLE,
  CR_CURSOR_END,
  CR_CURSOR_START,
  CR_HDISP_END,
  CR_MAX_SCAN,
  CR_MODE,
  CR_OFFSET,
  CR_OVERFLOW,
  CR_UNDERLINE,
  CR_VDISP_END,
  GC_MISC,
  GC_MODE,
  GR05_256,
  GR06_GRAPHICS,
  SEQ_CHARMAP,
  SEQ_CLOCKING,
  SR01_8DOT,
  type Vga,
} from './vga.js';

/** AR10 bits: line graphics enable (9th column), blink enable, P5-P4 select, 8-bit color. */
const AR10_LINE_GRAPHICS = 0x04;
const AR10_BLINK = 0x08;
const AR10_P54 = 0x80;
/** CR14 bit 6: doubleword addressing; CR17 bit 6: byte (1) or word (0) addressing. */
const CR14_DWORD = 0x40;
const CR17_BYTE = 0x40;
/** CR09 bit 7: scan doubling. */
const CR09_DOUBLE = 0x80;
/** Where each character map select value puts its 8 KiB font table in plane 2 (SR03). */
const CHARMAP_OFFSET = [0x0000, 0x4000, 0x8000, 0xc000, 0x2000, 0x6000, 0xa000, 0xe000];
const GLYPH_STRIDE = 32;

/** Code page 437 as Unicode, for the text-screen reader (0x00 and 0x20 read as a space). */
const CP437 =
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼' +
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

/** The character for a CP437 code. */
export function cp437(code: number): string {
  return CP437[code & 0xff];
}

/** What the CRTC describes: the mode kind and its size. */
export interface VgaGeometry {
  kind: 'text' | 'planar16' | 'vga256';
  width: number;
  height: number;
  /** Text modes: columns, rows and the character cell. */
  columns: number;
  rows: number;
  charWidth: number;
  charHeight: number;
}

export function vgaGeometry(vga: Vga): VgaGeometry {
  const c = vga.crtc;
  const vde = c[CR_VDISP_END] | ((c[CR_OVERFLOW] & 0x02) << 7) | ((c[CR_OVERFLOW] & 0x40) << 3);
  const lines = vde + 1;
  const columns = c[CR_HDISP_END] + 1;
  const charHeight = (c[CR_MAX_SCAN] & 0x1f) + 1;
  if ((vga.gc[GC_MISC] & GR06_GRAPHICS) === 0) {
    const charWidth = (vga.seq[SEQ_CLOCKING] & SR01_8DOT) !== 0 ? 8 : 9;
    const rows = Math.max(1, Math.floor(lines / charHeight));
    return { kind: 'text', width: columns * charWidth, height: rows * charHeight, columns, rows, charWidth, charHeight };
  }
  const repeat = charHeight * ((c[CR_MAX_SCAN] & CR09_DOUBLE) !== 0 ? 2 : 1);
  const height = Math.max(1, Math.floor(lines / repeat));
  if ((vga.gc[GC_MODE] & GR05_256) !== 0) return { kind: 'vga256', width: columns * 4, height, columns, rows: height, charWidth: 4, charHeight: 1 };
  return { kind: 'planar16', width: columns * 8, height, columns, rows: height, charWidth: 8, charHeight: 1 };
}

/** The vram offset (plane address) of CRTC address counter value `counter` (byte, word or doubleword mode). */
function memoryAddress(vga: Vga, counter: number): number {
  if ((vga.crtc[CR_UNDERLINE] & CR14_DWORD) !== 0) return (counter << 2) & 0xffff;
  if ((vga.crtc[CR_MODE] & CR17_BYTE) !== 0) return counter & 0xffff;
  return (counter << 1) & 0xffff;
}

/** Rows of the text screen as strings (trailing spaces kept), or an empty list in graphics modes. */
export function readTextScreen(vga: Vga): string[] {
  const g = vgaGeometry(vga);
  if (g.kind !== 'text') return [];
  const out: string[] = [];
  const pitch = vga.crtc[CR_OFFSET] * 2;
  for (let row = 0; row < g.rows; row++) {
    let line = '';
    for (let col = 0; col < g.columns; col++) {
      const a = memoryAddress(vga, vga.startAddress + row * pitch + col);
      line += CP437[vga.vram[a << 2]];
    }
    out.push(line);
  }
  return out;
}

/** The text cursor as (row, column), or undefined when hidden or off screen. */
export function textCursor(vga: Vga): { row: number; column: number } | undefined {
  const g = vgaGeometry(vga);
  if (g.kind !== 'text' || !vga.cursorVisible) return undefined;
  const pitch = vga.crtc[CR_OFFSET] * 2;
  if (pitch === 0) return undefined;
  const rel = vga.cursorAddress - vga.startAddress;
  if (rel < 0) return undefined;
  const row = Math.floor(rel / pitch);
  const column = rel - row * pitch;
  return row < g.rows && column < g.columns ? { row, column } : undefined;
}

/**
 * Turns the VGA's current mode into an RGBA frame (`width * height * 4` bytes): text modes with the
 * font the firmware loaded into plane 2 (9-dot cells with line-graphics replication, blink as
 * background intensity off, the cursor), 16-color planar graphics and 256-color chain-4 graphics,
 * all through the attribute palette and the DAC; with a Bochs VBE mode on, its linear frame. The
 * frame buffer is reused while the size stays.
 */
export class VgaRenderer {
  private frame = new Uint8Array(0);
  private readonly colors = new Uint32Array(256);

  constructor(
    private readonly vga: Vga,
    private readonly vbe?: { readonly mode: { width: number; height: number } | undefined; renderInto(rgba: Uint8Array): void },
  ) {}

  render(): { width: number; height: number; rgba: Uint8Array } {
    const vga = this.vga;
    const vbeMode = this.vbe?.mode;
    if (this.vbe !== undefined && vbeMode !== undefined) {
      const bytes = vbeMode.width * vbeMode.height * 4;
      if (this.frame.length !== bytes) this.frame = new Uint8Array(bytes);
      this.vbe.renderInto(this.frame);
      return { width: vbeMode.width, height: vbeMode.height, rgba: this.frame };
    }
    const g = vgaGeometry(vga);
    const size = g.width * g.height * 4;
    if (this.frame.length !== size) this.frame = new Uint8Array(size);
    for (let i = 0; i < 256; i++) this.colors[i] = vga.dacColor(i & vga.dacMask);
    if (g.kind === 'text') this.text(g);
    else this.graphics(g);
    return { width: g.width, height: g.height, rgba: this.frame };
  }

  /** The DAC index of attribute palette entry `i` (AR00-0F with AR14 color select). */
  private paletteIndex(i: number): number {
    const a = this.vga.attr;
    const entry = a[i & 0x0f] & 0x3f;
    const select = a[AR_COLOR_SELECT];
    if ((a[AR_MODE] & AR10_P54) !== 0) return (entry & 0x0f) | ((select & 0x0f) << 4);
    return entry | ((select & 0x0c) << 4);
  }

  private put(x: number, y: number, width: number, dacIndex: number): void {
    const rgb = this.colors[dacIndex & 0xff];
    const o = (y * width + x) * 4;
    this.frame[o] = rgb >>> 16;
    this.frame[o + 1] = (rgb >>> 8) & 0xff;
    this.frame[o + 2] = rgb & 0xff;
    this.frame[o + 3] = 0xff;
  }

  private text(g: VgaGeometry): void {
    const vga = this.vga;
    const vram = vga.vram;
    const pitch = vga.crtc[CR_OFFSET] * 2;
    const sr3 = vga.seq[SEQ_CHARMAP];
    const mapA = CHARMAP_OFFSET[((sr3 >>> 2) & 3) | ((sr3 >>> 3) & 4)];
    const mapB = CHARMAP_OFFSET[(sr3 & 3) | ((sr3 >>> 2) & 4)];
    const mode = vga.attr[AR_MODE];
    const cursor = textCursor(vga);
    const cursorStart = vga.crtc[CR_CURSOR_START] & 0x1f;
    const cursorEnd = vga.crtc[CR_CURSOR_END] & 0x1f;
    for (let row = 0; row < g.rows; row++) {
      for (let col = 0; col < g.columns; col++) {
        const a = memoryAddress(vga, vga.startAddress + row * pitch + col) << 2;
        const ch = vram[a];
        const at = vram[a + 1];
        const fg = this.paletteIndex(at & 0x0f);
        const bg = this.paletteIndex((mode & AR10_BLINK) !== 0 ? (at >>> 4) & 7 : at >>> 4);
        const font = ((at & 0x08) !== 0 ? mapB : mapA) + ch * GLYPH_STRIDE;
        const isCursor = cursor !== undefined && cursor.row === row && cursor.column === col;
        const lineGraphics = (mode & AR10_LINE_GRAPHICS) !== 0 && ch >= 0xc0 && ch <= 0xdf;
        for (let line = 0; line < g.charHeight; line++) {
          let bits = vram[((font + line) << 2) + 2];
          if (isCursor && line >= cursorStart && line <= cursorEnd) bits = 0xff;
          const y = row * g.charHeight + line;
          for (let x = 0; x < g.charWidth; x++) {
            const on = x < 8 ? (bits >>> (7 - x)) & 1 : lineGraphics ? bits & 1 : 0;
            this.put(col * g.charWidth + x, y, g.width, on !== 0 ? fg : bg);
          }
        }
      }
    }
  }

  private graphics(g: VgaGeometry): void {
    const vga = this.vga;
    const vram = vga.vram;
    const pitch = vga.crtc[CR_OFFSET] * 2;
    const planes = vga.attr[AR_PLANE_ENABLE] & 0x0f;
    for (let y = 0; y < g.height; y++) {
      const counter = vga.startAddress + y * pitch;
      for (let x = 0; x < g.width; x++) {
        if (g.kind === 'vga256') {
          const a = memoryAddress(vga, counter + (x >>> 2)) << 2;
          this.put(x, y, g.width, vram[a + (x & 3)]);
        } else {
          const a = memoryAddress(vga, counter + (x >>> 3)) << 2;
          const bit = 7 - (x & 7);
          let color = 0;
          for (let p = 0; p < 4; p++) color |= ((vram[a + p] >>> bit) & 1) << p;
          this.put(x, y, g.width, this.paletteIndex(color & planes));
        }
      }
    }
  }
}
