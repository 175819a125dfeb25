import { PhysicalMemory } from '@tsvm/mmu';
import { MemoryBlockDevice } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import { AtapiCdrom, CD_SECTOR } from './atapi-cdrom.js';
import { AtaDisk } from './ata-disk.js';
import { BusMasterDma } from './bus-master-dma.js';
import { DeviceError } from './errors.js';
import { IDE_SECONDARY, IdeChannel } from './ide-controller.js';
import { IoBus } from './io-bus.js';

const BASE = IDE_SECONDARY.commandBase;
const [DATA, FEATURE, COUNT, LBA0, LBA1, LBA2, DEVICE, CMD] = [0, 1, 2, 3, 4, 5, 6, 7].map((o) => BASE + o);
const STATUS = CMD;
const ERROR = FEATURE;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** An image whose sector n starts with "SECTn" and is filled with n. */
async function image(sectors: number): Promise<MemoryBlockDevice> {
  const dev = new MemoryBlockDevice(sectors * CD_SECTOR);
  for (let n = 0; n < sectors; n++) {
    const s = new Uint8Array(CD_SECTOR).fill(n & 0xff);
    s.set(new TextEncoder().encode(`SECT${n}`));
    await dev.write(n * CD_SECTOR, s);
  }
  return dev;
}

async function setup(options: { sectors?: number; empty?: boolean; master?: boolean } = {}) {
  const media = options.empty === true ? undefined : await image(options.sectors ?? 40);
  const cd = new AtapiCdrom(media, { vendor: 'ACME', product: 'CD DRIVE' });
  let irq = false;
  const channel = new IdeChannel({ irq: { set: (l) => (irq = l) }, name: 'ide1' });
  if (options.master === true) channel.attach(0, new AtaDisk(new MemoryBlockDevice(1 << 20)));
  channel.attach(options.master === true ? 1 : 0, cd);
  const bus = new IoBus();
  bus.register('ide1', BASE, 8, channel.commandBlock);
  return { bus, cd, channel, media, irq: () => irq };
}

/** Issue PACKET with `cdb` and byte count limit `limit`; returns the first data phase state. */
function packet(bus: IoBus, cdb: number[], limit = 0xfffe, dma = false): void {
  bus.write8(FEATURE, dma ? 1 : 0);
  bus.write8(LBA1, limit & 0xff);
  bus.write8(LBA2, limit >>> 8);
  bus.write8(CMD, 0xa0);
  const p = new Uint8Array(12);
  p.set(cdb);
  for (let i = 0; i < 12; i += 2) bus.write16(DATA, p[i] | (p[i + 1] << 8));
}

/** Read every DRQ block of the data-in phase (waiting for disk reads); returns the bytes and block sizes. */
async function dataIn(bus: IoBus): Promise<{ data: number[]; blocks: number[] }> {
  const data: number[] = [];
  const blocks: number[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    await settle();
    const st = bus.read8(STATUS);
    if ((st & 0x80) !== 0) continue;
    if ((st & 0x08) === 0) break;
    expect(bus.read8(COUNT) & 3).toBe(2); // IO=1, CoD=0
    const n = bus.read8(LBA1) | (bus.read8(LBA2) << 8);
    blocks.push(n);
    for (let i = 0; i < n; i += 2) { const w = bus.read16(DATA); data.push(w & 0xff, w >>> 8); }
  }
  return { data, blocks };
}

function sense(bus: IoBus): Promise<number[]> {
  packet(bus, [0x03, 0, 0, 0, 18]);
  return dataIn(bus).then((r) => [r.data[2] & 0xf, r.data[12]]);
}

