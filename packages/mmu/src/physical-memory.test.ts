import { describe, expect, it } from 'vitest';
import { KIND_MMIO, KIND_RAM, KIND_ROM, KIND_UNMAPPED, MMIO_SIZE_16, MMIO_SIZE_32, MMIO_SIZE_8 } from './constants.js';
import { MemoryError } from './errors.js';
import type { MmioHandler } from './mmio.js';
import { PhysicalMemory } from './physical-memory.js';

const MiB = 1 << 20;

/** A 32-bit register file that records every call it gets. */
function recordingDevice(sizes: number): MmioHandler & { log: string[]; regs: Uint32Array } {
  const regs = new Uint32Array(1024);
  const log: string[] = [];
  return {
    sizes,
    log,
    regs,
    read8: (o) => (log.push(`r8 ${o}`), (regs[o >>> 2] >>> ((o & 3) * 8)) & 0xff),
    read16: (o) => (log.push(`r16 ${o}`), (regs[o >>> 2] >>> ((o & 2) * 8)) & 0xffff),
    read32: (o) => (log.push(`r32 ${o}`), regs[o >>> 2]),
    write8: (o, v) => void log.push(`w8 ${o} ${v.toString(16)}`),
    write16: (o, v) => void log.push(`w16 ${o} ${v.toString(16)}`),
    write32: (o, v) => void log.push(`w32 ${o} ${(v >>> 0).toString(16)}`),
  };
}

describe('PhysicalMemory RAM', () => {
  it('reads back what was written at every width, little-endian', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    m.write32(0x100, 0x12345678);
    expect(m.read8(0x100)).toBe(0x78);
    expect(m.read16(0x102)).toBe(0x1234);
    expect(m.read32(0x100)).toBe(0x12345678);
    m.write16(0x201, 0xbeef);
    expect(m.read8(0x201)).toBe(0xef);
    expect(m.read8(0x202)).toBe(0xbe);
    m.write32(0x303, 0xdeadbeef);
    expect(m.read32(0x303)).toBe(0xdeadbeef | 0);
    expect(m.read16(0x305)).toBe(0xdead);
  });

  it('returns 32-bit reads as signed int32 and 8/16-bit reads unsigned', () => {
    const m = new PhysicalMemory({ ramSize: 4096 });
    m.write32(0, 0xffffffff);
    expect(m.read32(0)).toBe(-1);
    expect(m.read16(0)).toBe(0xffff);
    expect(m.read8(0)).toBe(0xff);
  });

  it('reads all-ones and ignores writes where nothing is mapped, including at and above 4 GiB', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    expect(m.kindAt(MiB)).toBe(KIND_UNMAPPED);
    m.write32(MiB, 0);
    expect(m.read32(MiB)).toBe(-1);
    expect(m.read16(MiB + 6)).toBe(0xffff);
    expect(m.read8(0x1_0000_0000)).toBe(0xff);
    expect(m.read32(0x1_2345_6000)).toBe(-1);
    expect(m.read32(0xffff_fffe)).toBe(-1);
  });

  it('splits an access that crosses from RAM into unmapped space byte by byte', () => {
    const m = new PhysicalMemory({ ramSize: 4096 });
    m.write32(4094, 0x11223344);
    expect(m.read8(4094)).toBe(0x44);
    expect(m.read8(4095)).toBe(0x33);
    expect(m.read32(4094)).toBe(0xffff3344 | 0);
    expect(m.read16(4095)).toBe(0xff33);
  });

  it('allocates 3.5 GiB of RAM as one buffer and reaches its last byte', () => {
    const m = new PhysicalMemory({ ramSize: 0xe000_0000 });
    m.write32(0xdfff_fffc, 0xcafef00d);
    expect(m.read32(0xdfff_fffc)).toBe(0xcafef00d | 0);
    expect(m.ram32.length).toBe(0xe000_0000 / 4);
    expect(m.read32(0xe000_0000)).toBe(-1);
  });

  it('refuses a RAM size that is not a multiple of 4 KiB or too large, with a typed error', () => {
    expect(() => new PhysicalMemory({ ramSize: 1000 })).toThrow(MemoryError);
    try {
      new PhysicalMemory({ ramSize: 0xf000_0000 });
      expect.unreachable();
    } catch (e) {
      expect((e as MemoryError).code).toBe('InvalidArgument');
    }
  });
});

