import type { BlockDevice } from '@tsvm/storage';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import type { Dma8237 } from './dma8237.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';

// Intel 82077AA datasheet: register offsets from 0x3F0 (DOR 2, MSR/DSR 4, FIFO 5; DIR/CCR at 0x3F7,
// served by `dirPort` because 0x3F6 belongs to the IDE controller).
export const FDC_IO_BASE = 0x3f0;
export const FDC_IO_SIZE = 6;
export const FDC_DIR_PORT = 0x3f7;
const REG_DOR = 2;
const REG_MSR = 4;
const REG_FIFO = 5;
/** DOR: drive select (1-0), not reset (2), DMA and IRQ enable (3), motor enables (7-4). */
export const DOR_NRESET = 0x04;
export const DOR_DMA_IRQ = 0x08;
/** MSR: request for master, data direction (to CPU), non-DMA, command busy. */
export const MSR_RQM = 0x80;
export const MSR_DIO = 0x40;
export const MSR_CB = 0x10;
/** DSR bit 7: software reset. DIR bit 7: disk changed. */
const DSR_RESET = 0x80;
const DIR_DISK_CHANGE = 0x80;
/** ST0 interrupt codes and flags; ST1/ST3 bits. */
const ST0_ABNORMAL = 0x40;
const ST0_INVALID = 0x80;
const ST0_READY_CHANGE = 0xc0;
const ST0_SEEK_END = 0x20;
const ST1_NO_DATA = 0x04;
const ST1_NOT_WRITABLE = 0x02;
const ST3_WRITE_PROTECT = 0x40;
const ST3_READY = 0x20;
const ST3_TRACK0 = 0x10;
/** Commands (low 5 bits) and their lengths in bytes. */
const CMD_SPECIFY = 0x03;
const CMD_SENSE_DRIVE = 0x04;
const CMD_WRITE = 0x05;
const CMD_READ = 0x06;
const CMD_RECALIBRATE = 0x07;
const CMD_SENSE_INTERRUPT = 0x08;
const CMD_READ_ID = 0x0a;
const CMD_DUMPREG = 0x0e;
const CMD_SEEK = 0x0f;
const CMD_VERSION = 0x10;
const CMD_PERPENDICULAR = 0x12;
const CMD_CONFIGURE = 0x13;
const CMD_LOCK = 0x14;
const COMMAND_LENGTH: Record<number, number> = {
  [CMD_SPECIFY]: 3, [CMD_SENSE_DRIVE]: 2, [CMD_WRITE]: 9, [CMD_READ]: 9, [CMD_RECALIBRATE]: 2,
  [CMD_SENSE_INTERRUPT]: 1, [CMD_READ_ID]: 2, [CMD_DUMPREG]: 1, [CMD_SEEK]: 3, [CMD_VERSION]: 1,
  [CMD_PERPENDICULAR]: 2, [CMD_CONFIGURE]: 4, [CMD_LOCK]: 1,
};
/** VERSION result: an enhanced controller (82077AA). */
const VERSION_82077 = 0x90;
const SECTOR = 512;
export const FLOPPY_DMA_CHANNEL = 2;

/** Geometries by image size: 360K, 720K, 1.2M, 1.44M, 2.88M. */
const FORMATS: readonly { size: number; cylinders: number; heads: number; sectors: number }[] = [
  { size: 368_640, cylinders: 40, heads: 2, sectors: 9 },
  { size: 737_280, cylinders: 80, heads: 2, sectors: 9 },
  { size: 1_228_800, cylinders: 80, heads: 2, sectors: 15 },
  { size: 1_474_560, cylinders: 80, heads: 2, sectors: 18 },
  { size: 2_949_120, cylinders: 80, heads: 2, sectors: 36 },
];

/**
 * An 82077AA floppy controller (the subset PC firmware and Linux use) with up to two drives of
 * standard images: DOR, MSR/DSR, FIFO with command, result and reset phases; SPECIFY, SENSE DRIVE
 * STATUS, RECALIBRATE, SEEK, SENSE INTERRUPT, READ DATA / WRITE DATA (multi-track, DMA through an
 * 8237 channel 2, terminal count ending the transfer), READ ID, VERSION, CONFIGURE, LOCK,
 * PERPENDICULAR, DUMPREG. Sector data moves asynchronously; the interrupt comes when it has.
 */
