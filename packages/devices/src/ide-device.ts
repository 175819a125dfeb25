import type { StateReader, StateValue } from './device.js';

// Register bits from ATA/ATAPI-6 (T13/1410D), section 7 "Register descriptions".
/** Status (7.15): busy, device ready, device fault, seek complete / service, data request, error. */
export const ATA_SR_BSY = 0x80;
export const ATA_SR_DRDY = 0x40;
export const ATA_SR_DF = 0x20;
export const ATA_SR_DSC = 0x10;
export const ATA_SR_DRQ = 0x08;
export const ATA_SR_ERR = 0x01;
/** Error (7.9): uncorrectable data, ID not found, command aborted; bit 0 after diagnostics = passed. */
export const ATA_ER_UNC = 0x40;
export const ATA_ER_IDNF = 0x10;
export const ATA_ER_ABRT = 0x04;
export const ATA_DIAG_PASSED = 0x01;
/** Device register (7.7): LBA mode, device 1 select; bits 7 and 5 are obsolete and read as written. */
export const ATA_DEV_LBA = 0x40;
export const ATA_DEV_DEV1 = 0x10;
/** Device control (7.8): high-order byte readback, software reset, interrupt disable. */
export const ATA_CTL_HOB = 0x80;
export const ATA_CTL_SRST = 0x04;
export const ATA_CTL_NIEN = 0x02;

/** Command block offsets (7.1, table 8): data, error/features, count, LBA low/mid/high, device, status/command. */
export const ATA_REG_DATA = 0;
export const ATA_REG_ERROR = 1;
export const ATA_REG_COUNT = 2;
export const ATA_REG_LBA_LOW = 3;
export const ATA_REG_LBA_MID = 4;
export const ATA_REG_LBA_HIGH = 5;
export const ATA_REG_DEVICE = 6;
export const ATA_REG_STATUS = 7;

/** The PIO buffer: enough for 128 512-byte sectors (READ MULTIPLE) or 64 KiB of ATAPI data. */
export const IDE_BUFFER_SIZE = 128 * 512;

/** PIO data phase of the device. */
export const PIO_NONE = 0;
/** Device to host: the host reads the data register. */
export const PIO_IN = 1;
/** Host to device: the host writes the data register. */
export const PIO_OUT = 2;

/** What the channel offers its devices: the interrupt line, the bus master, the selected device. */
export interface IdeDeviceHost {
  /** Recompute INTRQ after a device changed its interrupt request. */
  updateIrq(): void;
  /** A device issued a DMA command and waits for the bus master to start. */
  dmaRequested(): void;
}

/**
 * The bus master's view for a device moving DMA data: copy between a device buffer and guest
 * memory following the PRD table. Each returns the bytes moved (fewer when the table ends).
 */
export interface DmaPort {
  toMemory(data: Uint8Array): number;
  fromMemory(out: Uint8Array): number;
  /** The transfer ended: `ok` false on a device error. */
  finish(ok: boolean): void;
  /** The start bit is still set (clearing it aborts the transfer). */
  readonly running: boolean;
}

/**
 * What both ATA and ATAPI devices share: a copy of the command block registers (each device on a
 * cable latches every write, whichever is selected; the selected one answers reads), with the
 * previous byte of each kept for LBA48 high-order reads, status and error, the INTRQ request and
 * the PIO data buffer.
 */
export abstract class IdeDevice {
  abstract readonly kind: 'ata' | 'atapi';
  host: IdeDeviceHost | undefined;
  /** 0 master, 1 slave: set by the channel when attached. */
  unit = 0;

  feature = 0;
  count = 0;
  lbaLow = 0;
  lbaMid = 0;
  lbaHigh = 0;
  hobFeature = 0;
  hobCount = 0;
  hobLbaLow = 0;
  hobLbaMid = 0;
  hobLbaHigh = 0;
  device = 0;
  status = 0;
  error = 0;
  /** The device asserts INTRQ (cleared by a status read or a new command). */
  intrq = false;

  readonly buffer = new Uint8Array(IDE_BUFFER_SIZE);
  pos = 0;
  end = 0;
  pio = PIO_NONE;
  /** A DMA command waits for the bus master. */
  dmaPending = false;
  /** Bumped by resets and new commands, so a completion that arrives late is dropped. */
  protected generation = 0;

  /** Runs the command written to the command register while this device is selected. */
  abstract execute(command: number): void;
  /** The host transferred the whole PIO block (`pos === end`). */
  protected abstract pioBlockDone(): void;
  /** Moves the pending DMA command's data; the device calls `port.finish` when it ends. */
  abstract runDma(port: DmaPort): void;
  /** The signature and status a reset leaves (ATA-6 9.12, 9.13). */
  protected abstract resetSignature(): void;
  abstract readonly name: string;

  writeRegister(offset: number, value: number): void {
    switch (offset) {
      case ATA_REG_ERROR: this.hobFeature = this.feature; this.feature = value; break;
      case ATA_REG_COUNT: this.hobCount = this.count; this.count = value; break;
      case ATA_REG_LBA_LOW: this.hobLbaLow = this.lbaLow; this.lbaLow = value; break;
      case ATA_REG_LBA_MID: this.hobLbaMid = this.lbaMid; this.lbaMid = value; break;
      case ATA_REG_LBA_HIGH: this.hobLbaHigh = this.lbaHigh; this.lbaHigh = value; break;
      case ATA_REG_DEVICE: this.device = value; break;
    }
  }