describe('AtapiCdrom', () => {
  it('posts the packet signature; IDENTIFY DEVICE aborts and IDENTIFY PACKET DEVICE answers', async () => {
    const { bus } = await setup({ master: true });
    bus.write8(DEVICE, 0xb0);
    expect([bus.read8(COUNT), bus.read8(LBA0), bus.read8(LBA1), bus.read8(LBA2)]).toEqual([1, 1, 0x14, 0xeb]);
    expect(bus.read8(STATUS)).toBe(0);
    bus.write8(CMD, 0xec);
    expect(bus.read8(STATUS) & 0x01).toBe(1);
    expect(bus.read8(ERROR)).toBe(0x04);
    expect([bus.read8(LBA1), bus.read8(LBA2)]).toEqual([0x14, 0xeb]);
    bus.write8(CMD, 0xa1);
    const w: number[] = [];
    for (let i = 0; i < 256; i++) w.push(bus.read16(DATA));
    expect(w[0]).toBe(0x85c0);
    expect(bus.read8(STATUS)).toBe(0x50);
  });

  it('INQUIRY, READ CAPACITY and TEST UNIT READY', async () => {
    const { bus, irq } = await setup({ sectors: 40 });
    packet(bus, [0x12, 0, 0, 0, 36]);
    expect(irq()).toBe(true);
    const inq = (await dataIn(bus)).data;
    expect(inq[0]).toBe(0x05);
    expect(inq[1]).toBe(0x80);
    expect(String.fromCharCode(...inq.slice(8, 32))).toBe('ACME    CD DRIVE        ');
    expect(bus.read8(COUNT) & 3).toBe(3);
    expect(bus.read8(STATUS)).toBe(0x50);
    packet(bus, [0x25]);
    const cap = (await dataIn(bus)).data;
    expect(cap).toEqual([0, 0, 0, 39, 0, 0, 8, 0]);
    packet(bus, [0x00]);
    expect(bus.read8(STATUS)).toBe(0x50);
  });

  it('READ(10) serves 2048-byte sectors asynchronously within the byte count limit', async () => {
    const { bus } = await setup({ sectors: 40 });
    packet(bus, [0x28, 0, 0, 0, 0, 3, 0, 0, 2]); // LBA 3, 2 sectors
    expect(bus.read8(STATUS) & 0x80).toBe(0x80);
    const { data, blocks } = await dataIn(bus);
    expect(blocks).toEqual([4096]);
    expect(String.fromCharCode(...data.slice(0, 5))).toBe('SECT3');
    expect(String.fromCharCode(...data.slice(2048, 2053))).toBe('SECT4');
    expect(data[4095]).toBe(4);
    // A small limit splits the data into several DRQ blocks.
    packet(bus, [0x28, 0, 0, 0, 0, 10, 0, 0, 1], 1000);
    const small = await dataIn(bus);
    expect(small.blocks).toEqual([1000, 1000, 48]);
    expect(String.fromCharCode(...small.data.slice(0, 6))).toBe('SECT10');
  });

  it('READ(12) across chunk boundaries and past the end is ILLEGAL REQUEST', async () => {
    const { bus } = await setup({ sectors: 40 });
    packet(bus, [0xa8, 0, 0, 0, 0, 1, 0, 0, 0, 36]);
    const { data } = await dataIn(bus);
    expect(data.length).toBe(36 * 2048);
    expect(String.fromCharCode(...data.slice(35 * 2048, 35 * 2048 + 6))).toBe('SECT36');
    packet(bus, [0x28, 0, 0, 0, 0, 39, 0, 0, 2]);
    expect(bus.read8(STATUS)).toBe(0x51);
    expect(bus.read8(ERROR)).toBe(0x54);
    expect(await sense(bus)).toEqual([5, 0x21]);
    expect(await sense(bus)).toEqual([0, 0]);
  });

  it('READ TOC in LBA and MSF form, MODE SENSE(10) capabilities, GET CONFIGURATION profile', async () => {
    const { bus } = await setup({ sectors: 40 });
    packet(bus, [0x43, 0, 0, 0, 0, 0, 0, 0, 100]);
    expect((await dataIn(bus)).data).toEqual([0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xaa, 0, 0, 0, 0, 40]);
    packet(bus, [0x43, 0x02, 0, 0, 0, 0, 0, 0, 100]);
    const msf = (await dataIn(bus)).data;
    expect(msf.slice(8, 12)).toEqual([0, 0, 2, 0]); // LBA 0 = 00:02:00
    expect(msf.slice(16, 20)).toEqual([0, 0, 2, 40]);
    packet(bus, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64]);
    const mode = (await dataIn(bus)).data;
    expect(mode.length).toBe(30);
    expect((mode[0] << 8) | mode[1]).toBe(28);
    expect(mode[8]).toBe(0x2a);
    packet(bus, [0x5a, 0, 0xea]); // saved values are not supported (allocation 0 would send nothing anyway)
    expect(bus.read8(STATUS) & 1).toBe(1);
    packet(bus, [0x46, 0, 0, 0, 0, 0, 0, 0, 64]);
    const conf = (await dataIn(bus)).data;
    expect((conf[6] << 8) | conf[7]).toBe(0x0008);
  });

  it('reports NOT READY without media, UNIT ATTENTION after an insert, and honours the lock', async () => {
    const { bus, cd } = await setup({ empty: true });
    packet(bus, [0x00]);
    expect(bus.read8(ERROR) >>> 4).toBe(2);
    expect(await sense(bus)).toEqual([2, 0x3a]);
    cd.insert(await image(4));
    packet(bus, [0x00]);
    expect(await sense(bus)).toEqual([6, 0x28]);
    packet(bus, [0x00]);
    expect(bus.read8(STATUS)).toBe(0x50);
    packet(bus, [0x1e, 0, 0, 0, 1]);
    packet(bus, [0x1b, 0, 0, 0, 2]); // eject while locked
    expect(await sense(bus)).toEqual([5, 0x53]);
    expect(cd.eject()).toBe(false);
    packet(bus, [0x1e, 0, 0, 0, 0]);
    packet(bus, [0x1b, 0, 0, 0, 2]);
    expect(cd.hasMedia).toBe(false);
    packet(bus, [0xff]);
    expect(await sense(bus)).toEqual([5, 0x20]);
  });

  it('moves READ(10) data by DMA when the PACKET features ask for it', async () => {
    const { bus, channel } = await setup({ sectors: 40 });
    const memory = new PhysicalMemory({ ramSize: 1 << 20 });
    const bm = new BusMasterDma(channel, memory);
    memory.write32(0x1000, 0x10000);
    memory.write32(0x1004, 0); // 64 KiB
    memory.write32(0x1008, 0x20000);
    memory.write32(0x100c, 0x8000_0000); // 64 KiB, end of table
    bm.writePrd(0x1000);
    bm.writeCommand(0x09);
    packet(bus, [0x28, 0, 0, 0, 0, 2, 0, 0, 33], 0, true);
    for (let i = 0; i < 5; i++) await settle();
    expect(bus.read8(STATUS)).toBe(0x50);
    const got = new Uint8Array(8);
    memory.readBytes(0x20000, got);
    expect(new TextDecoder().decode(got.subarray(0, 6))).toBe('SECT34');
    memory.readBytes(0x10000, got);
    expect(new TextDecoder().decode(got.subarray(0, 5))).toBe('SECT2');
    expect(bm.status & 0x07).toBe(0x05); // interrupt; still active: the table is longer than the data
  });

  it('fuzzed packets and port accesses never throw; state round-trips and hostile state is refused', async () => {
    const { bus, cd } = await setup({ sectors: 8 });
    let seed = 99;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 300; i++) {
      packet(bus, Array.from({ length: 12 }, () => rand() & 0xff), rand() & 0xffff);
      for (let j = 0; j < 20; j++) bus.read16(DATA);
      if ((i & 15) === 0) await settle();
    }
    await dataIn(bus);
    expect(bus.read8(STATUS) & 0x88).toBe(0);
    packet(bus, [0x28, 0, 0, 0, 0, 1, 0, 0, 2], 2048);
    await settle();
    expect(bus.read8(STATUS)).toBe(0x48);
    bus.read16(DATA);
    const saved = cd.saveState();
    const other = await setup({ sectors: 8 });
    other.cd.loadState(saved);
    expect(other.bus.read8(STATUS)).toBe(0x48);
    const first: number[] = [];
    for (let i = 0; i < 1023; i++) { const w = other.bus.read16(DATA); first.push(w & 0xff, w >>> 8); }
    expect(first.slice(0, 3)).toEqual([0x43, 0x54, 0x31]); // "SECT1" from its third byte
    const rest = await dataIn(other.bus);
    expect(rest.blocks).toEqual([2048]);
    expect(String.fromCharCode(...rest.data.slice(0, 5))).toBe('SECT2');
    const fresh = await setup({ sectors: 8 });
    const before = fresh.cd.saveState();
    expect(() => fresh.cd.loadState({ ...saved, readLeft: 100 })).toThrow(DeviceError);
    expect(() => fresh.cd.loadState({ ...saved, byteLimit: 3 })).toThrow(/even/);
    expect(fresh.cd.saveState()).toEqual(before);
  });
});
