import { PhysicalMemory } from '@tsvm/mmu';
import { MemoryBlockDevice } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import { AtaDisk } from './ata-disk.js';
import { BM_ST_ACTIVE, BM_ST_ERROR, BM_ST_INTERRUPT } from './bus-master-dma.js';
import { IDE_PRIMARY, IdeChannel } from './ide-controller.js';
import { IoBus } from './io-bus.js';
import { PCI_BAR0, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER } from './pci-function.js';
import { PIIX3_IDE_BMIBA_BAR, Piix3Ide } from './piix3-ide.js';
import { DeviceError } from './errors.js';

const BASE = IDE_PRIMARY.commandBase;
const [COUNT, LBA0, LBA1, LBA2, DEVICE, CMD] = [2, 3, 4, 5, 6, 7].map((o) => BASE + o);
const BMIBA = 0xc000;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function setup(master = true) {
  const disk = new MemoryBlockDevice(4096 * 512);
  const data = new Uint8Array(64 * 512).map((_, i) => (i * 31 + (i >>> 9)) & 0xff);
  await disk.write(0, data);
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  let irq = false;
  const primary = new IdeChannel({ irq: { set: (l) => (irq = l) }, master: new AtaDisk(disk) });
  const secondary = new IdeChannel({ irq: { set: () => {} }, name: 'ide1' });
  const ide = new Piix3Ide({ primary, secondary, memory });
  const bars: [number, number][] = [];
  ide.onBarChange = (i, a) => bars.push([i, a]);
  ide.writeConfig(PCI_BAR0 + 4 * PIIX3_IDE_BMIBA_BAR, 4, BMIBA);
  ide.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_IO | (master ? PCI_COMMAND_MASTER : 0));
  const bus = new IoBus();
  bus.register('ide0', BASE, 8, primary.commandBlock);
  bus.register('bmide', BMIBA, 16, ide.ports);
  return { bus, disk, data, memory, ide, bars, irq: () => irq };
}

/** A PRD table at 0x1000 with the given (address, byteCount) entries. */
function prd(memory: PhysicalMemory, entries: [number, number][]): void {
  entries.forEach(([address, count], i) => {
    memory.write32(0x1000 + 8 * i, address);
    memory.write32(0x1004 + 8 * i, (count & 0xffff) | (i === entries.length - 1 ? 0x8000_0000 : 0));
  });
}

function command(bus: IoBus, lba: number, count: number, cmd: number): void {
  bus.write8(COUNT, count);
  bus.write8(LBA0, lba & 0xff);
  bus.write8(LBA1, (lba >>> 8) & 0xff);
  bus.write8(LBA2, (lba >>> 16) & 0xff);
  bus.write8(DEVICE, 0xe0);
  bus.write8(CMD, cmd);
}

