import { PhysicalMemory } from '@tsvm/mmu';
import { MemoryBlockDevice } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import { Dma8237 } from './dma8237.js';
import { DeviceError } from './errors.js';
import { FDC_DIR_PORT, FDC_IO_BASE, FDC_IO_SIZE, FloppyController } from './floppy.js';
import { IoBus } from './io-bus.js';

const DOR = 0x3f2;
const MSR = 0x3f4;
const FIFO = 0x3f5;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function setup(readOnly = false) {
  const image = new MemoryBlockDevice(1_474_560, { readOnly });
  if (!readOnly) for (let s = 0; s < 40; s++) await image.write(s * 512, new Uint8Array(512).fill(s + 1));
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  const dma = new Dma8237(memory);
  let irq = false;
  const fdc = new FloppyController({ set: (l) => (irq = l) }, dma, { drives: [image] });
  const bus = new IoBus();
  bus.register('fdc', FDC_IO_BASE, FDC_IO_SIZE, fdc.ports);
  bus.register('fdc-dir', FDC_DIR_PORT, 1, fdc.dirPort);
  bus.register('dma1', 0x00, 16, dma.slave);
  bus.register('dma-page', 0x80, 16, dma.pages);
  bus.register('dma2', 0xc0, 32, dma.master);
  return { bus, image, memory, dma, fdc, irq: () => irq };
}

function send(bus: IoBus, ...bytes: number[]): void {
  for (const b of bytes) {
    expect(bus.read8(MSR) & 0xc0).toBe(0x80); // RQM, CPU to controller
    bus.write8(FIFO, b);
  }
}

function results(bus: IoBus): number[] {
  const out: number[] = [];
  while ((bus.read8(MSR) & 0xc0) === 0xc0) out.push(bus.read8(FIFO));
  return out;
}

/** Program DMA channel 2 as a BIOS does: mask, mode, address and page, count - 1, unmask. */
function dmaChannel2(bus: IoBus, mode: number, address: number, bytes: number): void {
  bus.write8(0x0a, 0x06);
  bus.write8(0x0c, 0);
  bus.write8(0x0b, mode);
  bus.write8(0x04, address & 0xff);
  bus.write8(0x04, (address >>> 8) & 0xff);
  bus.write8(0x81, address >>> 16);
  bus.write8(0x05, (bytes - 1) & 0xff);
  bus.write8(0x05, (bytes - 1) >>> 8);
  bus.write8(0x0a, 0x02);
}

async function resetController(bus: IoBus, irq: () => boolean): Promise<void> {
  bus.write8(DOR, 0x00);
  bus.write8(DOR, 0x1c);
  expect(irq()).toBe(true);
  for (let d = 0; d < 4; d++) {
    send(bus, 0x08);
    const r = results(bus);
    expect([r.length, r[0]]).toEqual([2, 0xc0 | d]); // ST0 and the drive's present cylinder
  }
  expect(irq()).toBe(false);
}

describe('FloppyController and Dma8237', () => {
  it('resets with four ready-changed senses, answers VERSION and recalibrates', async () => {
    const { bus, irq } = await setup();
    await resetController(bus, irq);
    send(bus, 0x08);
    expect(results(bus)).toEqual([0x80]);
    send(bus, 0x10);
    expect(results(bus)).toEqual([0x90]);
    expect(bus.read8(FDC_DIR_PORT) & 0x80).toBe(0x80); // disk changed until a seek
    send(bus, 0x07, 0x00);
    expect(irq()).toBe(true);
    send(bus, 0x08);
    expect(results(bus)).toEqual([0x20, 0]);
    expect(bus.read8(FDC_DIR_PORT) & 0x80).toBe(0);
    send(bus, 0x0f, 0x00, 5);
    send(bus, 0x08);
    expect(results(bus)).toEqual([0x20, 5]);
    send(bus, 0x04, 0x00);
    expect(results(bus)).toEqual([0x20]); // ready, not track 0, writable
  });

  it('READ DATA multi-track moves sectors by DMA channel 2 until terminal count', async () => {
    const { bus, memory, irq } = await setup();
    await resetController(bus, irq);
    dmaChannel2(bus, 0x46, 0x1000, 1024);
    // C0 H1 R17..: LBA 34 and 35 (the last two sectors of head 1).
    send(bus, 0xe6, 0x04, 0, 1, 17, 2, 18, 0x1b, 0xff);
    expect(bus.read8(MSR) & 0x10).toBe(0x10);
    await settle();
    expect(irq()).toBe(true);
    expect(results(bus)).toEqual([0x04, 0, 0, 1, 0, 1, 2]);
    expect(memory.read8(0x1000)).toBe(35);
    expect(memory.read8(0x13ff)).toBe(36);
    expect(bus.read8(0x08) & 0x04).toBe(0x04); // channel 2 reached terminal count
    // A count smaller than the track ends mid-track: R is the next sector.
    dmaChannel2(bus, 0x46, 0x2000, 512);
    send(bus, 0x66, 0x00, 0, 0, 3, 2, 18, 0x1b, 0xff);
    await settle();
    expect(results(bus)).toEqual([0x00, 0, 0, 0, 0, 4, 2]);
    expect(memory.read8(0x2000)).toBe(3);
  });

  it('WRITE DATA gathers from memory; a read-only image is write protected', async () => {
    const { bus, memory, image, irq } = await setup();
    await resetController(bus, irq);
    memory.writeBytes(0x3000, new Uint8Array(512).fill(0xab));
    dmaChannel2(bus, 0x4a, 0x3000, 512);
    send(bus, 0x45, 0x00, 1, 0, 2, 2, 18, 0x1b, 0xff); // C1 H0 R2 = LBA 37
    await settle();
    expect(results(bus)[0] & 0xc0).toBe(0);
    const back = new Uint8Array(512);
    await image.read(37 * 512, back);
    expect(back.every((b) => b === 0xab)).toBe(true);

    const ro = await setup(true);
    await resetController(ro.bus, ro.irq);
    dmaChannel2(ro.bus, 0x4a, 0x3000, 512);
    send(ro.bus, 0x45, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    const r = results(ro.bus);
    expect([r[0] & 0xc0, r[1]]).toEqual([0x40, 0x02]);
    send(ro.bus, 0x04, 0x00);
    expect(results(ro.bus)[0] & 0x40).toBe(0x40);
  });

  it('refuses non-standard images, survives random traffic and restores its state', async () => {
    const { bus, fdc, irq } = await setup();
    expect(() => fdc.insert(0, new MemoryBlockDevice(1000))).toThrow(DeviceError);
    let seed = 3;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 5000; i++) {
      const port = [0x3f2, 0x3f4, 0x3f5, 0x3f5, 0x3f7, 0x00 + (rand() & 15), 0x81][rand() % 7];
      if (rand() & 1) bus.write8(port, rand() & 0xff);
      else bus.read8(port);
      if ((i & 255) === 0) await settle();
    }
    await settle();
    await resetController(bus, irq);
    send(bus, 0x0f, 0x00, 9);
    const saved = fdc.saveState();
    const other = await setup();
    other.fdc.loadState(saved);
    other.bus.write8(DOR, 0x1c);
    send(other.bus, 0x08);
    expect(results(other.bus)).toEqual([0x20, 9]);
    expect(() => other.fdc.loadState({ ...saved, seekSense: 7 })).toThrow(DeviceError);
  });
});
