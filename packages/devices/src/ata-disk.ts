import type { BlockDevice } from '@tsvm/storage';
import type { DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import {
  ATA_DEV_LBA,
  ATA_ER_ABRT,
  ATA_ER_IDNF,
  ATA_ER_UNC,
  ATA_SR_BSY,
  ATA_SR_DRDY,
  ATA_SR_DSC,
  IDE_BUFFER_SIZE,
  IdeDevice,
  PIO_IN,
  PIO_OUT,
  type DmaPort,
} from './ide-device.js';
import { buildAtaIdentify, type AtaGeometry } from './ata-identify.js';

// Command codes, ATA/ATAPI-6 section 8 (and table B.2).
export const ATA_CMD_DEVICE_RESET = 0x08;
export const ATA_CMD_RECALIBRATE = 0x10;
export const ATA_CMD_READ_SECTORS = 0x20;
export const ATA_CMD_READ_SECTORS_NORETRY = 0x21;
export const ATA_CMD_READ_SECTORS_EXT = 0x24;
export const ATA_CMD_READ_DMA_EXT = 0x25;
export const ATA_CMD_READ_NATIVE_MAX_EXT = 0x27;
export const ATA_CMD_READ_MULTIPLE_EXT = 0x29;
export const ATA_CMD_WRITE_SECTORS = 0x30;
export const ATA_CMD_WRITE_SECTORS_NORETRY = 0x31;
export const ATA_CMD_WRITE_SECTORS_EXT = 0x34;
export const ATA_CMD_WRITE_DMA_EXT = 0x35;
export const ATA_CMD_WRITE_MULTIPLE_EXT = 0x39;
export const ATA_CMD_READ_VERIFY = 0x40;
export const ATA_CMD_READ_VERIFY_NORETRY = 0x41;
export const ATA_CMD_READ_VERIFY_EXT = 0x42;
export const ATA_CMD_SEEK = 0x70;
export const ATA_CMD_EXECUTE_DIAGNOSTIC = 0x90;
export const ATA_CMD_INITIALIZE_PARAMETERS = 0x91;
export const ATA_CMD_PACKET = 0xa0;
export const ATA_CMD_IDENTIFY_PACKET = 0xa1;
export const ATA_CMD_READ_MULTIPLE = 0xc4;
export const ATA_CMD_WRITE_MULTIPLE = 0xc5;
export const ATA_CMD_SET_MULTIPLE = 0xc6;
export const ATA_CMD_READ_DMA = 0xc8;
export const ATA_CMD_READ_DMA_NORETRY = 0xc9;
export const ATA_CMD_WRITE_DMA = 0xca;
export const ATA_CMD_WRITE_DMA_NORETRY = 0xcb;
export const ATA_CMD_STANDBY_IMMEDIATE = 0xe0;
export const ATA_CMD_IDLE_IMMEDIATE = 0xe1;
export const ATA_CMD_STANDBY = 0xe2;
export const ATA_CMD_IDLE = 0xe3;
export const ATA_CMD_CHECK_POWER_MODE = 0xe5;
export const ATA_CMD_FLUSH_CACHE = 0xe7;
export const ATA_CMD_FLUSH_CACHE_EXT = 0xea;
export const ATA_CMD_IDENTIFY = 0xec;
export const ATA_CMD_SET_FEATURES = 0xef;
export const ATA_CMD_READ_NATIVE_MAX = 0xf8;

/** SET FEATURES subcommands (8.37): transfer mode, write cache, read look-ahead, reverting to defaults. */
const SF_WRITE_CACHE_ON = 0x02;
const SF_TRANSFER_MODE = 0x03;
const SF_READ_AHEAD_OFF = 0x55;
const SF_REVERT_OFF = 0x66;
const SF_WRITE_CACHE_OFF = 0x82;
const SF_READ_AHEAD_ON = 0xaa;
const SF_REVERT_ON = 0xcc;
/** Transfer mode values in the count register (8.37.10): PIO default/flow control, MWDMA, UDMA. */
const XFER_PIO = 0x08;
const XFER_MWDMA = 0x20;
const XFER_UDMA = 0x40;

/** Largest READ/WRITE MULTIPLE block this disk offers (IDENTIFY word 47). */
export const ATA_MAX_MULTIPLE = 16;
const SECTOR = 512;
/** DMA moves data through the buffer in chunks of this many sectors. */
const DMA_CHUNK = IDE_BUFFER_SIZE / SECTOR;
const LBA28_LIMIT = 0x0fff_ffff;

/** What the data phase of the running command does (saved state). */
const OP_NONE = 0;
const OP_READ = 1;
const OP_WRITE = 2;

export interface AtaDiskOptions {
  name?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  /** Default (physical) CHS geometry; derived from the size as a BIOS would when omitted. */
  geometry?: AtaGeometry;
}

/** The default translation: 16 heads, 63 sectors, cylinders up to 16,383 (ATA-6 annex on CHS). */
export function defaultGeometry(sectors: number): AtaGeometry {
  const cylinders = Math.max(1, Math.min(16383, Math.floor(sectors / (16 * 63))));
  return { cylinders, heads: 16, sectors: 63 };
}

/**
 * An ATA hard disk on a `BlockDevice`: PIO reads and writes (single, MULTIPLE, EXT), DMA through
 * the channel's bus master, CHS (with INITIALIZE DEVICE PARAMETERS) and LBA28/LBA48 addressing,
 * IDENTIFY, SET FEATURES, FLUSH CACHE. Disk I/O is asynchronous: the device stays BSY until the
 * block device's promise settles, then sets DRQ (or completes) and interrupts. A read-only block
 * device aborts writes; a failed read or write ends with ERR (UNC) instead of throwing.
 */
export class AtaDisk extends IdeDevice {
  readonly kind = 'ata';
  readonly name: string;
  readonly sectors: number;
  private readonly identity: { model: string; serial: string; firmware: string };
  readonly geometry: AtaGeometry;
  /** Logical geometry set by INITIALIZE DEVICE PARAMETERS. */
  private heads: number;
  private spt: number;
  private multiple = ATA_MAX_MULTIPLE;
  private writeCache = true;
  /** Transfer mode from SET FEATURES: bits 0-2 PIO mode, 8-15 MWDMA select, 16-23 UDMA select. */
  private mwdma = 0x04;
  private udma = 0x20;
  private op = OP_NONE;
  private lba = 0;
  private remaining = 0;
  private blockSectors = 1;
  private useDma = false;
  private lba48 = false;

  constructor(readonly disk: BlockDevice, options: AtaDiskOptions = {}) {
    super();
    this.name = options.name ?? 'ata-disk';
    if (disk.size % SECTOR !== 0) throw new DeviceError('InvalidArgument', `${this.name}: disk size ${disk.size} is not a multiple of ${SECTOR} bytes`);
    this.sectors = disk.size / SECTOR;
    this.geometry = options.geometry ?? defaultGeometry(this.sectors);
    const g = this.geometry;
    if (g.cylinders < 1 || g.cylinders > 65535 || g.heads < 1 || g.heads > 16 || g.sectors < 1 || g.sectors > 255) {
      throw new DeviceError('InvalidArgument', `${this.name}: geometry ${g.cylinders}/${g.heads}/${g.sectors} is out of range`);
    }
    this.heads = g.heads;
    this.spt = g.sectors;
    this.identity = { model: options.model ?? 'TSVM HARDDISK', serial: options.serial ?? 'TSVM0001', firmware: options.firmware ?? '1.0' };
    this.reset();
  }

  protected resetSignature(): void {
    // ATA signature (9.12): count 1, LBA low 1, LBA mid/high 0.
    this.count = 1;
    this.lbaLow = 1;
    this.lbaMid = 0;
    this.lbaHigh = 0;
    this.status = ATA_SR_DRDY | ATA_SR_DSC;
    this.op = OP_NONE;
  }

  override reset(): void {
    this.heads = this.geometry.heads;
    this.spt = this.geometry.sectors;
    super.reset();
  }

  execute(command: number): void {
    switch (command) {
      case ATA_CMD_READ_SECTORS: case ATA_CMD_READ_SECTORS_NORETRY: this.startTransfer(OP_READ, false, 1, false); return;
      case ATA_CMD_READ_SECTORS_EXT: this.startTransfer(OP_READ, true, 1, false); return;
      case ATA_CMD_READ_MULTIPLE: this.startTransfer(OP_READ, false, this.multiple, false); return;
      case ATA_CMD_READ_MULTIPLE_EXT: this.startTransfer(OP_READ, true, this.multiple, false); return;
      case ATA_CMD_READ_DMA: case ATA_CMD_READ_DMA_NORETRY: this.startTransfer(OP_READ, false, DMA_CHUNK, true); return;
      case ATA_CMD_READ_DMA_EXT: this.startTransfer(OP_READ, true, DMA_CHUNK, true); return;
      case ATA_CMD_WRITE_SECTORS: case ATA_CMD_WRITE_SECTORS_NORETRY: this.startTransfer(OP_WRITE, false, 1, false); return;
      case ATA_CMD_WRITE_SECTORS_EXT: this.startTransfer(OP_WRITE, true, 1, false); return;
      case ATA_CMD_WRITE_MULTIPLE: this.startTransfer(OP_WRITE, false, this.multiple, false); return;
      case ATA_CMD_WRITE_MULTIPLE_EXT: this.startTransfer(OP_WRITE, true, this.multiple, false); return;
      case ATA_CMD_WRITE_DMA: case ATA_CMD_WRITE_DMA_NORETRY: this.startTransfer(OP_WRITE, false, DMA_CHUNK, true); return;
      case ATA_CMD_WRITE_DMA_EXT: this.startTransfer(OP_WRITE, true, DMA_CHUNK, true); return;
      case ATA_CMD_READ_VERIFY: case ATA_CMD_READ_VERIFY_NORETRY: case ATA_CMD_READ_VERIFY_EXT: {
        const ext = command === ATA_CMD_READ_VERIFY_EXT;
        const lba = this.address(ext);
        const count = this.sectorCount(ext);
        if (lba < 0 || lba + count > this.sectors) this.complete(ATA_ER_IDNF | ATA_ER_ABRT);
        else this.complete();
        return;
      }
      case ATA_CMD_IDENTIFY: this.identify(); return;
      case ATA_CMD_SET_MULTIPLE: {
        const n = this.count;
        if (n > ATA_MAX_MULTIPLE || (n & (n - 1)) !== 0) { this.complete(ATA_ER_ABRT); return; }
        this.multiple = n;
        this.complete();
        return;
      }
      case ATA_CMD_SET_FEATURES: this.setFeatures(); return;
      case ATA_CMD_FLUSH_CACHE: case ATA_CMD_FLUSH_CACHE_EXT: this.flush(); return;
      case ATA_CMD_INITIALIZE_PARAMETERS: {
        if (this.count === 0) { this.complete(ATA_ER_ABRT); return; }
        this.heads = (this.device & 0x0f) + 1;
        this.spt = this.count;
        this.complete();
        return;
      }
      case ATA_CMD_SEEK: case ATA_CMD_STANDBY_IMMEDIATE: case ATA_CMD_IDLE_IMMEDIATE: case ATA_CMD_STANDBY: case ATA_CMD_IDLE:
        this.complete();
        return;
      case ATA_CMD_CHECK_POWER_MODE:
        this.count = 0xff; // active or idle (8.6)
        this.complete();
        return;
      case ATA_CMD_READ_NATIVE_MAX: case ATA_CMD_READ_NATIVE_MAX_EXT: {
        const ext = command === ATA_CMD_READ_NATIVE_MAX_EXT;
        if (!ext && (this.device & ATA_DEV_LBA) === 0) { this.complete(ATA_ER_ABRT); return; }
        this.setAddress(Math.min(this.sectors - 1, ext ? Number.MAX_SAFE_INTEGER : LBA28_LIMIT), ext);
        this.complete();
        return;
      }
      case ATA_CMD_EXECUTE_DIAGNOSTIC:
        this.resetSignature();
        this.complete(0);
        this.error = 0x01; // device 0 passed, device 1 passed or absent (9.10)
        this.status &= ~1;
        return;
      default:
        if ((command & 0xf0) === ATA_CMD_RECALIBRATE) { this.complete(); return; }
        this.complete(ATA_ER_ABRT);
    }
  }

  /** The starting sector of the command, or -1 when a CHS address is outside the geometry. */
  private address(ext: boolean): number {
    if (ext) {
      return ((this.hobLbaHigh * 0x100 + this.hobLbaMid) * 0x100 + this.hobLbaLow) * 0x100_0000 +
        ((this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow);
    }
    if ((this.device & ATA_DEV_LBA) !== 0) {
      return (((this.device & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow) >>> 0;
    }
    const cylinder = (this.lbaHigh << 8) | this.lbaMid;
    const head = this.device & 0x0f;
    const sector = this.lbaLow;
    if (sector < 1 || sector > this.spt || head >= this.heads) return -1;
    return (cylinder * this.heads + head) * this.spt + sector - 1;
  }

  private sectorCount(ext: boolean): number {
    if (ext) return ((this.hobCount << 8) | this.count) || 0x10000;
    return this.count || 0x100;
  }

  /** Write a sector address back into the registers, as the last sector transferred (ATA-6 6.2). */
  private setAddress(lba: number, ext: boolean): void {
    if (ext) {
      const high = Math.floor(lba / 0x100_0000);
      this.lbaLow = lba & 0xff; this.lbaMid = (lba >>> 8) & 0xff; this.lbaHigh = (lba >>> 16) & 0xff;
      this.hobLbaLow = high & 0xff; this.hobLbaMid = (high >>> 8) & 0xff; this.hobLbaHigh = (high >>> 16) & 0xff;
    } else if ((this.device & ATA_DEV_LBA) !== 0) {
      this.lbaLow = lba & 0xff; this.lbaMid = (lba >>> 8) & 0xff; this.lbaHigh = (lba >>> 16) & 0xff;
      this.device = (this.device & 0xf0) | ((lba >>> 24) & 0x0f);
    } else {
      const perCylinder = this.heads * this.spt;
      const cylinder = Math.floor(lba / perCylinder);
      const rest = lba - cylinder * perCylinder;
      const head = Math.floor(rest / this.spt);
      this.lbaLow = rest - head * this.spt + 1;
      this.lbaMid = cylinder & 0xff; this.lbaHigh = (cylinder >>> 8) & 0xff;
      this.device = (this.device & 0xf0) | head;
    }
  }

  private startTransfer(op: number, ext: boolean, block: number, dma: boolean): void {
    if (block === 0) { this.complete(ATA_ER_ABRT); return; } // MULTIPLE while multiple mode is off
    const lba = this.address(ext);
    const count = this.sectorCount(ext);
    if (lba < 0 || lba + count > this.sectors) { this.complete(ATA_ER_IDNF | ATA_ER_ABRT); return; }
    if (op === OP_WRITE && this.disk.readOnly) { this.complete(ATA_ER_ABRT); return; }
    this.op = op;
    this.lba = lba;
    this.remaining = count;
    this.blockSectors = block;
    this.useDma = dma;
    this.lba48 = ext;
    if (dma) {
      this.status = (this.status & ~ATA_SR_DSC) | ATA_SR_BSY;
      this.dmaPending = true;
      this.host?.dmaRequested();
    } else if (op === OP_READ) {
      this.readBlock();
    } else {
      // The first block of a PIO write is requested without an interrupt (ATA-6 9.7, PIO data-out).
      this.startPio(PIO_OUT, Math.min(this.blockSectors, this.remaining) * SECTOR, false);
    }
  }

  private readBlock(): void {
    const n = Math.min(this.blockSectors, this.remaining);
    const gen = this.generation;
    this.status |= ATA_SR_BSY;
    this.disk.read(this.lba * SECTOR, this.buffer.subarray(0, n * SECTOR)).then(
      () => {
        if (gen !== this.generation) return;
        this.status &= ~ATA_SR_BSY;
        this.setAddress(this.lba + n - 1, this.lba48);
        this.startPio(PIO_IN, n * SECTOR, true);
      },
      () => { if (gen === this.generation) this.fail(this.lba, ATA_ER_UNC); },
    );
  }

  private writeBlock(): void {
    const n = Math.min(this.blockSectors, this.remaining);
    const gen = this.generation;
    this.status |= ATA_SR_BSY;
    this.disk.write(this.lba * SECTOR, this.buffer.subarray(0, n * SECTOR)).then(
      () => {
        if (gen !== this.generation) return;
        this.setAddress(this.lba + n - 1, this.lba48);
        this.lba += n;
        this.remaining -= n;
        this.status &= ~ATA_SR_BSY;
        if (this.remaining > 0) this.startPio(PIO_OUT, Math.min(this.blockSectors, this.remaining) * SECTOR, true);
        else { this.op = OP_NONE; this.complete(); }
      },
      () => { if (gen === this.generation) this.fail(this.lba, ATA_ER_UNC | ATA_ER_ABRT); },
    );
  }

  protected pioBlockDone(): void {
    if (this.op === OP_READ) {
      const n = Math.min(this.blockSectors, this.remaining);
      this.lba += n;
      this.remaining -= n;
      if (this.remaining > 0) this.readBlock();
      else { this.op = OP_NONE; this.status = ATA_SR_DRDY | ATA_SR_DSC; }
    } else if (this.op === OP_WRITE) {
      this.writeBlock();
    } else {
      // IDENTIFY and other single-block data-in commands end when the host has read the block.
      this.status = ATA_SR_DRDY | ATA_SR_DSC;
    }
  }

  private fail(lba: number, error: number): void {
    this.op = OP_NONE;
    this.setAddress(Math.min(lba, this.sectors - 1), this.lba48);
    this.complete(error);
  }

  runDma(port: DmaPort): void {
    void this.dmaLoop(port, this.generation);
  }

  private async dmaLoop(port: DmaPort, gen: number): Promise<void> {
    while (this.remaining > 0) {
      const n = Math.min(DMA_CHUNK, this.remaining);
      const chunk = this.buffer.subarray(0, n * SECTOR);
      try {
        if (this.op === OP_READ) {
          await this.disk.read(this.lba * SECTOR, chunk);
          if (gen !== this.generation) return;
          if (!port.running || port.toMemory(chunk) < chunk.length) { this.dmaFailed(port, ATA_ER_ABRT); return; }
        } else {
          if (!port.running || port.fromMemory(chunk) < chunk.length) { this.dmaFailed(port, ATA_ER_ABRT); return; }
          await this.disk.write(this.lba * SECTOR, chunk);
          if (gen !== this.generation) return;
        }
      } catch {
        if (gen === this.generation) this.dmaFailed(port, this.op === OP_READ ? ATA_ER_UNC : ATA_ER_UNC | ATA_ER_ABRT);
        return;
      }
      this.lba += n;
      this.remaining -= n;
    }
    this.setAddress(this.lba - 1, this.lba48);
    this.op = OP_NONE;
    port.finish(true);
    this.complete();
  }

  private dmaFailed(port: DmaPort, error: number): void {
    port.finish(false);
    this.fail(this.lba, error);
  }

  private identify(): void {
    const words = buildAtaIdentify({
      ...this.identity,
      sectors: this.sectors,
      geometry: this.geometry,
      current: { heads: this.heads, sectors: this.spt },
      multiple: this.multiple,
      maxMultiple: ATA_MAX_MULTIPLE,
      writeCache: this.writeCache,
      mwdma: this.mwdma,
      udma: this.udma,
    });
    for (let i = 0; i < 256; i++) { this.buffer[2 * i] = words[i] & 0xff; this.buffer[2 * i + 1] = words[i] >>> 8; }
    this.status = ATA_SR_DRDY | ATA_SR_DSC;
    this.startPio(PIO_IN, SECTOR, true);
  }

  private setFeatures(): void {
    switch (this.feature) {
      case SF_WRITE_CACHE_ON: this.writeCache = true; break;
      case SF_WRITE_CACHE_OFF: this.writeCache = false; break;
      case SF_READ_AHEAD_ON: case SF_READ_AHEAD_OFF: case SF_REVERT_ON: case SF_REVERT_OFF: break;
      case SF_TRANSFER_MODE: {
        const mode = this.count & 0xf8;
        const n = this.count & 0x07;
        if (this.count <= 1 || mode === XFER_PIO) {
          if (mode === XFER_PIO && n > 4) { this.complete(ATA_ER_ABRT); return; }
        } else if (mode === XFER_MWDMA && n <= 2) { this.mwdma = 1 << n; this.udma = 0; }
        else if (mode === XFER_UDMA && n <= 5) { this.udma = 1 << n; this.mwdma = 0; }
        else { this.complete(ATA_ER_ABRT); return; }
        break;
      }
      default: this.complete(ATA_ER_ABRT); return;
    }
    this.complete();
  }

  private flush(): void {
    const gen = this.generation;
    this.status |= ATA_SR_BSY;
    this.disk.flush().then(
      () => { if (gen === this.generation) this.complete(); },
      () => { if (gen === this.generation) this.complete(ATA_ER_ABRT); },
    );
  }

  saveState(): DeviceState {
    return {
      version: 1,
      ...this.saveCommon(),
      heads: this.heads,
      spt: this.spt,
      multiple: this.multiple,
      writeCache: this.writeCache,
      mwdma: this.mwdma,
      udma: this.udma,
      op: this.op,
      lba: this.lba,
      remaining: this.remaining,
      blockSectors: this.blockSectors,
      dma: this.useDma,
      lba48: this.lba48,
    };
  }

  /**
   * Restores a saved disk. A PIO command caught waiting for the block device (BSY with a transfer
   * in progress) is re-issued: a read block is read again, a written block written again. A DMA
   * transfer already running is ended with ABRT; one still waiting for the bus master keeps waiting.
   */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const common = this.readCommon(r);
    const heads = r.int('heads', 1, 16);
    const spt = r.int('spt', 1, 255);
    const multiple = r.int('multiple', 0, ATA_MAX_MULTIPLE);
    if ((multiple & (multiple - 1)) !== 0) r.fail('multiple', `must be 0 or a power of two, got ${multiple}`);
    const writeCache = r.bool('writeCache');
    const mwdma = r.bits('mwdma', 0x04, 0);
    const udma = r.bits('udma', 0x20, 0);
    const op = r.int('op', OP_NONE, OP_WRITE);
    const lba = r.int('lba', 0, this.sectors);
    const remaining = r.int('remaining', 0, this.sectors - lba);
    const blockSectors = r.int('blockSectors', 1, DMA_CHUNK);
    const dma = r.bool('dma');
    const lba48 = r.bool('lba48');
    const status = r.int('status', 0, 0xff);
    const pio = r.int('pio', 0, 2);
    if (op !== OP_NONE && remaining === 0) r.fail('remaining', 'is 0 while a transfer is in progress');
    if (op === OP_WRITE && this.disk.readOnly) r.fail('op', 'is a write to a read-only disk');
    if (!dma && op !== OP_NONE && blockSectors > ATA_MAX_MULTIPLE) r.fail('blockSectors', `exceeds ${ATA_MAX_MULTIPLE} for PIO`);
    const resume = op !== OP_NONE && (status & ATA_SR_BSY) !== 0 && pio === 0 && !dma;
    if (resume && op === OP_WRITE && r.bytes('buffer', blockSectors * SECTOR, false).length < Math.min(blockSectors, remaining) * SECTOR) {
      r.fail('buffer', 'does not hold the block being written');
    }
    common();
    Object.assign(this, { heads, spt, multiple, writeCache, mwdma, udma, op, lba, remaining, blockSectors, useDma: dma, lba48 });
    if (resume) {
      if (op === OP_READ) this.readBlock(); else this.writeBlock();
    } else if (op !== OP_NONE && dma && (status & ATA_SR_BSY) !== 0 && !this.dmaPending) {
      // A bus-master transfer caught in flight cannot be resumed at the right PRD position: it ends
      // aborted, and the guest's driver retries it.
      this.op = OP_NONE;
      this.complete(ATA_ER_ABRT);
    }
    this.host?.updateIrq();
  }
}
