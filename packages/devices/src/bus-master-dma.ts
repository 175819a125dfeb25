import type { DeviceState, StateReader } from './device.js';
import type { IdeBusMaster, IdeChannel } from './ide-controller.js';
import type { IoHandler } from './io-bus.js';

// SFF-8038i rev 1.0 "Bus Master Programming Interface for IDE ATA Controllers", section 2.
/** Register offsets within one channel's 8 ports: command, status, PRD table pointer. */
export const BM_COMMAND = 0;
export const BM_STATUS = 2;
export const BM_PRD_TABLE = 4;
/** Both channels: primary at 0-7, secondary at 8-15 of BAR4. */
export const BM_CHANNEL_STRIDE = 8;
export const BM_REGISTER_SPACE = 16;
/** Command (2.1): bit 0 start/stop bus master, bit 3 read/write control (1 = write to memory). */
export const BM_CMD_START = 0x01;
export const BM_CMD_WRITE_TO_MEMORY = 0x08;
/** Status (2.2): active, error, interrupt (write 1 to clear), drive 0/1 DMA capable, simplex only. */
export const BM_ST_ACTIVE = 0x01;
export const BM_ST_ERROR = 0x02;
export const BM_ST_INTERRUPT = 0x04;
export const BM_ST_DRIVE0_DMA = 0x20;
export const BM_ST_DRIVE1_DMA = 0x40;
export const BM_ST_SIMPLEX = 0x80;
/** PRD entry (2.3): 32-bit address, 16-bit byte count (0 = 64 KiB), bit 15 of the last word = end of table. */
const PRD_ENTRY_SIZE = 8;
const PRD_EOT = 0x8000;

/** Guest physical memory as a bus master sees it (`PhysicalMemory` implements this). */
export interface DmaMemory {
  readBytes(address: number, out: Uint8Array): void;
  writeBytes(address: number, data: Uint8Array): void;
}

/**
 * One channel's bus master: command, status and PRD table pointer, and the scatter/gather walk
 * of the PRD table that moves a device's data to or from guest memory. Data moves only while the
 * start bit is set and the PCI function may master the bus.
 */
export class BusMasterDma implements IdeBusMaster {
  command = 0;
  status = 0;
  prdTable = 0;
  private readonly entry = new Uint8Array(PRD_ENTRY_SIZE);
  private readonly entryView = new DataView(this.entry.buffer);
  /** PRD walk: next entry's address, current entry's address/bytes left, whether it was the last. */
  private nextEntry = 0;
  private address = 0;
  private left = 0;
  private last = false;

  constructor(
    private readonly channel: IdeChannel,
    private readonly memory: DmaMemory,
    private readonly masterEnabled: () => boolean = () => true,
  ) {
    channel.busMaster = this;
  }

  get running(): boolean {
    return (this.command & BM_CMD_START) !== 0 && this.masterEnabled();
  }

  writeCommand(value: number): void {
    const wasStarted = (this.command & BM_CMD_START) !== 0;
    this.command = value & (BM_CMD_START | BM_CMD_WRITE_TO_MEMORY);
    const started = (value & BM_CMD_START) !== 0;
    if (started && !wasStarted) {
      this.status |= BM_ST_ACTIVE;
      this.nextEntry = this.prdTable;
      this.left = 0;
      this.last = false;
      this.channel.busMasterStarted();
    } else if (!started && wasStarted) {
      // Stopping aborts a transfer in progress (2.1): the device sees the table end.
      this.status &= ~BM_ST_ACTIVE;
    }
  }

  writeStatus(value: number): void {
    const clear = value & (BM_ST_ERROR | BM_ST_INTERRUPT);
    this.status = (this.status & ~clear & ~(BM_ST_DRIVE0_DMA | BM_ST_DRIVE1_DMA)) | (value & (BM_ST_DRIVE0_DMA | BM_ST_DRIVE1_DMA));
  }

  writePrd(value: number): void {
    this.prdTable = (value & 0xffff_fffc) >>> 0;
  }

  /** Loads the next PRD entry; false when the table has ended. */
  private advance(): boolean {
    if (this.last) return false;
    this.memory.readBytes(this.nextEntry, this.entry);
    this.address = this.entryView.getUint32(0, true);
    const count = this.entryView.getUint16(4, true) & 0xfffe;
    this.left = count === 0 ? 0x10000 : count;
    this.last = (this.entryView.getUint16(6, true) & PRD_EOT) !== 0;
    this.nextEntry = (this.nextEntry + PRD_ENTRY_SIZE) >>> 0;
    return true;
  }

