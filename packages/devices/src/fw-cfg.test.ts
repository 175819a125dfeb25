import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { DeviceError } from './errors.js';
import {
  E820_RAM,
  E820_RESERVED,
  FW_CFG_DMA_CTL_READ,
  FW_CFG_DMA_CTL_SELECT,
  FW_CFG_DMA_CTL_SKIP,
  FW_CFG_DMA_CTL_WRITE,
  FW_CFG_FILE_DIR,
  FW_CFG_IO_BASE,
  FW_CFG_IO_SIZE,
  FW_CFG_KERNEL_SIZE,
  FW_CFG_RAM_SIZE,
  FwCfg,
} from './fw-cfg.js';
import { IoBus } from './io-bus.js';

const SEL = FW_CFG_IO_BASE;
const DATA = FW_CFG_IO_BASE + 1;
const DMA_HI = FW_CFG_IO_BASE + 4;
const DMA_LO = FW_CFG_IO_BASE + 8;

function setup(withDma = true) {
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  const cfg = new FwCfg(withDma ? { memory } : {});
  const bus = new IoBus();
  bus.register('fw-cfg', FW_CFG_IO_BASE, FW_CFG_IO_SIZE, cfg);
  return { memory, cfg, bus };
}

function readItem(bus: IoBus, selector: number, n: number): number[] {
  bus.write16(SEL, selector);
  return Array.from({ length: n }, () => bus.read8(DATA));
}

const swap = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

/** Write a FWCfgDmaAccess at 0x1000 and ring the doorbell as SeaBIOS does (big-endian halves). */
function dma(bus: IoBus, memory: PhysicalMemory, control: number, length: number, target: number): number {
  const view = new DataView(new ArrayBuffer(16));
  view.setUint32(0, control, false);
  view.setUint32(4, length, false);
  view.setUint32(12, target, false);
  memory.writeBytes(0x1000, new Uint8Array(view.buffer));
  bus.write32(DMA_HI, swap(0));
  bus.write32(DMA_LO, swap(0x1000));
  const back = new Uint8Array(4);
  memory.readBytes(0x1000, back);
  return new DataView(back.buffer).getUint32(0, false);
}

describe('FwCfg', () => {
  it('answers the signature, the feature ID and the DMA register signature', () => {
    const { bus } = setup();
    expect(String.fromCharCode(...readItem(bus, 0, 4))).toBe('QEMU');
    expect(readItem(bus, 1, 4)).toEqual([3, 0, 0, 0]);
    expect(bus.read8(DATA)).toBe(0); // past the end
    const sig = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => bus.read8(DMA_HI + i));
    expect(String.fromCharCode(...sig)).toBe('QEMU CFG');
    const noDma = setup(false);
    expect(readItem(noDma.bus, 1, 4)).toEqual([1, 0, 0, 0]);
  });

  it('serves the RAM size and a sorted file directory with e820 and bootorder', () => {
    const { bus, cfg } = setup();
    cfg.configure({
      ramSize: 0x1_2000_0000,
      bootDevice: 'c',
      e820: [{ address: 0, length: 0x9fc00, type: E820_RAM }, { address: 0xfffc0000, length: 0x40000, type: E820_RESERVED }],
      bootOrder: ['/pci@i0cf8/ide@1,1/drive@0/disk@0'],
    });
    const zz = cfg.addFile('etc/zz', new Uint8Array([1, 2, 3]));
    expect(readItem(bus, FW_CFG_RAM_SIZE, 8)).toEqual([0, 0, 0, 0x20, 1, 0, 0, 0]);
    const head = readItem(bus, FW_CFG_FILE_DIR, 4 + 3 * 64);
    expect(head.slice(0, 4)).toEqual([0, 0, 0, 3]);
    const names = [0, 1, 2].map((i) => String.fromCharCode(...head.slice(4 + 64 * i + 8, 4 + 64 * i + 64)).replace(/\0+$/, ''));
    expect(names).toEqual(['bootorder', 'etc/e820', 'etc/zz']);
    const e820 = head.slice(4 + 64, 4 + 128);
    expect(e820.slice(0, 4)).toEqual([0, 0, 0, 40]);
    const e820Selector = (e820[4] << 8) | e820[5];
    const table = readItem(bus, e820Selector, 40);
    expect(table.slice(8, 12)).toEqual([0x00, 0xfc, 0x09, 0]);
    expect(table[16]).toBe(E820_RAM);
    expect(table.slice(20, 24)).toEqual([0, 0, 0xfc, 0xff]);
    expect((head[4 + 128 + 4] << 8) | head[4 + 128 + 5]).toBe(zz);
  });

  it('DMA reads select, copy, zero-fill past the end, skip, and refuse writes with the error bit', () => {
    const { bus, cfg, memory } = setup();
    const sel = cfg.addFile('etc/blob', new Uint8Array([10, 20, 30, 40, 50]));
    memory.writeBytes(0x2000, new Uint8Array(8).fill(0xee));
    expect(dma(bus, memory, (sel << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 1, 0)).toBe(0);
    expect(dma(bus, memory, FW_CFG_DMA_CTL_READ, 6, 0x2000)).toBe(0);
    const got = new Uint8Array(8);
    memory.readBytes(0x2000, got);
    expect([...got]).toEqual([20, 30, 40, 50, 0, 0, 0xee, 0xee]);
    expect(dma(bus, memory, FW_CFG_DMA_CTL_WRITE, 4, 0x2000)).toBe(1);
    // The traditional interface sees the same selection state.
    expect(readItem(bus, sel, 2)).toEqual([10, 20]);
  });

  it('holds the -kernel items and refuses bad selectors and file names', () => {
    const { bus, cfg } = setup();
    cfg.setLinuxBoot({ setup: new Uint8Array(0x800), kernel: new Uint8Array(0x12345), cmdline: 'console=ttyS0', setupAddr: 0x90000, kernelAddr: 0x100000, cmdlineAddr: 0x20000 });
    expect(readItem(bus, FW_CFG_KERNEL_SIZE, 4)).toEqual([0x45, 0x23, 0x01, 0]);
    expect(() => cfg.setItem(FW_CFG_FILE_DIR, new Uint8Array(1))).toThrow(DeviceError);
    expect(() => cfg.setItem(0x4001, new Uint8Array(1))).toThrow(DeviceError);
    expect(() => cfg.addFile('x'.repeat(56), new Uint8Array(1))).toThrow(/printable/);
  });

  it('saves the selection and refuses hostile state', () => {
    const { bus, cfg } = setup();
    readItem(bus, 0, 2);
    const saved = cfg.saveState();
    const other = setup();
    other.cfg.loadState(saved);
    expect(other.bus.read8(DATA)).toBe('M'.charCodeAt(0));
    expect(() => other.cfg.loadState({ ...saved, selector: 0x10000 })).toThrow(DeviceError);
    expect(other.bus.read8(DATA)).toBe('U'.charCodeAt(0));
  });
});