  readRegister(offset: number, hob: boolean): number {
    switch (offset) {
      case ATA_REG_ERROR: return this.error;
      case ATA_REG_COUNT: return hob ? this.hobCount : this.count;
      case ATA_REG_LBA_LOW: return hob ? this.hobLbaLow : this.lbaLow;
      case ATA_REG_LBA_MID: return hob ? this.hobLbaMid : this.lbaMid;
      case ATA_REG_LBA_HIGH: return hob ? this.hobLbaHigh : this.lbaHigh;
      case ATA_REG_DEVICE: return this.device;
      default: return this.status;
    }
  }

  /** A new command: drop any data phase and any late completion of the previous one. */
  beginCommand(): void {
    this.generation = (this.generation + 1) | 0;
    this.pio = PIO_NONE;
    this.pos = 0;
    this.end = 0;
    this.dmaPending = false;
    this.intrq = false;
    this.error = 0;
  }

  readData8(): number {
    if (this.pio !== PIO_IN) return 0xff;
    const v = this.buffer[this.pos++];
    if (this.pos >= this.end) this.finishBlock();
    return v;
  }

  readData16(): number {
    if (this.pio !== PIO_IN) return 0xffff;
    const v = this.buffer[this.pos] | (this.buffer[this.pos + 1] << 8);
    this.pos += 2;
    if (this.pos >= this.end) this.finishBlock();
    return v;
  }

  writeData8(value: number): void {
    if (this.pio !== PIO_OUT) return;
    this.buffer[this.pos++] = value;
    if (this.pos >= this.end) this.finishBlock();
  }

  writeData16(value: number): void {
    if (this.pio !== PIO_OUT) return;
    this.buffer[this.pos] = value;
    this.buffer[this.pos + 1] = value >>> 8;
    this.pos += 2;
    if (this.pos >= this.end) this.finishBlock();
  }

  private finishBlock(): void {
    this.pio = PIO_NONE;
    this.status &= ~ATA_SR_DRQ;
    this.pioBlockDone();
  }

  /** Start a PIO data phase of `length` bytes at `start` in `buffer` (where the data is, or goes). */
  protected startPio(direction: number, length: number, interrupt: boolean, start = 0): void {
    this.pio = direction;
    this.pos = start;
    this.end = start + length;
    this.status = (this.status & ~(ATA_SR_BSY | ATA_SR_ERR)) | ATA_SR_DRQ;
    if (interrupt) this.raiseIrq();
  }

  /** End the command: ready, no data phase, optionally with an error, and interrupt. */
  protected complete(error = 0): void {
    this.pio = PIO_NONE;
    this.dmaPending = false;
    this.error = error;
    this.status = (this.status & ~(ATA_SR_BSY | ATA_SR_DRQ | ATA_SR_ERR)) | ATA_SR_DRDY | ATA_SR_DSC | (error !== 0 ? ATA_SR_ERR : 0);
    this.raiseIrq();
  }

  protected raiseIrq(): void {
    this.intrq = true;
    this.host?.updateIrq();
  }

  /** Hardware or software reset (SRST): registers, signature, no command in progress. */
  reset(): void {
    this.beginCommand();
    this.feature = this.hobFeature = this.hobCount = this.hobLbaLow = this.hobLbaMid = this.hobLbaHigh = 0;
    this.device = 0;
    this.resetSignature();
    this.error = ATA_DIAG_PASSED;
  }

  /** The shared part of the saved state (registers, data phase, the buffer up to `bufferLength` or the phase's end). */
  protected saveCommon(bufferLength = this.end): Record<string, StateValue> {
    return {
      taskFile: new Uint8Array([this.feature, this.count, this.lbaLow, this.lbaMid, this.lbaHigh,
        this.hobFeature, this.hobCount, this.hobLbaLow, this.hobLbaMid, this.hobLbaHigh, this.device]),
      status: this.status,
      error: this.error,
      intrq: this.intrq,
      pio: this.pio,
      pos: this.pos,
      end: this.end,
      dmaPending: this.dmaPending,
      buffer: this.buffer.slice(0, Math.max(bufferLength, this.end)),
    };
  }

  /** Validates the shared fields; returns the applier. */
  protected readCommon(r: StateReader): () => void {
    const taskFile = r.bytes('taskFile', 11);
    const status = r.int('status', 0, 0xff);
    const error = r.int('error', 0, 0xff);
    const intrq = r.bool('intrq');
    const pio = r.int('pio', PIO_NONE, PIO_OUT);
    const end = r.int('end', 0, IDE_BUFFER_SIZE);
    const pos = r.int('pos', 0, end);
    const dmaPending = r.bool('dmaPending');
    const buffer = r.bytes('buffer', IDE_BUFFER_SIZE, false);
    if (buffer.length < end) r.fail('buffer', `holds ${buffer.length} bytes, fewer than the data phase's ${end}`);
    if (pio !== PIO_NONE && pos === end) r.fail('pos', 'is at the end of a data phase still in progress');
    if (pio !== PIO_NONE && dmaPending) r.fail('dmaPending', 'is set during a PIO data phase');
    return () => {
      [this.feature, this.count, this.lbaLow, this.lbaMid, this.lbaHigh,
        this.hobFeature, this.hobCount, this.hobLbaLow, this.hobLbaMid, this.hobLbaHigh, this.device] = taskFile;
      this.generation = (this.generation + 1) | 0;
      this.status = status;
      this.error = error;
      this.intrq = intrq;
      this.pio = pio;
      this.pos = pos;
      this.end = end;
      this.dmaPending = dmaPending;
      this.buffer.set(buffer);
    };
  }
}