  toMemory(data: Uint8Array): number {
    let done = 0;
    while (done < data.length && (this.left > 0 || this.advance())) {
      const n = Math.min(this.left, data.length - done);
      this.memory.writeBytes(this.address, data.subarray(done, done + n));
      done += n;
      this.address = (this.address + n) >>> 0;
      this.left -= n;
    }
    return done;
  }

  fromMemory(out: Uint8Array): number {
    let done = 0;
    while (done < out.length && (this.left > 0 || this.advance())) {
      const n = Math.min(this.left, out.length - done);
      this.memory.readBytes(this.address, out.subarray(done, done + n));
      done += n;
      this.address = (this.address + n) >>> 0;
      this.left -= n;
    }
    return done;
  }

  /** The device ended the transfer: active clears when the table was used up exactly (2.2, table 2). */
  finish(ok: boolean): void {
    if (!ok) this.status = (this.status | BM_ST_ERROR) & ~BM_ST_ACTIVE;
    else if (this.last && this.left === 0) this.status &= ~BM_ST_ACTIVE;
  }

  interruptRaised(): void {
    this.status |= BM_ST_INTERRUPT;
  }

  reset(): void {
    this.command = 0;
    this.status = 0;
    this.prdTable = 0;
    this.left = 0;
    this.last = false;
  }

  saveState(): DeviceState {
    return { version: 1, command: this.command, status: this.status, prdTable: this.prdTable };
  }

  /** Validates and returns the applier (the PIIX3 IDE function applies both channels together). */
  readState(r: StateReader): () => void {
    const command = r.bits('command', 0xff, ~(BM_CMD_START | BM_CMD_WRITE_TO_MEMORY) & 0xff);
    const status = r.bits('status', 0xff, 0x18);
    const prdTable = r.int('prdTable', 0, 0xffff_ffff);
    if ((prdTable & 3) !== 0) r.fail('prdTable', 'must be dword aligned');
    return () => {
      this.command = command;
      this.status = status;
      this.prdTable = prdTable;
      // A transfer caught in flight is not resumed: the walk starts over at the next start bit.
      this.nextEntry = prdTable;
      this.left = 0;
      this.last = false;
    };
  }
}

/** The 16 bus master ports of BAR4: two channels of command, status and PRD pointer. */
export function busMasterPorts(channels: readonly (BusMasterDma | undefined)[]): IoHandler {
  const read8 = (offset: number): number => {
    const bm = channels[offset >>> 3];
    if (bm === undefined) return 0xff;
    const o = offset & 7;
    if (o === BM_COMMAND) return bm.command;
    if (o === BM_STATUS) return bm.status;
    if (o >= BM_PRD_TABLE) return (bm.prdTable >>> (8 * (o - BM_PRD_TABLE))) & 0xff;
    return 0;
  };
  const write8 = (offset: number, value: number): void => {
    const bm = channels[offset >>> 3];
    if (bm === undefined) return;
    const o = offset & 7;
    if (o === BM_COMMAND) bm.writeCommand(value);
    else if (o === BM_STATUS) bm.writeStatus(value);
    else if (o >= BM_PRD_TABLE) {
      const shift = 8 * (o - BM_PRD_TABLE);
      bm.writePrd(((bm.prdTable & ~(0xff << shift)) | (value << shift)) >>> 0);
    }
  };
  return {
    read8,
    write8,
    read32: (offset) => {
      const bm = channels[offset >>> 3];
      if ((offset & 7) === BM_PRD_TABLE && bm !== undefined) return bm.prdTable;
      return (read8(offset) | (read8(offset + 1) << 8) | (read8(offset + 2) << 16) | (read8(offset + 3) << 24)) >>> 0;
    },
    write32: (offset, value) => {
      const bm = channels[offset >>> 3];
      if ((offset & 7) === BM_PRD_TABLE && bm !== undefined) { bm.writePrd(value); return; }
      for (let i = 0; i < 4; i++) write8(offset + i, (value >>> (8 * i)) & 0xff);
    },
  };
}