describe('bus-master DMA (SFF-8038i) on the PIIX3 IDE function', () => {
  it('is class 0101h with programming interface 80h and places BAR4 in I/O space', async () => {
    const { ide, bars } = await setup();
    expect(ide.readConfig(0, 4)).toBe(0x7010_8086);
    expect(ide.readConfig(0x08, 4) >>> 8).toBe(0x010180);
    expect(bars).toEqual([[4, BMIBA]]);
    ide.writeConfig(PCI_BAR0 + 16, 4, 0xffff_ffff);
    expect(ide.readConfig(PCI_BAR0 + 16, 4)).toBe(0xffff_fff1); // 16 ports
  });

  it('READ DMA scatters sectors over the PRD entries, then interrupts with active clear', async () => {
    const { bus, data, memory, irq } = await setup();
    prd(memory, [[0x20000, 1024], [0x30000, 512 + 1024]]);
    bus.write32(BMIBA + 4, 0x1000);
    expect(bus.read32(BMIBA + 4)).toBe(0x1000);
    command(bus, 2, 5, 0xc8);
    expect(bus.read8(CMD) & 0x80).toBe(0x80);
    await settle();
    expect(irq()).toBe(false); // waits for the start bit
    bus.write8(BMIBA, 0x09); // start, write to memory
    expect(bus.read8(BMIBA + 2) & BM_ST_ACTIVE).toBe(BM_ST_ACTIVE);
    await settle();
    expect(irq()).toBe(true);
    expect(bus.read8(BMIBA + 2) & 7).toBe(BM_ST_INTERRUPT);
    const a = new Uint8Array(1024);
    const b = new Uint8Array(1536);
    memory.readBytes(0x20000, a);
    memory.readBytes(0x30000, b);
    expect(a).toEqual(data.subarray(1024, 2048));
    expect(b).toEqual(data.subarray(2048, 3584));
    expect(bus.read8(CMD)).toBe(0x50);
    bus.write8(BMIBA + 2, BM_ST_INTERRUPT);
    expect(bus.read8(BMIBA + 2) & BM_ST_INTERRUPT).toBe(0);
  });

  it('keeps active set when the PRD table is larger than the transfer', async () => {
    const { bus, memory } = await setup();
    prd(memory, [[0x20000, 0]]); // 64 KiB
    bus.write32(BMIBA + 4, 0x1000);
    bus.write8(BMIBA, 0x09);
    command(bus, 0, 1, 0xc8);
    await settle();
    expect(bus.read8(BMIBA + 2) & 7).toBe(BM_ST_INTERRUPT | BM_ST_ACTIVE);
  });

  it('WRITE DMA EXT gathers from memory onto the disk', async () => {
    const { bus, disk, memory } = await setup();
    const src = new Uint8Array(1024).map((_, i) => (255 - i) & 0xff);
    memory.writeBytes(0x40000, src);
    prd(memory, [[0x40000, 1024]]);
    bus.write32(BMIBA + 4, 0x1000);
    bus.write8(DEVICE, 0x40);
    bus.write8(COUNT, 0); bus.write8(COUNT, 2);
    bus.write8(LBA0, 0); bus.write8(LBA0, 100);
    bus.write8(LBA1, 0); bus.write8(LBA1, 0);
    bus.write8(LBA2, 0); bus.write8(LBA2, 0);
    bus.write8(BMIBA, 0x01); // start, read from memory
    bus.write8(CMD, 0x35);
    await settle();
    await settle();
    const back = new Uint8Array(1024);
    await disk.read(100 * 512, back);
    expect(back).toEqual(src);
    expect(bus.read8(BMIBA + 2) & 7).toBe(BM_ST_INTERRUPT);
  });

  it('a PRD table shorter than the transfer ends with the error bit and an aborted command', async () => {
    const { bus, memory } = await setup();
    prd(memory, [[0x20000, 512]]);
    bus.write32(BMIBA + 4, 0x1000);
    bus.write8(BMIBA, 0x09);
    command(bus, 0, 4, 0xc8);
    await settle();
    expect(bus.read8(BMIBA + 2) & 7).toBe(BM_ST_ERROR | BM_ST_INTERRUPT);
    expect(bus.read8(CMD)).toBe(0x51);
  });

  it('moves nothing until the PCI command register allows bus mastering', async () => {
    const { bus, memory, ide, irq } = await setup(false);
    prd(memory, [[0x20000, 512]]);
    bus.write32(BMIBA + 4, 0x1000);
    bus.write8(BMIBA, 0x09);
    command(bus, 0, 1, 0xc8);
    await settle();
    expect(irq()).toBe(false);
    expect(memory.read32(0x20000)).toBe(0);
    ide.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    bus.write8(BMIBA, 0x00);
    bus.write8(BMIBA, 0x09);
    await settle();
    expect(irq()).toBe(true);
    expect(memory.read32(0x20000)).not.toBe(0);
  });

  it('saves and restores the bus master registers, refusing a misaligned PRD pointer', async () => {
    const { bus, ide } = await setup();
    bus.write32(BMIBA + 12, 0x5678);
    bus.write8(BMIBA + 10, 0x60);
    const saved = ide.saveBusMasterState();
    const other = await setup();
    other.ide.loadBusMasterState(saved);
    expect(other.bus.read32(BMIBA + 12)).toBe(0x5678);
    expect(other.bus.read8(BMIBA + 10)).toBe(0x60);
    const bad = { version: 1, busMasters: [{ command: 0, status: 0, prdTable: 0 }, { command: 0, status: 0, prdTable: 2 }] };
    expect(() => other.ide.loadBusMasterState(bad)).toThrow(DeviceError);
    expect(other.bus.read32(BMIBA + 12)).toBe(0x5678);
  });
});