describe('PhysicalMemory ROM', () => {
  it('reads ROM bytes, ignores writes, pads the last page with 0xff and hides the RAM under it', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    m.write8(0xf0000, 0x55);
    m.mapRom(0xf0000, Uint8Array.of(0xea, 0x5b, 0xe0), 'bios');
    expect(m.kindAt(0xf0000)).toBe(KIND_ROM);
    expect(m.read8(0xf0000)).toBe(0xea);
    expect(m.read32(0xf0000)).toBe(0xffe05bea | 0);
    m.write8(0xf0000, 0);
    m.write32(0xf0001, 0);
    expect(m.read16(0xf0000)).toBe(0x5bea);
    m.unmap(0xf0000);
    expect(m.kindAt(0xf0000)).toBe(KIND_RAM);
    expect(m.read8(0xf0000)).toBe(0x55);
  });

  it('maps ROM above RAM, as at the top of the 4 GiB space', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    const image = new Uint8Array(65536);
    image[0xfff0] = 0xea;
    m.mapRom(0xffff_0000, image);
    expect(m.read8(0xffff_fff0)).toBe(0xea);
    expect(m.regions()).toEqual([{ name: 'rom', kind: 'rom', base: 0xffff_0000, size: 65536 }]);
  });

  it('refuses overlapping regions and misaligned ones', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    m.mapRom(0xf0000, new Uint8Array(0x10000), 'bios');
    expect(() => m.mapRom(0xff000, new Uint8Array(0x2000), 'other')).toThrow(/overlaps bios/);
    expect(() => m.mapRom(0x1234, new Uint8Array(16))).toThrow(MemoryError);
    expect(() => m.mapMmio(0xffff_f000, 0x2000, recordingDevice(MMIO_SIZE_32))).toThrow(/4 GiB/);
    expect(() => m.unmap(0x1000)).toThrow(/no ROM or MMIO region/);
  });
});

