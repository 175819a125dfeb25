import type { BlockDevice } from '@tsvm/storage';
import { buildAtapiIdentify } from './ata-identify.js';
import type { DeviceState } from './device.js';
import { StateReader } from './device.js';
import {
  ATA_ER_ABRT,
  ATA_SR_BSY,
  ATA_SR_DRDY,
  ATA_SR_DSC,
  IDE_BUFFER_SIZE,
  IdeDevice,
  PIO_IN,
  PIO_OUT,
  type DmaPort,
} from './ide-device.js';
import { buildModeSense, buildToc, buildConfiguration, buildEventStatus } from './atapi-pages.js';

/** CD-ROM logical block size (MMC-2 "Logical blocks"). */
export const CD_SECTOR = 2048;
/** ATAPI commands are 12-byte packets (SFF-8020i, IDENTIFY PACKET word 0 bits 1:0 = 00). */
export const ATAPI_PACKET_SIZE = 12;
/** Interrupt reason in the count register (ATA-6 8.21.5): CoD, IO. */
export const ATAPI_IR_COD = 0x01;
export const ATAPI_IR_IO = 0x02;
/** PACKET features bit 0: the data phase uses DMA. */
const PACKET_FEATURE_DMA = 0x01;

// SCSI / MMC operation codes (SPC-2, MMC-2).
export const SCSI_TEST_UNIT_READY = 0x00;
export const SCSI_REQUEST_SENSE = 0x03;
export const SCSI_INQUIRY = 0x12;
export const SCSI_MODE_SENSE_6 = 0x1a;
export const SCSI_START_STOP_UNIT = 0x1b;
export const SCSI_PREVENT_ALLOW = 0x1e;
export const SCSI_READ_CAPACITY = 0x25;
export const SCSI_READ_10 = 0x28;
export const SCSI_SEEK_10 = 0x2b;
export const SCSI_READ_TOC = 0x43;
export const SCSI_GET_CONFIGURATION = 0x46;
export const SCSI_GET_EVENT_STATUS = 0x4a;
export const SCSI_MODE_SENSE_10 = 0x5a;
export const SCSI_READ_12 = 0xa8;
export const SCSI_MECHANISM_STATUS = 0xbd;

/** Sense keys (SPC-2 table 107) and additional sense codes used here. */
export const SENSE_NONE = 0x0;
export const SENSE_NOT_READY = 0x2;
export const SENSE_MEDIUM_ERROR = 0x3;
export const SENSE_ILLEGAL_REQUEST = 0x5;
export const SENSE_UNIT_ATTENTION = 0x6;
export const ASC_UNRECOVERED_READ = 0x11;
export const ASC_INVALID_OPCODE = 0x20;
export const ASC_LBA_OUT_OF_RANGE = 0x21;
export const ASC_INVALID_FIELD = 0x24;
export const ASC_MEDIUM_CHANGED = 0x28;
export const ASC_MEDIUM_REMOVAL_PREVENTED = 0x53;
export const ASC_MEDIUM_NOT_PRESENT = 0x3a;

const ATA_CMD_DEVICE_RESET = 0x08;
const ATA_CMD_EXECUTE_DIAGNOSTIC = 0x90;
const ATA_CMD_PACKET = 0xa0;
const ATA_CMD_IDENTIFY_PACKET = 0xa1;
const ATA_CMD_IDLE_IMMEDIATE = 0xe1;
const ATA_CMD_CHECK_POWER_MODE = 0xe5;
const ATA_CMD_SET_FEATURES = 0xef;
/** Sectors read from the image per data chunk (the buffer holds 32 CD sectors). */
const CHUNK_SECTORS = IDE_BUFFER_SIZE / CD_SECTOR;

/** Phases of a packet command (saved state). */
const PH_IDLE = 0;
const PH_PACKET = 1;
const PH_DATA = 2;
const PH_READING = 3;

export interface AtapiCdromOptions {
  name?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  /** Vendor (8 characters) and product (16) of INQUIRY. */
  vendor?: string;
  product?: string;
}

/**
 * An ATAPI CD-ROM (SFF-8020i / MMC-2 subset) serving 2048-byte sectors from an image
 * `BlockDevice` (an ISO 9660 file): PACKET with PIO (honouring the byte count limit) or DMA,
 * IDENTIFY PACKET DEVICE, TEST UNIT READY, REQUEST SENSE, INQUIRY, READ CAPACITY, READ(10/12),
 * MODE SENSE(6/10), GET CONFIGURATION, READ TOC, START STOP UNIT, PREVENT/ALLOW, GET EVENT STATUS.
 * Errors are CHECK CONDITION with sense data, never exceptions. `insert`/`eject` change media; the
 * next command then reports UNIT ATTENTION.
 */