export class FloppyController implements Device {
  readonly name: string;
  private readonly drives: (BlockDevice | undefined)[] = [undefined, undefined];
  private readonly geometry: ({ cylinders: number; heads: number; sectors: number } | undefined)[] = [undefined, undefined];
  private readonly cylinder = new Uint8Array(4);
  private dor = 0;
  private readonly command = new Uint8Array(16);
  private commandLength = 0;
  private commandPos = 0;
  private readonly result = new Uint8Array(16);
  private resultLength = 0;
  private resultPos = 0;
  private busy = false;
  private irqPending = false;
  /** Drives that still owe a SENSE INTERRUPT after a reset (bit per drive). */
  private resetSense = 0;
  private seekSense = -1;
  private locked = false;
  private readonly config = new Uint8Array(4);
  private readonly buffer = new Uint8Array(36 * 2 * SECTOR);
  private generation = 0;
  private readonly changed = [true, true];

  readonly ports: IoHandler = { read8: (o) => this.read(o), write8: (o, v) => this.write(o, v) };
  readonly dirPort: IoHandler = {
    read8: () => (this.changed[this.dor & 1] ? DIR_DISK_CHANGE : 0),
    write8: () => {}, // CCR: data rate, accepted and ignored (transfers take no time)
  };

  constructor(private readonly irq: IrqLine, private readonly dma: Dma8237, options: { name?: string; drives?: (BlockDevice | undefined)[] } = {}) {
    this.name = options.name ?? 'fdc';
    (options.drives ?? []).forEach((d, i) => { if (d !== undefined) this.insert(i, d); });
    this.reset();
  }

  /** Put an image in drive 0 or 1; its size picks the geometry. */
  insert(drive: number, image: BlockDevice): void {
    const format = FORMATS.find((f) => f.size === image.size);
    if (format === undefined) throw new DeviceError('InvalidArgument', `${this.name}: ${image.size} bytes is not a standard floppy image size`);
    if (drive !== 0 && drive !== 1) throw new DeviceError('InvalidArgument', `${this.name}: drive ${drive} must be 0 or 1`);
    this.drives[drive] = image;
    this.geometry[drive] = format;
    this.changed[drive] = true;
  }

  reset(): void {
    this.generation++;
    this.dor = 0;
    this.commandLength = this.commandPos = this.resultLength = this.resultPos = 0;
    this.busy = false;
    this.resetSense = 0;
    this.seekSense = -1;
    this.setIrq(false);
  }

  private setIrq(level: boolean): void {
    this.irqPending = level;
    this.irq.set(level && (this.dor & DOR_DMA_IRQ) !== 0);
  }

  /** Controller reset (DOR bit 2 low, or DSR bit 7): idle, then an interrupt with four ready-changed senses. */
  private controllerReset(): void {
    this.generation++;
    this.commandLength = this.commandPos = this.resultLength = this.resultPos = 0;
    this.busy = false;
    this.resetSense = 0x0f;
    this.seekSense = -1;
    this.setIrq(true);
  }

  private read(offset: number): number {
    switch (offset) {
      case REG_DOR: return this.dor;
      case REG_MSR: {
        if ((this.dor & DOR_NRESET) === 0 || this.busy) return this.busy ? MSR_CB : 0;
        if (this.resultPos < this.resultLength) return MSR_RQM | MSR_DIO | MSR_CB;
        return MSR_RQM | (this.commandPos > 0 ? MSR_CB : 0);
      }
      case REG_FIFO: {
        if (this.resultPos >= this.resultLength) return 0xff;
        const v = this.result[this.resultPos++];
        if (this.resultPos === this.resultLength) { this.resultPos = this.resultLength = 0; this.setIrq(false); }
        return v;
      }
      default: return 0xff;
    }
  }

