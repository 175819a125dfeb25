import type { DmaMemory } from './bus-master-dma.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';

// Intel 8237A DMA controller datasheet (register summary), and the PC's two-controller wiring:
// channels 0-3 (8-bit) at 0x00-0x0F, channels 4-7 (16-bit) at 0xC0-0xDF (every other port), and the
// page registers at 0x80-0x8F.
/** Register offsets of one controller: address/count pairs, then status/command, request, mask, mode, flip-flop, master clear, clear mask, all mask. */
const REG_STATUS_COMMAND = 0x8;
const REG_REQUEST = 0x9;
const REG_SINGLE_MASK = 0xa;
const REG_MODE = 0xb;
const REG_CLEAR_FLIP_FLOP = 0xc;
const REG_MASTER_CLEAR = 0xd;
const REG_CLEAR_MASK = 0xe;
const REG_ALL_MASK = 0xf;
/** Mode register: bits 3-2 transfer type (01 write to memory, 10 read from memory), bit 4 auto-init, bit 5 decrement. */
export const DMA_MODE_WRITE = 0x04;
export const DMA_MODE_READ = 0x08;
export const DMA_MODE_AUTOINIT = 0x10;
export const DMA_MODE_DECREMENT = 0x20;
/** Page register port offsets (from 0x80) for channels 0-7; channel 4 is the cascade and has none. */
const PAGE_PORT = [0x7, 0x3, 0x1, 0x2, -1, 0xb, 0x9, 0xa];

/**
 * The PC's pair of 8237A DMA controllers with page registers. Devices call `transfer(channel,
 * buffer, direction)` to move data for a channel the guest programmed (unmasked, with its mode's
 * direction); terminal count sets the status bit and, with auto-init, reloads the registers.
 */
export class Dma8237 implements Device {
  readonly name: string;
  private readonly baseAddress = new Uint16Array(8);
  private readonly baseCount = new Uint16Array(8);
  private readonly address = new Uint16Array(8);
  private readonly count = new Uint16Array(8);
  private readonly mode = new Uint8Array(8);
  private readonly page = new Uint8Array(16);
  private mask = 0xff;
  private status = new Uint8Array(2);
  private flipFlop = new Uint8Array(2);
  private readonly byte = new Uint8Array(1);
  private readonly word = new Uint8Array(2);

  /** Channels 0-3 at 0x00 (16 ports). */
  readonly slave: IoHandler = { read8: (o) => this.readReg(0, o), write8: (o, v) => this.writeReg(0, o, v) };
  /** Channels 4-7 at 0xC0 (32 ports; registers on even ports). */
  readonly master: IoHandler = {
    read8: (o) => ((o & 1) === 0 ? this.readReg(1, o >>> 1) : 0xff),
    write8: (o, v) => { if ((o & 1) === 0) this.writeReg(1, o >>> 1, v); },
  };
  /** Page registers at 0x80 (16 ports). */
  readonly pages: IoHandler = { read8: (o) => this.page[o & 0xf], write8: (o, v) => { this.page[o & 0xf] = v; } };

  constructor(private readonly memory: DmaMemory, options: { name?: string } = {}) {
    this.name = options.name ?? 'dma';
  }

  reset(): void {
    this.baseAddress.fill(0); this.baseCount.fill(0); this.address.fill(0); this.count.fill(0);
    this.mode.fill(0); this.page.fill(0);
    this.mask = 0xff;
    this.status.fill(0);
    this.flipFlop.fill(0);
  }

  private readReg(chip: number, reg: number): number {
    if (reg < 8) {
      const ch = chip * 4 + (reg >>> 1);
      const value = (reg & 1) === 0 ? this.address[ch] : this.count[ch];
      const high = this.flipFlop[chip];
      this.flipFlop[chip] ^= 1;
      return high !== 0 ? value >>> 8 : value & 0xff;
    }
    if (reg === REG_STATUS_COMMAND) {
      const s = this.status[chip];
      this.status[chip] &= 0xf0; // reading clears the terminal-count bits
      return s;
    }
    return 0xff;
  }

