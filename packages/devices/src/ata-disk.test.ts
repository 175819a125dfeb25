import { MemoryBlockDevice, type BlockDevice } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import { AtaDisk } from './ata-disk.js';
import { IDE_PRIMARY, IdeChannel } from './ide-controller.js';
import { IoBus } from './io-bus.js';
import { DeviceError } from './errors.js';

const BASE = IDE_PRIMARY.commandBase;
const CTL = IDE_PRIMARY.controlBase;
const [DATA, FEATURE, COUNT, LBA0, LBA1, LBA2, DEVICE, CMD] = [0, 1, 2, 3, 4, 5, 6, 7].map((o) => BASE + o);
const STATUS = CMD;
const ERROR = FEATURE;

/** Let the block device's promises settle. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function pattern(sector: number): Uint8Array {
  const b = new Uint8Array(512);
  for (let i = 0; i < 512; i++) b[i] = (sector * 7 + i) & 0xff;
  return b;
}

async function setup(options: { sectors?: number; readOnly?: boolean; disk?: BlockDevice; slave?: boolean } = {}) {
  const size = (options.sectors ?? 2048) * 512;
  const disk = options.disk ?? new MemoryBlockDevice(size);
  for (let s = 0; s < 64 && (s + 1) * 512 <= disk.size; s++) if (!disk.readOnly) await disk.write(s * 512, pattern(s));
  const ro = options.readOnly === true ? new MemoryBlockDevice(size, { readOnly: true }) : undefined;
  const ata = new AtaDisk(ro ?? disk, { model: 'TEST DISK', serial: 'SN42' });
  let irq = false;
  let edges = 0;
  const channel = new IdeChannel({ irq: { set: (l) => { if (l && !irq) edges++; irq = l; } }, master: ata });
  const bus = new IoBus();
  bus.register('ide0', BASE, 8, channel.commandBlock);
  bus.register('ide0-ctl', CTL, 1, channel.controlBlock);
  return { bus, ata, disk, channel, irq: () => irq, edges: () => edges };
}

function readBlock(bus: IoBus, bytes = 512): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 2) {
    const w = bus.read16(DATA);
    out[i] = w & 0xff;
    out[i + 1] = w >>> 8;
  }
  return out;
}

function writeBlock(bus: IoBus, data: Uint8Array): void {
  for (let i = 0; i < data.length; i += 4) bus.write32(DATA, data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
}

function lba28(bus: IoBus, lba: number, count: number, command: number): void {
  bus.write8(COUNT, count);
  bus.write8(LBA0, lba & 0xff);
  bus.write8(LBA1, (lba >>> 8) & 0xff);
  bus.write8(LBA2, (lba >>> 16) & 0xff);
  bus.write8(DEVICE, 0xe0 | ((lba >>> 24) & 0x0f));
  bus.write8(CMD, command);
}

function identifyWords(bus: IoBus): Uint16Array {
  bus.write8(CMD, 0xec);
  const w = new Uint16Array(256);
  for (let i = 0; i < 256; i++) w[i] = bus.read16(DATA);
  return w;
}

function ataString(w: Uint16Array, first: number, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += String.fromCharCode(w[first + i] >>> 8, w[first + i] & 0xff);
  return s.trimEnd();
}

describe('IdeChannel and AtaDisk', () => {
  it('shows the ATA signature, an absent slave reads 0 and an empty channel floats', async () => {
    const { bus } = await setup();
    expect(bus.read8(STATUS)).toBe(0x50);
    expect([bus.read8(COUNT), bus.read8(LBA0), bus.read8(LBA1), bus.read8(LBA2)]).toEqual([1, 1, 0, 0]);
    expect(bus.read8(ERROR)).toBe(1);
    bus.write8(DEVICE, 0xb0);
    expect(bus.read8(STATUS)).toBe(0);
    expect(bus.read8(CTL)).toBe(0);
    bus.write8(CMD, 0xec); // nothing answers for the absent device
    bus.write8(DEVICE, 0xa0);
    expect(bus.read8(STATUS)).toBe(0x50);

    const empty = new IdeChannel({ irq: { set: () => {} } });
    const b2 = new IoBus();
    b2.register('ide1', 0x170, 8, empty.commandBlock);
    expect(b2.read8(0x177)).toBe(0xff);
    expect(b2.read16(0x170)).toBe(0xffff);
  });

  it('IDENTIFY reports the geometry, LBA28 and LBA48 capacity, strings and a valid checksum', async () => {
    const { bus, irq } = await setup({ sectors: 100_000 });
    const w = identifyWords(bus);
    expect(irq()).toBe(true);
    expect(w[0]).toBe(0x0040);
    expect([w[1], w[3], w[6]]).toEqual([99, 16, 63]); // 100000 / (16 * 63) = 99 cylinders
    expect(w[60] | (w[61] << 16)).toBe(100_000);
    expect(w[100] | (w[101] << 16)).toBe(100_000);
    expect(w[83] & (1 << 10)).not.toBe(0);
    expect(ataString(w, 27, 20)).toBe('TEST DISK');
    expect(ataString(w, 10, 10)).toBe('SN42');
    let sum = 0;
    for (const x of w) sum += (x & 0xff) + (x >>> 8);
    expect(sum & 0xff).toBe(0);
    expect(w[255] & 0xff).toBe(0xa5);
    expect(bus.read8(STATUS)).toBe(0x50); // block read: no DRQ
  });

  it('caps the LBA28 capacity and reports the full LBA48 capacity of a large disk', async () => {
    const sectors = 0x1000_0000 + 4096;
    const { bus } = await setup({ disk: new MemoryBlockDevice(sectors * 512) });
    const w = identifyWords(bus);
    expect((w[60] | (w[61] << 16)) >>> 0).toBe(0x0fff_ffff);
    expect(w[100] + w[101] * 0x10000 + w[102] * 0x1_0000_0000).toBe(sectors);
    expect([w[1], w[3], w[6]]).toEqual([16383, 16, 63]);
  });

  it('reads sectors asynchronously: BSY until the block device answers, then DRQ and IRQ per sector', async () => {
    const { bus, irq, edges } = await setup();
    lba28(bus, 5, 2, 0x20);
    expect(bus.read8(CTL) & 0x88).toBe(0x80); // BSY, no DRQ yet
    expect(irq()).toBe(false);
    await settle();
    expect(irq()).toBe(true);
    expect(bus.read8(CTL)).toBe(0x58);
    expect(irq()).toBe(true); // the alternate status does not acknowledge
    expect(bus.read8(STATUS)).toBe(0x58);
    expect(irq()).toBe(false);
    expect(readBlock(bus)).toEqual(pattern(5));
    await settle();
    expect(edges()).toBe(2);
    expect(bus.read8(STATUS) & 0x08).toBe(0x08);
    expect(irq()).toBe(false); // the status read acknowledged it
    expect(readBlock(bus)).toEqual(pattern(6));
    expect(bus.read8(STATUS)).toBe(0x50);
    expect(bus.read8(LBA0)).toBe(6); // the last sector transferred
  });

  it('addresses sectors by CHS with the default and the initialized translation', async () => {
    const { bus } = await setup();
    // C/H/S 0/1/3 with 16 heads x 63 sectors is LBA 63 + 2 = 65; not written, so zeros. Use 0/0/4 = LBA 3.
    bus.write8(COUNT, 1); bus.write8(LBA0, 4); bus.write8(LBA1, 0); bus.write8(LBA2, 0); bus.write8(DEVICE, 0xa0);
    bus.write8(CMD, 0x20);
    await settle();
    expect(readBlock(bus)).toEqual(pattern(3));
    // INITIALIZE DEVICE PARAMETERS: 4 heads (device = heads - 1), 8 sectors per track.
    bus.write8(COUNT, 8); bus.write8(DEVICE, 0xa3); bus.write8(CMD, 0x91);
    expect(bus.read8(STATUS)).toBe(0x50);
    // C/H/S 1/2/5 = (1 * 4 + 2) * 8 + 4 = 52.
    bus.write8(COUNT, 1); bus.write8(LBA0, 5); bus.write8(LBA1, 1); bus.write8(LBA2, 0); bus.write8(DEVICE, 0xa2);
    bus.write8(CMD, 0x20);
    await settle();
    expect(readBlock(bus)).toEqual(pattern(52));
    // Sector 0 does not exist in CHS: IDNF.
    bus.write8(LBA0, 0); bus.write8(CMD, 0x20);
    expect(bus.read8(STATUS) & 0x01).toBe(1);
    expect(bus.read8(ERROR) & 0x10).toBe(0x10);
  });

  it('writes sectors: the first DRQ without an interrupt, then one per block, the data lands on the disk', async () => {
    const { bus, disk, edges } = await setup();
    lba28(bus, 100, 2, 0x30);
    expect(bus.read8(CTL)).toBe(0x58);
    expect(edges()).toBe(0);
    writeBlock(bus, pattern(900));
    expect(bus.read8(CTL) & 0x88).toBe(0x80);
    await settle();
    expect(edges()).toBe(1);
    expect(bus.read8(STATUS)).toBe(0x58);
    writeBlock(bus, pattern(901));
    await settle();
    expect(edges()).toBe(2);
    expect(bus.read8(STATUS)).toBe(0x50);
    const back = new Uint8Array(1024);
    await disk.read(100 * 512, back);
    expect(back.subarray(0, 512)).toEqual(pattern(900));
    expect(back.subarray(512)).toEqual(pattern(901));
  });

  it('READ/WRITE MULTIPLE move blocks of the SET MULTIPLE size; MULTIPLE with multiple mode off aborts', async () => {
    const { bus, disk, edges } = await setup();
    bus.write8(COUNT, 4); bus.write8(CMD, 0xc6);
    expect(bus.read8(STATUS)).toBe(0x50);
    lba28(bus, 8, 6, 0xc4);
    await settle();
    expect(readBlock(bus, 4 * 512).subarray(3 * 512)).toEqual(pattern(11));
    await settle();
    expect(readBlock(bus, 2 * 512).subarray(512)).toEqual(pattern(13));
    expect(bus.read8(STATUS)).toBe(0x50);
    expect(edges()).toBe(2);
    lba28(bus, 200, 5, 0xc5);
    const data = new Uint8Array(5 * 512).map((_, i) => (i * 13) & 0xff);
    writeBlock(bus, data.subarray(0, 2048));
    await settle();
    writeBlock(bus, data.subarray(2048));
    await settle();
    expect(bus.read8(STATUS)).toBe(0x50);
    const back = new Uint8Array(5 * 512);
    await disk.read(200 * 512, back);
    expect(back).toEqual(data);
    bus.write8(COUNT, 3); bus.write8(CMD, 0xc6); // not a power of two
    expect(bus.read8(ERROR)).toBe(0x04);
    bus.write8(COUNT, 0); bus.write8(CMD, 0xc6);
    lba28(bus, 0, 1, 0xc4);
    expect(bus.read8(STATUS)).toBe(0x51);
  });

  it('READ SECTORS EXT reaches sectors past the LBA28 limit and FLUSH CACHE EXT flushes', async () => {
    const sectors = 0x1000_0000 + 64;
    const disk = new MemoryBlockDevice(sectors * 512);
    const target = 0x1000_0010;
    await disk.write(target * 512, pattern(77));
    let flushed = 0;
    const flushing: BlockDevice = Object.assign(Object.create(disk) as MemoryBlockDevice, {
      flush: async () => { flushed++; },
    });
    const { bus } = await setup({ disk: flushing });
    bus.write8(DEVICE, 0x40);
    bus.write8(COUNT, 0); bus.write8(COUNT, 1);
    for (const [reg, shift] of [[LBA0, 24], [LBA1, 32], [LBA2, 40]] as const) bus.write8(reg, Math.floor(target / 2 ** shift) & 0xff);
    bus.write8(LBA0, target & 0xff); bus.write8(LBA1, (target >>> 8) & 0xff); bus.write8(LBA2, (target >>> 16) & 0xff);
    bus.write8(CMD, 0x24);
    await settle();
    expect(readBlock(bus)).toEqual(pattern(77));
    bus.write8(CTL, 0x80); // HOB: the high-order bytes of the last address
    expect(bus.read8(LBA0)).toBe(0x10);
    bus.write8(CTL, 0x00);
    bus.write8(CMD, 0xea);
    expect(bus.read8(CTL) & 0x80).toBe(0x80);
    await settle();
    expect(flushed).toBe(1);
    expect(bus.read8(STATUS)).toBe(0x50);
  });

  it('aborts writes to a read-only disk and reads past the end with IDNF', async () => {
    const { bus } = await setup({ readOnly: true });
    lba28(bus, 1, 1, 0x30);
    expect(bus.read8(STATUS)).toBe(0x51);
    expect(bus.read8(ERROR)).toBe(0x04);
    lba28(bus, 2047, 2, 0x20);
    expect(bus.read8(STATUS)).toBe(0x51);
    expect(bus.read8(ERROR)).toBe(0x14);
  });

  it('reports a failing block device as UNC, not as an exception', async () => {
    const disk = new MemoryBlockDevice(2048 * 512);
    const broken: BlockDevice = Object.assign(Object.create(disk) as MemoryBlockDevice, {
      read: () => Promise.reject(new Error('medium error')),
    });
    const { bus, irq } = await setup({ disk: broken });
    lba28(bus, 1, 1, 0x20);
    await settle();
    expect(irq()).toBe(true);
    expect(bus.read8(STATUS)).toBe(0x51);
    expect(bus.read8(ERROR)).toBe(0x40);
  });

  it('SRST puts the devices in BSY, drops a pending read and restores the signature; nIEN masks INTRQ', async () => {
    const { bus, irq } = await setup();
    lba28(bus, 3, 1, 0x20);
    bus.write8(CTL, 0x04);
    expect(bus.read8(CTL)).toBe(0x80);
    await settle();
    bus.write8(CTL, 0x00);
    expect(bus.read8(STATUS)).toBe(0x50);
    expect([bus.read8(COUNT), bus.read8(LBA0), bus.read8(LBA1), bus.read8(LBA2)]).toEqual([1, 1, 0, 0]);
    expect(irq()).toBe(false);
    bus.write8(CTL, 0x02);
    lba28(bus, 3, 1, 0x20);
    await settle();
    expect(irq()).toBe(false);
    expect(bus.read8(CTL)).toBe(0x58);
    bus.write8(CTL, 0x00); // INTRQ is still pending inside the device
    expect(irq()).toBe(true);
  });

  it('SET FEATURES accepts transfer modes and write cache settings and aborts unknown ones', async () => {
    const { bus } = await setup();
    bus.write8(FEATURE, 0x03); bus.write8(COUNT, 0x42); bus.write8(CMD, 0xef); // UDMA 2
    expect(bus.read8(STATUS)).toBe(0x50);
    expect(identifyWords(bus)[88]).toBe(0x043f);
    bus.write8(FEATURE, 0x82); bus.write8(CMD, 0xef);
    expect(identifyWords(bus)[85] & 0x20).toBe(0);
    bus.write8(FEATURE, 0x03); bus.write8(COUNT, 0x47); bus.write8(CMD, 0xef);
    expect(bus.read8(STATUS)).toBe(0x51);
    bus.write8(FEATURE, 0x77); bus.write8(CMD, 0xef);
    expect(bus.read8(ERROR)).toBe(0x04);
  });

  it('survives any sequence of port accesses without throwing', async () => {
    const { bus } = await setup();
    let seed = 12345;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 20000; i++) {
      const port = rand() & 1 ? BASE + (rand() & 7) : CTL;
      const r = rand() % 6;
      if (r === 0) bus.write8(port, rand() & 0xff);
      else if (r === 1) bus.write16(port, rand() & 0xffff);
      else if (r === 2) bus.write32(port, rand());
      else if (r === 3) bus.read8(port);
      else if (r === 4) bus.read16(port);
      else bus.read32(port);
      if ((i & 1023) === 0) await settle();
    }
    await settle();
    bus.write8(CTL, 0x04); bus.write8(CTL, 0x00);
    expect(bus.read8(STATUS)).toBe(0x50);
  });

  it('saves and restores a transfer in progress, and refuses hostile state without applying it', async () => {
    const a = await setup();
    lba28(a.bus, 10, 3, 0x20);
    await settle();
    readBlock(a.bus, 100);
    const saved = a.ata.saveState();
    const b = await setup();
    b.ata.loadState(saved);
    expect(readBlock(b.bus, 412)).toEqual(pattern(10).subarray(100));
    await settle();
    expect(readBlock(b.bus)).toEqual(pattern(11));
    await settle();
    expect(readBlock(b.bus)).toEqual(pattern(12));
    expect(b.bus.read8(STATUS)).toBe(0x50);

    // A DMA transfer in flight when saved ends aborted on restore instead of hanging in BSY.
    const inFlight = { ...saved, op: 1, dma: true, status: 0xd0, pio: 0, pos: 0, end: 0, buffer: new Uint8Array(0), dmaPending: false, remaining: 1, lba: 10 };
    const d = await setup();
    d.ata.loadState(inFlight);
    expect(d.bus.read8(STATUS)).toBe(0x51);
    expect(d.bus.read8(ERROR)).toBe(0x04);

    const c = await setup();
    const before = c.ata.saveState();
    expect(() => c.ata.loadState({ ...saved, remaining: 5000 })).toThrow(DeviceError);
    expect(() => c.ata.loadState({ ...saved, pos: 9999 })).toThrow(DeviceError);
    expect(() => c.ata.loadState({ ...saved, multiple: 3 })).toThrow(/multiple/);
    expect(() => c.ata.loadState({ ...saved, version: 7 })).toThrow(DeviceError);
    expect(c.ata.saveState()).toEqual(before);
  });
});