export class AtapiCdrom extends IdeDevice {
  readonly kind = 'atapi';
  readonly name: string;
  private media: BlockDevice | undefined;
  private readonly ident: Required<AtapiCdromOptions>;
  private readonly packet = new Uint8Array(ATAPI_PACKET_SIZE);
  private senseKey = SENSE_NONE;
  private asc = 0;
  private unitAttention = false;
  private locked = false;
  private phase = PH_IDLE;
  private useDma = false;
  private byteLimit = 0;
  /** Bytes of the response still to send after what the buffer holds. */
  private readLba = 0;
  private readLeft = 0;
  /** Staged response bytes in the buffer: [sendPos, stageEnd). */
  private sendPos = 0;
  private stageEnd = 0;

  constructor(media?: BlockDevice, options: AtapiCdromOptions = {}) {
    super();
    this.name = options.name ?? 'atapi-cdrom';
    this.media = media;
    this.ident = {
      name: this.name,
      model: options.model ?? 'TSVM DVD-ROM',
      serial: options.serial ?? 'TSVMCD01',
      firmware: options.firmware ?? '1.0',
      vendor: options.vendor ?? 'TSVM',
      product: options.product ?? 'DVD-ROM',
    };
    this.reset();
  }

  /** Capacity in 2048-byte blocks (0 without media). */
  get capacity(): number {
    return this.media === undefined ? 0 : Math.floor(this.media.size / CD_SECTOR);
  }

  get hasMedia(): boolean {
    return this.media !== undefined;
  }

  /** Insert a disc (replacing any): the guest sees UNIT ATTENTION, medium may have changed. */
  insert(media: BlockDevice): void {
    this.media = media;
    this.unitAttention = true;
  }

  /** Remove the disc, unless the guest locked the tray; returns whether it was removed. */
  eject(force = false): boolean {
    if (this.locked && !force) return false;
    this.media = undefined;
    this.unitAttention = true;
    return true;
  }

  protected resetSignature(): void {
    // Packet device signature (ATA-6 9.12): count 1, LBA low 1, mid 14h, high EBh; DRDY clear.
    this.count = 1;
    this.lbaLow = 1;
    this.lbaMid = 0x14;
    this.lbaHigh = 0xeb;
    this.status = 0;
    this.phase = PH_IDLE;
  }

  execute(command: number): void {
    switch (command) {
      case ATA_CMD_PACKET:
        this.useDma = (this.feature & PACKET_FEATURE_DMA) !== 0;
        this.byteLimit = ((this.lbaHigh << 8) | this.lbaMid) & 0xfffe;
        if (this.byteLimit === 0) this.byteLimit = 0xfffe;
        this.phase = PH_PACKET;
        this.count = ATAPI_IR_COD;
        this.status = ATA_SR_DRDY;
        this.startPio(PIO_OUT, ATAPI_PACKET_SIZE, false);
        return;
      case ATA_CMD_IDENTIFY_PACKET: {
        const words = buildAtapiIdentify(this.ident);
        for (let i = 0; i < 256; i++) { this.buffer[2 * i] = words[i] & 0xff; this.buffer[2 * i + 1] = words[i] >>> 8; }
        this.status = ATA_SR_DRDY;
        this.startPio(PIO_IN, 512, true);
        return;
      }
      case ATA_CMD_DEVICE_RESET: case ATA_CMD_EXECUTE_DIAGNOSTIC:
        this.resetSignature();
        this.error = 0x01;
        if (command === ATA_CMD_EXECUTE_DIAGNOSTIC) this.raiseIrq();
        return;
      case ATA_CMD_IDLE_IMMEDIATE: case ATA_CMD_SET_FEATURES: this.complete(); return;
      case ATA_CMD_CHECK_POWER_MODE: this.count = 0xff; this.complete(); return;
      default:
        // IDENTIFY DEVICE and other ATA commands abort, leaving the packet signature (ATA-6 8.15).
        this.resetSignature();
        this.complete(ATA_ER_ABRT);
    }
  }

  protected pioBlockDone(): void {
    if (this.phase === PH_PACKET) {
      this.packet.set(this.buffer.subarray(0, ATAPI_PACKET_SIZE));
      this.runPacket();
    } else if (this.phase === PH_DATA) {
      this.sendPos = this.pos;
      this.continueData();
    } else {
      this.status = ATA_SR_DRDY | ATA_SR_DSC; // IDENTIFY PACKET DEVICE read
    }
  }

  private checkCondition(key: number, asc: number): void {
    this.senseKey = key;
    this.asc = asc;
    this.phase = PH_IDLE;
    this.count = ATAPI_IR_IO | ATAPI_IR_COD;
    this.complete((key << 4) | ATA_ER_ABRT);
  }

