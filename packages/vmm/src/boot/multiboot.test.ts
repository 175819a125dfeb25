import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { findMultibootHeader, loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, MULTIBOOT_HEADER_MAGIC } from './multiboot.js';

const RAM = 8 << 20;

function header(flags: number, aout?: { headerAddr: number; loadAddr: number; loadEnd: number; bssEnd: number; entry: number }): Uint8Array {
  const h = new Uint8Array(aout ? 32 : 12);
  const v = new DataView(h.buffer);
  v.setUint32(0, MULTIBOOT_HEADER_MAGIC, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, (-(MULTIBOOT_HEADER_MAGIC + flags)) >>> 0, true);
  if (aout) [aout.headerAddr, aout.loadAddr, aout.loadEnd, aout.bssEnd, aout.entry].forEach((x, i) => v.setUint32(12 + i * 4, x, true));
  return h;
}

/** An ELF32 i386 executable with one PT_LOAD segment at 1 MiB (file offset 0x1000, 0x100 bytes, 0x300 in memory). */
function elfKernel(flags = 0x3): Uint8Array {
  const image = new Uint8Array(0x1100);
  const v = new DataView(image.buffer);
  image.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(24, 0x100010, true); // entry
  v.setUint32(28, 52, true); // phoff
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  v.setUint32(52, 1, true); // PT_LOAD
  v.setUint32(56, 0x1000, true); // offset
  v.setUint32(60, 0x100000, true); // vaddr
  v.setUint32(64, 0x100000, true); // paddr
  v.setUint32(68, 0x100, true); // filesz
  v.setUint32(72, 0x300, true); // memsz
  image.set(header(flags), 0x1000);
  for (let i = 0x100c; i < 0x1100; i++) image[i] = 0x90;
  return image;
}