describe('PhysicalMemory MMIO', () => {
  it('passes offsets relative to the region and calls the declared width directly', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    const dev = recordingDevice(MMIO_SIZE_32);
    dev.regs[1] = 0xaabbccdd;
    m.mapMmio(0xfee0_0000, 4096, dev, 'apic');
    expect(m.kindAt(0xfee0_0004)).toBe(KIND_MMIO);
    expect(m.read32(0xfee0_0004)).toBe(0xaabbccdd | 0);
    m.write32(0xfee0_0010, 0x12345678);
    expect(dev.log).toEqual(['r32 4', 'w32 16 12345678']);
  });

  it('widens narrow accesses to a 32-bit-only device: reads extract, writes shift into place', () => {
    const m = new PhysicalMemory({ ramSize: 0 });
    const dev = recordingDevice(MMIO_SIZE_32);
    dev.regs[2] = 0x44332211;
    m.mapMmio(0xfec0_0000, 4096, dev);
    expect(m.read8(0xfec0_000a)).toBe(0x33);
    expect(m.read16(0xfec0_000a)).toBe(0x4433);
    m.write8(0xfec0_0009, 0xab);
    m.write16(0xfec0_0012, 0xbeef);
    expect(dev.log).toEqual(['r32 8', 'r32 8', 'w32 8 ab00', 'w32 16 beef0000']);
  });

  it('splits wide and unaligned accesses to an 8-bit device into bytes, little-endian', () => {
    const m = new PhysicalMemory({ ramSize: 0 });
    const dev = recordingDevice(MMIO_SIZE_8);
    dev.regs[0] = 0x04030201;
    dev.regs[1] = 0x08070605;
    m.mapMmio(0xa0000, 0x20000, dev, 'vga');
    expect(m.read32(0xa0001) >>> 0).toBe(0x05040302);
    dev.log.length = 0;
    m.write32(0xa0003, 0x11223344);
    expect(dev.log).toEqual(['w8 3 44', 'w8 4 33', 'w8 5 22', 'w8 6 11']);
  });

  it('splits an unaligned 32-bit access to a 32-bit device into two aligned reads', () => {
    const m = new PhysicalMemory({ ramSize: 0 });
    const dev = recordingDevice(MMIO_SIZE_32);
    dev.regs[0] = 0x44332211;
    dev.regs[1] = 0x88776655;
    m.mapMmio(0xe000_0000, 4096, dev);
    expect(m.read32(0xe000_0002) >>> 0).toBe(0x66554433);
    expect(m.read16(0xe000_0003)).toBe(0x5544);
  });

  it('serves a 16-bit-only device: 32-bit accesses split in two, bytes widened, odd offsets split', () => {
    const m = new PhysicalMemory({ ramSize: 0 });
    const dev = recordingDevice(MMIO_SIZE_16);
    dev.regs[0] = 0x44332211;
    m.mapMmio(0xe000_0000, 4096, dev);
    expect(m.read32(0xe000_0000) >>> 0).toBe(0x44332211);
    expect(m.read8(0xe000_0003)).toBe(0x44);
    expect(m.read16(0xe000_0001)).toBe(0x3322);
    dev.log.length = 0;
    m.write32(0xe000_0004, 0xaabbccdd);
    m.write8(0xe000_0009, 0x7f);
    expect(dev.log).toEqual(['w16 4 ccdd', 'w16 6 aabb', 'w16 8 7f00']);
  });

  it('refuses a handler that declares a width it does not implement', () => {
    const m = new PhysicalMemory({ ramSize: 0 });
    const bad: MmioHandler = { sizes: MMIO_SIZE_8, read32: () => 0, write32: () => undefined };
    expect(() => m.mapMmio(0xe000_0000, 4096, bad, 'bad')).toThrow(/lacks read8\/write8/);
    expect(() => m.mapMmio(0xe000_0000, 4096, { sizes: 9 }, 'bad')).toThrow(/invalid access sizes/);
  });

  it('splits an access that crosses from RAM into an MMIO page', () => {
    const m = new PhysicalMemory({ ramSize: 0x2000 });
    const dev = recordingDevice(MMIO_SIZE_8);
    dev.regs[0] = 0xccbbaa;
    m.mapMmio(0x1000, 0x1000, dev);
    m.write16(0xffe, 0x2211);
    expect(m.read32(0xffe) >>> 0).toBe(0xbbaa2211);
  });
});

describe('PhysicalMemory code pages', () => {
  it('unmarks a code page on the first write to it and reports the write after it landed', () => {
    const m = new PhysicalMemory({ ramSize: MiB });
    const seen: string[] = [];
    m.setCodeWriteHandler((addr, size) => seen.push(`${addr.toString(16)}/${size}:${m.read8(addr)}`));
    const changed: number[] = [];
    m.addPageListener({ physicalPageChanged: (p) => changed.push(p) });
    m.markCode(0x7);
    expect(m.isCode(0x7)).toBe(true);
    expect(changed).toEqual([7]);
    m.write8(0x7010, 9);
    expect(seen).toEqual(['7010/1:9']);
    expect(m.isCode(0x7)).toBe(false);
    m.write8(0x7011, 1);
    expect(seen.length).toBe(1);
    m.markCode(0x7);
    m.write32(0x7ffe, 0x01020304);
    expect(seen[1]).toBe('7ffe/1:4');
  });

  it('ignores code marks on pages that are not RAM', () => {
    const m = new PhysicalMemory({ ramSize: 4096 });
    m.markCode(0x10);
    expect(m.isCode(0x10)).toBe(false);
  });
});
