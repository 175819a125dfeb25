import { DeviceError, StateReader, type Device, type DeviceState } from '@tsvm/devices';
import { MMIO_SIZE_8, type MmioHandler, type PhysicalMemory } from '@tsvm/mmu';

// Intel 440FX PMC datasheet (82441FX), "PAM - Programmable Attribute Map Registers (59h-5Fh)".
/** The shadowable area below 1 MiB: option ROMs at 0xC0000-0xDFFFF, the BIOS at 0xE0000-0xFFFFF. */
export const SHADOW_BASE = 0xc_0000;
export const SHADOW_END = 0x10_0000;
const SEGMENT = 0x4000;
/** PAM0 bits 5:4 cover the 64 KiB at 0xF0000; PAM1-PAM6 each cover two 16 KiB segments (low nibble first). */
const BIOS_SEGMENT_BASE = 0xf_0000;
const BIOS_SEGMENT_SIZE = 0x1_0000;
const PAM_RE = 0x1;
const PAM_WE = 0x2;
/** Thirteen areas: 0xF0000 (64 KiB) then 0xC0000, 0xC4000, ... 0xEC000 (16 KiB each). */
const AREAS = 13;
/** The four RE/WE combinations: reads the flash and drops writes, read-only RAM, write-only RAM, RAM. */
const MODE_ROM = 0;
const MODE_READ_RAM = PAM_RE;
const MODE_WRITE_RAM = PAM_WE;
const MODE_RAM = PAM_RE | PAM_WE;

function areaBase(area: number): number {
  return area === 0 ? BIOS_SEGMENT_BASE : SHADOW_BASE + (area - 1) * SEGMENT;
}

function areaSize(area: number): number {
  return area === 0 ? BIOS_SEGMENT_SIZE : SEGMENT;
}

/** The RE/WE bits PAM0-PAM6 give an area. */
function areaMode(pam: Uint8Array, area: number): number {
  if (area === 0) return (pam[0] >>> 4) & MODE_RAM;
  const reg = pam[1 + ((area - 1) >>> 1)];
  return ((area - 1) & 1) === 0 ? reg & MODE_RAM : (reg >>> 4) & MODE_RAM;
}

/**
 * Shadow RAM at 0xC0000-0xFFFFF as the i440FX decodes it. Each area reads from the firmware (the last
 * 128 KiB of the flash show at 0xE0000-0xFFFFF) or from RAM, and writes go to RAM or nowhere, as its PAM
 * read-enable and write-enable bits say. Areas with no flash behind them (0xC0000-0xDFFFF, and more
 * below a small image) stay RAM. At power-on every area reads the
 * flash and drops writes; SeaBIOS then makes them RAM, copies itself from the flash at the top of
 * 4 GiB, and write-protects them before it boots. RAM under the areas keeps its bytes across changes.
 */
export class ShadowRam implements Device {
  readonly name = 'shadow-ram';
  private readonly memory: PhysicalMemory;
  /** The flash bytes that show at 0xC0000-0xFFFFF when an area reads the ROM. */
  private readonly flash: Uint8Array;
  /** Where the flash alias starts: areas below it have no flash behind them and read RAM even with RE clear. */
  private readonly flashStart: number;
  private readonly modes = new Int8Array(AREAS).fill(-1);
  private readonly pam = new Uint8Array(7);

  constructor(memory: PhysicalMemory, image: Uint8Array) {
    if (memory.ramSize < SHADOW_END) {
      throw new DeviceError('InvalidArgument', `shadow RAM needs RAM up to 1 MiB, the machine has ${memory.ramSize} bytes`);
    }
    this.memory = memory;
    const window = SHADOW_END - SHADOW_BASE;
    this.flash = new Uint8Array(window).fill(0xff);
    const shown = Math.min(image.length, 128 << 10);
    this.flash.set(image.subarray(image.length - shown), window - shown);
    this.flashStart = SHADOW_END - shown;
    this.apply(this.pam);
  }

  /** Maps every area as `pam` (PAM0-PAM6) says; areas whose mode did not change stay as they are. */
  apply(pam: Uint8Array): void {
    this.pam.set(pam.subarray(0, 7));
    for (let area = 0; area < AREAS; area++) {
      const base = areaBase(area);
      const size = areaSize(area);
      // No flash behind an area (a small image): it is plain RAM whatever the PAM bits say.
      const mode = base + size <= this.flashStart ? MODE_RAM : areaMode(this.pam, area);
      const old = this.modes[area];
      if (old === mode) continue;
      if (old !== -1 && old !== MODE_RAM) this.memory.unmap(base);
      this.modes[area] = mode;
      const name = `shadow-${base.toString(16)}`;
      if (mode === MODE_ROM) this.memory.mapRom(base, this.flashAt(base, size), name);
      else if (mode === MODE_READ_RAM) this.memory.mapRom(base, this.memory.ram.slice(base, base + size), name);
      else if (mode === MODE_WRITE_RAM) this.memory.mapMmio(base, size, this.writeThrough(base, size), name);
    }
  }

  /** The RE/WE bits of the area holding `address` (for tests and the debugger). */
  modeAt(address: number): { read: 'rom' | 'ram'; write: 'ram' | 'none' } {
    if (address < SHADOW_BASE || address >= SHADOW_END) throw new DeviceError('InvalidArgument', `0x${address.toString(16)} is outside the shadow area`);
    const area = address >= BIOS_SEGMENT_BASE ? 0 : 1 + Math.floor((address - SHADOW_BASE) / SEGMENT);
    const mode = areaMode(this.pam, area);
    return { read: (mode & PAM_RE) !== 0 ? 'ram' : 'rom', write: (mode & PAM_WE) !== 0 ? 'ram' : 'none' };
  }

  private flashAt(base: number, size: number): Uint8Array {
    return this.flash.subarray(base - SHADOW_BASE, base - SHADOW_BASE + size);
  }

  /** Reads the flash, writes RAM: how the firmware copies itself into RAM before it may read it there. */
  private writeThrough(base: number, size: number): MmioHandler {
    const flash = this.flashAt(base, size);
    const ram = this.memory.ram;
    return {
      sizes: MMIO_SIZE_8,
      read8: (offset) => flash[offset],
      write8: (offset, value) => {
        ram[base + offset] = value;
      },
    };
  }

  /** Power-on: PAM registers are 0, every area reads the flash. */
  reset(): void {
    this.apply(new Uint8Array(7));
  }

  saveState(): DeviceState {
    return { version: 1, pam: this.pam.slice() };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const pam = r.bytes('pam', 7);
    this.apply(pam);
  }
}