  private write(offset: number, value: number): void {
    switch (offset) {
      case REG_DOR: {
        const wasReset = (this.dor & DOR_NRESET) === 0;
        this.dor = value;
        if (wasReset && (value & DOR_NRESET) !== 0) this.controllerReset();
        else this.setIrq(this.irqPending);
        return;
      }
      case REG_MSR: if ((value & DSR_RESET) !== 0) this.controllerReset(); return;
      case REG_FIFO: this.writeFifo(value); return;
      default:
    }
  }

  private writeFifo(value: number): void {
    if ((this.dor & DOR_NRESET) === 0 || this.busy || this.resultPos < this.resultLength) return;
    if (this.commandPos === 0) {
      const length = COMMAND_LENGTH[value & 0x1f] ?? 1;
      this.commandLength = (value & 0x1f) === CMD_LOCK || (value & 0x1f) === CMD_VERSION || (value & 0x1f) === CMD_DUMPREG ? 1 : length;
    }
    this.command[this.commandPos++] = value;
    if (this.commandPos >= this.commandLength) {
      this.commandPos = 0;
      this.execute();
    }
  }

  private respond(...bytes: number[]): void {
    this.result.set(bytes);
    this.resultLength = bytes.length;
    this.resultPos = 0;
  }

  private execute(): void {
    const c = this.command;
    const op = c[0] & 0x1f;
    const drive = c[1] & 3;
    switch (op) {
      case CMD_SPECIFY: case CMD_PERPENDICULAR: return;
      case CMD_CONFIGURE: this.config.set(c.subarray(0, 4)); return;
      case CMD_VERSION: this.respond(VERSION_82077); return;
      case CMD_LOCK: this.locked = (c[0] & 0x80) !== 0; this.respond(this.locked ? 0x10 : 0); return;
      case CMD_DUMPREG:
        this.respond(this.cylinder[0], this.cylinder[1], this.cylinder[2], this.cylinder[3], 0, 0, 0, 0, (this.locked ? 0x80 : 0) | this.config[2], this.config[3]);
        return;
      case CMD_SENSE_DRIVE: {
        const g = this.geometry[drive];
        const st3 = (drive & 3) | (c[1] & 4) | (g !== undefined ? ST3_READY : 0) | (this.cylinder[drive] === 0 ? ST3_TRACK0 : 0) |
          (this.drives[drive]?.readOnly === true ? ST3_WRITE_PROTECT : 0);
        this.respond(st3);
        return;
      }
      case CMD_SENSE_INTERRUPT: {
        if (this.resetSense !== 0) {
          const owed = this.resetSense & -this.resetSense; // the lowest drive still owed
          const which = 31 - Math.clz32(owed);
          this.resetSense &= ~owed;
          this.respond(ST0_READY_CHANGE | which, this.cylinder[which]);
        } else if (this.seekSense >= 0) {
          const d = this.seekSense;
          this.seekSense = -1;
          this.respond(ST0_SEEK_END | d, this.cylinder[d]);
        } else {
          this.respond(ST0_INVALID);
        }
        this.setIrq(false);
        return;
      }
      case CMD_RECALIBRATE: case CMD_SEEK: {
        this.cylinder[drive] = op === CMD_SEEK ? c[2] : 0;
        if (this.drives[drive] !== undefined) this.changed[drive] = false;
        this.seekSense = drive;
        this.setIrq(true);
        return;
      }
      case CMD_READ_ID: {
        const g = this.geometry[drive];
        const head = (c[1] >>> 2) & 1;
        if (g === undefined) this.finish(ST0_ABNORMAL, 0x01, 0, drive, head, this.cylinder[drive], head, 1);
        else this.finish(0, 0, 0, drive, head, this.cylinder[drive], head, 1);
        return;
      }
      case CMD_READ: case CMD_WRITE: this.transfer(op === CMD_WRITE); return;
      default:
        this.respond(ST0_INVALID);
    }
  }