describe('Multiboot v1', () => {
  it('finds the header only with a valid checksum, 4-byte aligned, in the first 8 KiB', () => {
    const image = new Uint8Array(8192 + 64);
    image.set(header(0), 8192);
    expect(findMultibootHeader(image)).toBeNull();
    image.set(header(0), 4096 + 2);
    expect(findMultibootHeader(image)).toBeNull();
    image.set(header(2), 100);
    expect(findMultibootHeader(image)).toEqual({ offset: 100, flags: 2 });
    const bad = header(2);
    bad[8] ^= 1;
    expect(findMultibootHeader(bad)).toBeNull();
  });

  it('loads an ELF kernel, zeroes its bss and writes the information structure', () => {
    const mem = new PhysicalMemory({ ramSize: RAM });
    mem.writeBytes(0x100000, new Uint8Array(0x300).fill(0xee));
    const mod = new Uint8Array(5000).fill(0x5a);
    const layout = loadMultiboot(mem, RAM, { kernel: elfKernel(), cmdline: 'kernel.elf debug', modules: [{ data: mod, cmdline: 'mod.bin arg' }] });
    expect(layout).toMatchObject({ format: 'elf', entry: 0x100010, kernelEnd: 0x100300 });
    expect(mem.read32(0x100000) >>> 0).toBe(MULTIBOOT_HEADER_MAGIC);
    expect(mem.read8(0x1000ff)).toBe(0x90);
    expect(mem.read8(0x100100)).toBe(0); // bss
    expect(mem.read8(0x1002ff)).toBe(0);
    expect(layout.modules).toEqual([{ start: 0x101000, end: 0x101000 + 5000 }]);
    expect(mem.read8(0x101000 + 4999)).toBe(0x5a);
    const { eax, ebx, eip, cr0 } = layout.cpuState;
    expect({ eax, eip, cr0 }).toEqual({ eax: MULTIBOOT_BOOTLOADER_MAGIC, eip: 0x100010, cr0: 1 });
    const info = (off: number): number => mem.read32(ebx! + off) >>> 0;
    const str = (addr: number): string => {
      let s = '';
      for (let c = mem.read8(addr); c !== 0; c = mem.read8(++addr)) s += String.fromCharCode(c);
      return s;
    };
    expect(info(0) & 0x24f).toBe(0x24d); // memory, cmdline, mods, mmap, loader name
    expect(info(4)).toBe(639);
    expect(info(8)).toBe((RAM >> 10) - 1024);
    expect(str(info(16))).toBe('kernel.elf debug');
    expect(info(20)).toBe(1);
    const mods = info(24);
    expect([mem.read32(mods) >>> 0, mem.read32(mods + 4) >>> 0, str(mem.read32(mods + 8) >>> 0)]).toEqual([0x101000, 0x101000 + 5000, 'mod.bin arg']);
    expect(info(44)).toBe(4 * 24);
    const mmap = info(48);
    const last = mmap + 3 * 24;
    expect([mem.read32(last), mem.read32(last + 4), mem.read32(last + 12), mem.read32(last + 20)]).toEqual([20, 0x100000, RAM - 0x100000, 1]);
    expect(str(info(64))).toBe('tsvm');
  });

  it('loads an a.out-kludge image from the addresses in its header', () => {
    const mem = new PhysicalMemory({ ramSize: RAM });
    // The header sits 0x20 bytes into an image loaded at 0x200000; 0x100 bytes of file, bss to 0x200400.
    const image = new Uint8Array(0x100).fill(0xc3);
    image.set(header(0x10003, { headerAddr: 0x200020, loadAddr: 0x200000, loadEnd: 0x200100, bssEnd: 0x200400, entry: 0x200040 }), 0x20);
    mem.writeBytes(0x200100, new Uint8Array(0x300).fill(0x77));
    const layout = loadMultiboot(mem, RAM, { kernel: image });
    expect(layout).toMatchObject({ format: 'aout-kludge', entry: 0x200040, kernelEnd: 0x200400 });
    expect(mem.read8(0x200000)).toBe(0xc3);
    expect(mem.read32(0x200020) >>> 0).toBe(MULTIBOOT_HEADER_MAGIC);
    expect(mem.read8(0x2003ff)).toBe(0);
  });

  it('refuses images it cannot boot, saying why', () => {
    const mem = new PhysicalMemory({ ramSize: RAM });
    expect(() => loadMultiboot(mem, RAM, { kernel: new Uint8Array(64) })).toThrow(/no Multiboot header/);
    expect(() => loadMultiboot(mem, RAM, { kernel: elfKernel(0x3 | 0x8) })).toThrow(/requires features this loader lacks \(flags 0x8\)/);
    const notElf = new Uint8Array(64);
    notElf.set(header(0), 0);
    expect(() => loadMultiboot(mem, RAM, { kernel: notElf })).toThrow(/neither ELF nor/);
    const badEntry = new Uint8Array(0x40);
    badEntry.set(header(0x10000, { headerAddr: 0x200000, loadAddr: 0x200000, loadEnd: 0, bssEnd: 0, entry: 0x300000 }), 0);
    expect(() => loadMultiboot(mem, RAM, { kernel: badEntry })).toThrow(/entry_addr lies outside/);
    const pastEnd = new Uint8Array(0x40);
    pastEnd.set(header(0x10000, { headerAddr: 0x200000, loadAddr: 0x200000, loadEnd: 0x201000, bssEnd: 0, entry: 0x200000 }), 0);
    expect(() => loadMultiboot(mem, RAM, { kernel: pastEnd })).toThrow(/load_end_addr lies past the end/);
    const truncatedElf = elfKernel().subarray(0, 0x1040);
    expect(() => loadMultiboot(mem, RAM, { kernel: truncatedElf })).toThrow(/runs past the end of the file/);
    expect(() => loadMultiboot(mem, RAM, { kernel: elfKernel(), modules: [{ data: new Uint8Array(RAM) }] })).toThrow(/too little memory for Multiboot module 0/);
  });
});