  private done(): void {
    this.senseKey = SENSE_NONE;
    this.asc = 0;
    this.phase = PH_IDLE;
    this.count = ATAPI_IR_IO | ATAPI_IR_COD;
    this.complete();
  }

  private runPacket(): void {
    const p = this.packet;
    const op = p[0];
    // Commands that report rather than use the medium never see UNIT ATTENTION (SPC-2 5.6.5).
    const reporting = op === SCSI_INQUIRY || op === SCSI_REQUEST_SENSE || op === SCSI_GET_CONFIGURATION || op === SCSI_GET_EVENT_STATUS;
    if (this.unitAttention && !reporting) {
      this.unitAttention = false;
      this.checkCondition(SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
      return;
    }
    const needsMedia = op === SCSI_TEST_UNIT_READY || op === SCSI_READ_CAPACITY || op === SCSI_READ_10 ||
      op === SCSI_READ_12 || op === SCSI_READ_TOC || op === SCSI_SEEK_10;
    if (needsMedia && this.media === undefined) { this.checkCondition(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT); return; }
    const b = this.buffer;
    switch (op) {
      case SCSI_TEST_UNIT_READY: case SCSI_SEEK_10: this.done(); return;
      case SCSI_REQUEST_SENSE: {
        b.fill(0, 0, 18);
        b[0] = 0x70; // current error, fixed format
        b[2] = this.senseKey;
        b[7] = 10;
        b[12] = this.asc;
        this.senseKey = SENSE_NONE;
        this.asc = 0;
        this.respond(18, p[4]);
        return;
      }
      case SCSI_INQUIRY: {
        b.fill(0x20, 0, 36);
        b[0] = 0x05; // peripheral device type: CD-ROM
        b[1] = 0x80; // removable
        b[2] = 0x00;
        b[3] = 0x21; // ATAPI transport version 2, response data format 1
        b[4] = 31;
        b[5] = b[6] = b[7] = 0;
        putAscii(b, 8, 8, this.ident.vendor);
        putAscii(b, 16, 16, this.ident.product);
        putAscii(b, 32, 4, this.ident.firmware);
        this.respond(36, p[4]);
        return;
      }
      case SCSI_READ_CAPACITY:
        writeBe32(b, 0, this.capacity - 1);
        writeBe32(b, 4, CD_SECTOR);
        this.respond(8, 8);
        return;
      case SCSI_READ_10: case SCSI_READ_12: {
        const lba = readBe32(p, 2);
        const count = op === SCSI_READ_10 ? (p[7] << 8) | p[8] : readBe32(p, 6);
        if (lba + count > this.capacity) { this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE); return; }
        if (count === 0) { this.done(); return; }
        this.readLba = lba;
        this.readLeft = count;
        this.startRead();
        return;
      }
      case SCSI_MODE_SENSE_6: case SCSI_MODE_SENSE_10: {
        const ten = op === SCSI_MODE_SENSE_10;
        const n = buildModeSense(b, p[2] & 0x3f, (p[2] >>> 6) & 3, ten, this.media !== undefined, this.locked);
        if (n < 0) { this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD); return; }
        this.respond(n, ten ? (p[7] << 8) | p[8] : p[4]);
        return;
      }
      case SCSI_READ_TOC: {
        const format = (p[2] & 0x0f) || (p[9] >>> 6);
        const n = buildToc(b, format, (p[1] & 0x02) !== 0, p[6], this.capacity);
        if (n < 0) { this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD); return; }
        this.respond(n, (p[7] << 8) | p[8]);
        return;
      }
      case SCSI_GET_CONFIGURATION:
        this.respond(buildConfiguration(b, this.capacity, (p[2] << 8) | p[3], p[1] & 3), (p[7] << 8) | p[8]);
        return;
      case SCSI_GET_EVENT_STATUS: {
        if ((p[1] & 1) === 0) { this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD); return; } // polled only
        this.respond(buildEventStatus(b, p[4], this.media !== undefined), (p[7] << 8) | p[8]);
        return;
      }
      case SCSI_MECHANISM_STATUS:
        b.fill(0, 0, 8);
        b[5] = 1; // one slot
        this.respond(8, (p[8] << 8) | p[9]);
        return;
      case SCSI_START_STOP_UNIT: {
        const loej = (p[4] & 0x02) !== 0;
        const start = (p[4] & 0x01) !== 0;
        if (loej && !start) {
          if (this.locked) { this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED); return; }
          this.media = undefined;
        }
        this.done();
        return;
      }
      case SCSI_PREVENT_ALLOW: this.locked = (p[4] & 1) !== 0; this.done(); return;
      default: this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
    }
  }

  /** Send `length` bytes staged at the start of the buffer, cut to the allocation length. */
  private respond(length: number, allocation: number): void {
    this.readLeft = 0;
    this.sendPos = 0;
    this.stageEnd = Math.min(length, allocation);
    if (this.stageEnd === 0) { this.done(); return; }
    this.startData();
  }

  private startData(): void {
    if (this.useDma) {
      this.phase = PH_DATA;
      this.status = ATA_SR_DRDY | ATA_SR_BSY;
      this.dmaPending = true;
      this.host?.dmaRequested();
    } else {
      this.phase = PH_DATA;
      this.continueData();
    }
  }

  /** Next PIO DRQ block of the staged data, a disk read for more, or the end of the command. */
  private continueData(): void {
    if (this.sendPos < this.stageEnd) {
      const n = Math.min(this.byteLimit, this.stageEnd - this.sendPos);
      this.lbaMid = n & 0xff;
      this.lbaHigh = n >>> 8;
      this.count = ATAPI_IR_IO;
      this.status = ATA_SR_DRDY;
      this.startPio(PIO_IN, n, true, this.sendPos);
    } else if (this.readLeft > 0) {
      this.startRead();
    } else {
      this.done();
    }
  }

  private startRead(): void {
    const media = this.media;
    if (media === undefined) { this.checkCondition(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT); return; }
    const n = Math.min(CHUNK_SECTORS, this.readLeft);
    const gen = this.generation;
    this.phase = PH_READING;
    this.status = ATA_SR_DRDY | ATA_SR_BSY;
    media.read(this.readLba * CD_SECTOR, this.buffer.subarray(0, n * CD_SECTOR)).then(
      () => {
        if (gen !== this.generation) return;
        this.readLba += n;
        this.readLeft -= n;
        this.sendPos = 0;
        this.stageEnd = n * CD_SECTOR;
        this.startData();
      },
      () => { if (gen === this.generation) this.checkCondition(SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ); },
    );
  }

  runDma(port: DmaPort): void {
    const data = this.buffer.subarray(this.sendPos, this.stageEnd);
    if (!port.running || port.toMemory(data) < data.length) {
      port.finish(false);
      this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
      return;
    }
    this.sendPos = this.stageEnd;
    if (this.readLeft > 0) {
      // The next chunk comes back through startData, which asks the bus master again.
      this.startRead();
      return;
    }
    port.finish(true);
    this.done();
  }

  saveState(): DeviceState {
    return {
      version: 1,
      ...this.saveCommon(this.stageEnd),
      packet: this.packet.slice(),
      senseKey: this.senseKey,
      asc: this.asc,
      unitAttention: this.unitAttention,
      locked: this.locked,
      phase: this.phase,
      dma: this.useDma,
      byteLimit: this.byteLimit,
      readLba: this.readLba,
      readLeft: this.readLeft,
      sendPos: this.sendPos,
      stageEnd: this.stageEnd,
    };
  }

  /** Restores a saved drive (the disc itself is the machine's to re-insert); a read in flight is re-issued. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const common = this.readCommon(r);
    const packet = r.bytes('packet', ATAPI_PACKET_SIZE);
    const senseKey = r.int('senseKey', 0, 0xf);
    const asc = r.int('asc', 0, 0xff);
    const unitAttention = r.bool('unitAttention');
    const locked = r.bool('locked');
    const phase = r.int('phase', PH_IDLE, PH_READING);
    const dma = r.bool('dma');
    const byteLimit = r.int('byteLimit', 0, 0xfffe);
    const readLba = r.int('readLba', 0, 0xffff_ffff);
    const readLeft = r.int('readLeft', 0, 0xffff_ffff);
    const stageEnd = r.int('stageEnd', 0, IDE_BUFFER_SIZE);
    const sendPos = r.int('sendPos', 0, stageEnd);
    if ((byteLimit & 1) !== 0) r.fail('byteLimit', 'must be even');
    if (phase === PH_DATA && !dma && byteLimit === 0) r.fail('byteLimit', 'is 0 during a PIO data phase');
    if (readLeft > 0 && readLba + readLeft > this.capacity) r.fail('readLeft', 'reads past the end of the disc');
    if (r.bytes('buffer', IDE_BUFFER_SIZE, false).length < stageEnd && phase === PH_DATA) r.fail('stageEnd', 'is past the saved buffer');
    common();
    this.packet.set(packet);
    Object.assign(this, { senseKey, asc, unitAttention, locked, phase, useDma: dma, byteLimit, readLba, readLeft, sendPos, stageEnd });
    if (phase === PH_READING && (this.status & ATA_SR_BSY) !== 0) this.startRead();
    this.host?.updateIrq();
  }
}

function putAscii(b: Uint8Array, offset: number, length: number, text: string): void {
  for (let i = 0; i < length; i++) b[offset + i] = i < text.length ? text.charCodeAt(i) & 0x7f : 0x20;
}

function readBe32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function writeBe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}