  private writeReg(chip: number, reg: number, value: number): void {
    if (reg < 8) {
      const ch = chip * 4 + (reg >>> 1);
      const high = this.flipFlop[chip];
      this.flipFlop[chip] ^= 1;
      const target = (reg & 1) === 0 ? this.baseAddress : this.baseCount;
      target[ch] = high !== 0 ? (target[ch] & 0x00ff) | (value << 8) : (target[ch] & 0xff00) | value;
      if ((reg & 1) === 0) this.address[ch] = this.baseAddress[ch];
      else this.count[ch] = this.baseCount[ch];
      return;
    }
    const shift = chip * 4;
    switch (reg) {
      case REG_SINGLE_MASK: {
        const bit = 1 << (shift + (value & 3));
        this.mask = (value & 4) !== 0 ? this.mask | bit : this.mask & ~bit;
        return;
      }
      case REG_MODE: this.mode[shift + (value & 3)] = value; return;
      case REG_CLEAR_FLIP_FLOP: this.flipFlop[chip] = 0; return;
      case REG_MASTER_CLEAR:
        this.flipFlop[chip] = 0;
        this.status[chip] = 0;
        this.mask |= 0xf << shift;
        return;
      case REG_CLEAR_MASK: this.mask &= ~(0xf << shift); return;
      case REG_ALL_MASK: this.mask = (this.mask & ~(0xf << shift)) | ((value & 0xf) << shift); return;
      case REG_STATUS_COMMAND: case REG_REQUEST: default:
    }
  }

  /** Whether `channel` is unmasked and programmed for `toMemory` (a device write) or from memory. */
  ready(channel: number, toMemory: boolean): boolean {
    const type = this.mode[channel] & 0x0c;
    return (this.mask & (1 << channel)) === 0 && type === (toMemory ? DMA_MODE_WRITE : DMA_MODE_READ);
  }

  /**
   * Move `buffer` to memory (`toMemory`) or fill it from memory through `channel`; returns the
   * bytes moved (fewer when terminal count is reached, 0 when the channel is masked or set the
   * other way).
   */
  transfer(channel: number, buffer: Uint8Array, toMemory: boolean): number {
    if (!this.ready(channel, toMemory)) return 0;
    const wide = channel >= 4;
    const unit = wide ? 2 : 1;
    const cell = wide ? this.word : this.byte;
    const step = (this.mode[channel] & DMA_MODE_DECREMENT) !== 0 ? -1 : 1;
    const page = this.page[PAGE_PORT[channel]] ?? 0;
    let done = 0;
    while (done + unit <= buffer.length) {
      const physical = wide ? ((page & 0xfe) << 16) | (this.address[channel] << 1) : (page << 16) | this.address[channel];
      if (toMemory) { cell.set(buffer.subarray(done, done + unit)); this.memory.writeBytes(physical, cell); }
      else { this.memory.readBytes(physical, cell); buffer.set(cell, done); }
      done += unit;
      this.address[channel] = (this.address[channel] + step) & 0xffff;
      const expired = this.count[channel] === 0;
      this.count[channel] = (this.count[channel] - 1) & 0xffff;
      if (expired) {
        this.status[channel >>> 2] |= 1 << (channel & 3);
        if ((this.mode[channel] & DMA_MODE_AUTOINIT) !== 0) {
          this.address[channel] = this.baseAddress[channel];
          this.count[channel] = this.baseCount[channel];
        } else {
          this.mask |= 1 << channel;
        }
        break;
      }
    }
    return done;
  }

  saveState(): DeviceState {
    return {
      version: 1,
      baseAddress: Array.from(this.baseAddress), baseCount: Array.from(this.baseCount),
      address: Array.from(this.address), count: Array.from(this.count),
      mode: this.mode.slice(), page: this.page.slice(), mask: this.mask,
      status: this.status.slice(), flipFlop: this.flipFlop.slice(),
    };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const baseAddress = r.ints('baseAddress', 8, 0, 0xffff);
    const baseCount = r.ints('baseCount', 8, 0, 0xffff);
    const address = r.ints('address', 8, 0, 0xffff);
    const count = r.ints('count', 8, 0, 0xffff);
    const mode = r.bytes('mode', 8);
    const page = r.bytes('page', 16);
    const mask = r.int('mask', 0, 0xff);
    const status = r.bytes('status', 2);
    const flipFlop = r.bytes('flipFlop', 2);
    if (flipFlop.some((f) => f > 1)) r.fail('flipFlop', 'must hold 0 or 1');
    this.baseAddress.set(baseAddress); this.baseCount.set(baseCount);
    this.address.set(address); this.count.set(count);
    this.mode.set(mode); this.page.set(page);
    this.mask = mask;
    this.status.set(status);
    this.flipFlop.set(flipFlop);
  }
}
