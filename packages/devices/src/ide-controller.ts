import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import {
  ATA_CTL_HOB,
  ATA_CTL_NIEN,
  ATA_CTL_SRST,
  ATA_DEV_DEV1,
  ATA_REG_DATA,
  ATA_REG_DEVICE,
  ATA_REG_STATUS,
  ATA_SR_BSY,
  type DmaPort,
  type IdeDevice,
  type IdeDeviceHost,
} from './ide-device.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';

/** The PC's two legacy channels: command block base, control block base, IRQ. */
export const IDE_PRIMARY = { commandBase: 0x1f0, controlBase: 0x3f6, irq: 14 } as const;
export const IDE_SECONDARY = { commandBase: 0x170, controlBase: 0x376, irq: 15 } as const;
/** Ports claimed by each block: 8 command registers; the control block is one port (0x3F7 belongs to the floppy). */
export const IDE_COMMAND_BLOCK_SIZE = 8;
export const IDE_CONTROL_BLOCK_SIZE = 1;
/** A floating bus (no device on the cable) reads all-ones. */
const FLOATING = 0xff;
/** DEVICE RESET (ATA-6 8.7), accepted by a packet device even while it is busy. */
const ATA_CMD_DEVICE_RESET = 0x08;

/** The bus master side a channel talks to (see `BusMasterDma`). */
export interface IdeBusMaster extends DmaPort {
  /** The channel's INTRQ rose: the bus master latches its interrupt bit. */
  interruptRaised(): void;
}

/**
 * One IDE channel (cable): up to two devices, the command block (`commandBlock`, 8 ports) and the
 * control block (`controlBlock`, 1 port: alternate status / device control), INTRQ to one IRQ line.
 * Writes to the command block reach both devices; the device selected by the DEV bit answers reads
 * and runs commands. With no device present the bus floats (0xFF); when only the other device is
 * present an absent device 1 reads as 0 (ATA-6 9.16.1: device 0 answers for it).
 */
export class IdeChannel implements Device, IdeDeviceHost {
  readonly name: string;
  readonly devices: [IdeDevice | undefined, IdeDevice | undefined] = [undefined, undefined];
  private control = 0;
  private selected = 0;
  private irqLevel = false;
  private readonly irq: IrqLine;
  busMaster: IdeBusMaster | undefined;

  readonly commandBlock: IoHandler = {
    read8: (offset) => this.readCommand(offset),
    read16: (offset) => (offset === ATA_REG_DATA ? this.readData16() : this.readCommand(offset) | (this.readCommand(offset + 1) << 8)),
    read32: (offset) => (offset === ATA_REG_DATA ? (this.readData16() | (this.readData16() << 16)) >>> 0 : this.split32(offset)),
    write8: (offset, value) => this.writeCommand(offset, value),
    write16: (offset, value) => {
      if (offset === ATA_REG_DATA) this.writeData16(value);
      else { this.writeCommand(offset, value & 0xff); this.writeCommand(offset + 1, value >>> 8); }
    },
    write32: (offset, value) => {
      if (offset === ATA_REG_DATA) { this.writeData16(value & 0xffff); this.writeData16(value >>> 16); }
      else for (let i = 0; i < 4 && offset + i < IDE_COMMAND_BLOCK_SIZE; i++) this.writeCommand(offset + i, (value >>> (8 * i)) & 0xff);
    },
  };

  readonly controlBlock: IoHandler = {
    read8: () => this.alternateStatus(),
    write8: (_offset, value) => this.writeControl(value),
  };

  constructor(options: { irq: IrqLine; name?: string; master?: IdeDevice; slave?: IdeDevice }) {
    this.name = options.name ?? 'ide0';
    this.irq = options.irq;
    if (options.master !== undefined) this.attach(0, options.master);
    if (options.slave !== undefined) this.attach(1, options.slave);
  }

  attach(unit: 0 | 1, device: IdeDevice): void {
    if (this.devices[unit] !== undefined) throw new DeviceError('InvalidArgument', `${this.name}: unit ${unit} already has a device`);
    if (device.host !== undefined) throw new DeviceError('InvalidArgument', `${device.name}: already attached to a channel`);
    device.host = this;
    device.unit = unit;
    this.devices[unit] = device;
    device.reset();
  }

  /** The device selected by the DEV bit, if present. */
  get current(): IdeDevice | undefined {
    return this.devices[this.selected];
  }

  private split32(offset: number): number {
    let v = 0;
    for (let i = 3; i >= 0; i--) v = (v << 8) | (offset + i < IDE_COMMAND_BLOCK_SIZE ? this.readCommand(offset + i) : FLOATING);
    return v >>> 0;
  }