  private finish(st0: number, st1: number, st2: number, drive: number, head: number, cylinder: number, h: number, r: number): void {
    this.busy = false;
    this.respond(st0 | (head << 2) | drive, st1, st2, cylinder, h, r, 2);
    this.setIrq(true);
  }

  /** READ DATA / WRITE DATA: C H R N EOT from the command, sectors up to EOT (both heads with MT), DMA until terminal count. */
  private transfer(write: boolean): void {
    const c = this.command;
    const drive = c[1] & 3;
    const head = (c[1] >>> 2) & 1;
    const multiTrack = (c[0] & 0x80) !== 0;
    const [cyl, h, r, n, eot] = [c[2], c[3], c[4], c[5], c[6]];
    const image = this.drives[drive];
    const g = this.geometry[drive];
    if (image === undefined || g === undefined || n !== 2 || cyl >= g.cylinders || h >= g.heads || r < 1 || r > g.sectors) {
      this.finish(ST0_ABNORMAL, ST1_NO_DATA, 0, drive, head, cyl, h, r);
      return;
    }
    if (write && image.readOnly) { this.finish(ST0_ABNORMAL, ST1_NOT_WRITABLE, 0, drive, head, cyl, h, r); return; }
    const last = Math.min(eot, g.sectors);
    let count = Math.max(0, last - r + 1);
    if (multiTrack && h === 0) count += last;
    const lba = (cyl * g.heads + h) * g.sectors + r - 1;
    const bytes = Math.min(count * SECTOR, image.size - lba * SECTOR);
    const data = this.buffer.subarray(0, bytes);
    const gen = this.generation;
    this.busy = true;
    const done = (moved: number): void => {
      const sectors = Math.floor(moved / SECTOR);
      // The sector after the last one transferred (82077AA "Result phase" table).
      const index = (multiTrack ? h * last : 0) + r - 1 + sectors;
      let rc = cyl, rh = h, rr: number;
      if (multiTrack) {
        if (index >= 2 * last) { rc++; rh = 0; rr = 1; } else { rh = Math.floor(index / last); rr = (index % last) + 1; }
      } else if (index >= last) { rc++; rr = 1; } else rr = index + 1;
      this.finish(sectors === 0 ? ST0_ABNORMAL : 0, 0, 0, drive, head, rc, rh, rr);
    };
    if (write) {
      const moved = this.dma.transfer(FLOPPY_DMA_CHANNEL, data, false);
      const whole = moved - (moved % SECTOR);
      image.write(lba * SECTOR, data.subarray(0, whole)).then(
        () => { if (gen === this.generation) done(whole); },
        () => { if (gen === this.generation) this.finish(ST0_ABNORMAL, ST1_NO_DATA, 0, drive, head, cyl, h, r); },
      );
    } else {
      image.read(lba * SECTOR, data).then(
        () => { if (gen === this.generation) done(this.dma.transfer(FLOPPY_DMA_CHANNEL, data, true)); },
        () => { if (gen === this.generation) this.finish(ST0_ABNORMAL, ST1_NO_DATA, 0, drive, head, cyl, h, r); },
      );
    }
  }

  saveState(): DeviceState {
    return { version: 1, dor: this.dor, cylinders: this.cylinder.slice(), irq: this.irqPending, resetSense: this.resetSense, seekSense: this.seekSense, locked: this.locked, config: this.config.slice() };
  }

  /** Registers and head positions; a command in progress is not saved (take snapshots between commands). */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const dor = r.int('dor', 0, 0xff);
    const cylinders = r.bytes('cylinders', 4);
    const irq = r.bool('irq');
    const resetSense = r.bits('resetSense', 0x0f, 0);
    const seekSense = r.int('seekSense', -1, 3);
    const locked = r.bool('locked');
    const config = r.bytes('config', 4);
    this.generation++;
    this.dor = dor;
    this.cylinder.set(cylinders);
    this.resetSense = resetSense;
    this.seekSense = seekSense;
    this.locked = locked;
    this.config.set(config);
    this.busy = false;
    this.commandPos = this.commandLength = this.resultLength = this.resultPos = 0;
    this.setIrq(irq);
  }
}