  private absentValue(): number {
    return this.devices[0] === undefined && this.devices[1] === undefined ? FLOATING : 0;
  }

  private readCommand(offset: number): number {
    const dev = this.current;
    if (offset === ATA_REG_DATA) return dev === undefined ? this.absentValue() : dev.readData8();
    if (dev === undefined) {
      // The device register still shows what was written (it is latched by device 0 as well).
      const other = this.devices[this.selected ^ 1];
      return offset === ATA_REG_DEVICE && other !== undefined ? other.device : this.absentValue();
    }
    const value = dev.readRegister(offset, (this.control & ATA_CTL_HOB) !== 0);
    if (offset === ATA_REG_STATUS && dev.intrq) {
      dev.intrq = false;
      this.updateIrq();
    }
    return value;
  }

  private readData16(): number {
    const dev = this.current;
    return dev === undefined ? (this.absentValue() * 0x101) : dev.readData16();
  }

  private writeData16(value: number): void {
    this.current?.writeData16(value);
  }

  private writeCommand(offset: number, value: number): void {
    if (offset === ATA_REG_DATA) { this.current?.writeData8(value); return; }
    // A write to any command block register clears HOB (ATA-6 7.8).
    this.control &= ~ATA_CTL_HOB;
    if (offset === ATA_REG_STATUS) {
      const dev = this.current;
      // Commands to a busy device are ignored (except DEVICE RESET to a packet device, ATA-6 8.7);
      // to an absent one, nothing answers.
      if (dev === undefined) return;
      if ((dev.status & ATA_SR_BSY) !== 0 && !(value === ATA_CMD_DEVICE_RESET && dev.kind === 'atapi')) return;
      dev.beginCommand();
      this.updateIrq();
      dev.execute(value);
      return;
    }
    for (const dev of this.devices) {
      // The register block of a busy device is not written (ATA-6 7.15: BSY).
      if (dev !== undefined && (dev.status & ATA_SR_BSY) === 0) dev.writeRegister(offset, value);
    }
    if (offset === ATA_REG_DEVICE) {
      const busy = this.current !== undefined && (this.current.status & ATA_SR_BSY) !== 0;
      if (!busy) {
        this.selected = (value & ATA_DEV_DEV1) !== 0 ? 1 : 0;
        this.updateIrq();
      }
    }
  }

  private alternateStatus(): number {
    const dev = this.current;
    return dev === undefined ? this.absentValue() : dev.status;
  }

  private writeControl(value: number): void {
    const wasReset = (this.control & ATA_CTL_SRST) !== 0;
    this.control = value & (ATA_CTL_HOB | ATA_CTL_SRST | ATA_CTL_NIEN);
    const inReset = (value & ATA_CTL_SRST) !== 0;
    if (inReset && !wasReset) {
      for (const dev of this.devices) {
        if (dev === undefined) continue;
        dev.beginCommand();
        dev.status = ATA_SR_BSY;
      }
    } else if (!inReset && wasReset) {
      // SRST released: each device runs its reset and posts its signature; device 0 is selected.
      for (const dev of this.devices) dev?.reset();
      this.selected = 0;
    }
    this.updateIrq();
  }

  updateIrq(): void {
    const dev = this.current;
    const level = dev !== undefined && dev.intrq && (this.control & ATA_CTL_NIEN) === 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq.set(level);
    if (level) this.busMaster?.interruptRaised();
  }

  dmaRequested(): void {
    const dev = this.current;
    if (dev !== undefined && dev.dmaPending && this.busMaster?.running === true) {
      dev.dmaPending = false;
      dev.runDma(this.busMaster);
    }
  }

  /** Called by the bus master when its start bit is set. */
  busMasterStarted(): void {
    this.dmaRequested();
  }

  /** Hardware reset of the channel and its devices. */
  reset(): void {
    this.control = 0;
    this.selected = 0;
    for (const dev of this.devices) dev?.reset();
    this.updateIrq();
  }

  saveState(): DeviceState {
    return { version: 1, control: this.control, selected: this.selected };
  }

  /** The channel's own registers; each device saves its state separately. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const control = r.bits('control', 0xff, ~(ATA_CTL_HOB | ATA_CTL_SRST | ATA_CTL_NIEN) & 0xff);
    const selected = r.int('selected', 0, 1);
    this.control = control;
    this.selected = selected;
    this.refreshIrq();
  }

  /** Drive INTRQ from the current registers unconditionally (after a restore). */
  refreshIrq(): void {
    const dev = this.current;
    this.irqLevel = dev !== undefined && dev.intrq && (this.control & ATA_CTL_NIEN) === 0;
    this.irq.set(this.irqLevel);
  }
}
