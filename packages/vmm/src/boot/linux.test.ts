import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { parseBzImage } from './bzimage.js';
import { BOOT_PARAMS_ADDR, CMDLINE_ADDR, KERNEL_LOAD_ADDR, loadLinux } from './linux.js';

/** A minimal bzImage: one setup sector after the boot sector, protocol `version`, and `payload` as the kernel. */
function bzImage(options: { version?: number; loadflags?: number; magic?: string; bootFlag?: number; initSize?: number; cmdlineSize?: number; payload?: number } = {}): Uint8Array {
  const image = new Uint8Array(1024 + (options.payload ?? 4096));
  const v = new DataView(image.buffer);
  image[0x1f1] = 1; // setup_sects
  v.setUint16(0x1fe, options.bootFlag ?? 0xaa55, true);
  image[0x200] = 0xeb;
  image[0x201] = 0x6a; // header ends at 0x26C
  image.set(new TextEncoder().encode(options.magic ?? 'HdrS'), 0x202);
  v.setUint16(0x206, options.version ?? 0x020f, true);
  image[0x211] = options.loadflags ?? 0x01;
  v.setUint32(0x214, 0x100000, true);
  v.setUint32(0x22c, 0x7fffffff, true);
  v.setUint32(0x230, 0x200000, true);
  image[0x234] = 1;
  v.setUint32(0x238, options.cmdlineSize ?? 2047, true);
  v.setUint32(0x258, 0x1000000, true);
  v.setUint32(0x260, options.initSize ?? 0x100000, true);
  for (let i = 1024; i < image.length; i++) image[i] = i & 0xff;
  return image;
}

describe('parseBzImage', () => {
  it('reads the setup header fields a loader needs', () => {
    const h = parseBzImage(bzImage());
    expect(h.version).toBe(0x020f);
    expect(h.setupSize).toBe(1024);
    expect(h.header.length).toBe(0x26c - 0x1f1);
    expect(h.protectedMode.length).toBe(4096);
    expect(h).toMatchObject({ code32Start: 0x100000, initrdAddrMax: 0x7fffffff, cmdlineSize: 2047, relocatable: true, prefAddress: 0x1000000, initSize: 0x100000 });
  });

  it('refuses what is not a bzImage, with the reason', () => {
    expect(() => parseBzImage(new Uint8Array(100))).toThrow(/too short/);
    expect(() => parseBzImage(bzImage({ bootFlag: 0 }))).toThrow(/0xAA55/);
    expect(() => parseBzImage(bzImage({ magic: 'HdrX' }))).toThrow(/HdrS/);
    expect(() => parseBzImage(bzImage({ version: 0x0201 }))).toThrow(/2\.01 is older than 2\.02/);
    expect(() => parseBzImage(bzImage({ loadflags: 0 }))).toThrow(/zImage/);
    expect(() => parseBzImage(bzImage({ payload: 0 }))).toThrow(/no protected-mode kernel/);
  });

  it('uses the documented defaults for fields older protocols lack', () => {
    const h = parseBzImage(bzImage({ version: 0x0202 }));
    expect(h).toMatchObject({ initrdAddrMax: 0x37ffffff, cmdlineSize: 255, relocatable: false, initSize: 0 });
  });
});

describe('loadLinux', () => {
  it('loads the kernel at 1 MiB, the initrd at the top of RAM and boot_params with an E820 map', () => {
    const ram = 32 << 20;
    const mem = new PhysicalMemory({ ramSize: ram });
    const kernel = bzImage();
    const initrd = new Uint8Array(10_000).fill(0xab);
    const layout = loadLinux(mem, ram, { kernel, initrd, cmdline: 'console=ttyS0 quiet' });
    const out = new Uint8Array(4096);
    mem.readBytes(KERNEL_LOAD_ADDR, out);
    expect(out).toEqual(kernel.subarray(1024));
    expect(layout.initrdAddr % 4096).toBe(0);
    expect(layout.initrdAddr + initrd.length).toBeLessThanOrEqual(ram);
    expect(layout.initrdAddr + initrd.length).toBeGreaterThan(ram - 4096);
    expect(mem.read8(layout.initrdAddr + 9999)).toBe(0xab);
    const bp = (off: number): number => mem.read32(BOOT_PARAMS_ADDR + off) >>> 0;
    expect(bp(0x202)).toBe(0x53726448); // HdrS copied
    expect(mem.read8(BOOT_PARAMS_ADDR + 0x210)).toBe(0xff);
    expect(bp(0x218)).toBe(layout.initrdAddr);
    expect(bp(0x21c)).toBe(10_000);
    expect(bp(0x228)).toBe(CMDLINE_ADDR);
    const cmd = new Uint8Array(20);
    mem.readBytes(CMDLINE_ADDR, cmd);
    expect(new TextDecoder().decode(cmd)).toBe('console=ttyS0 quiet\0');
    expect(mem.read8(BOOT_PARAMS_ADDR + 0x1e8)).toBe(4);
    const e820 = Array.from({ length: 4 }, (_, i) => [bp(0x2d0 + i * 20), bp(0x2d0 + i * 20 + 8), bp(0x2d0 + i * 20 + 16)]);
    expect(e820).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [0x100000, ram - 0x100000, 1],
    ]);
    expect(bp(0x1e0)).toBe((ram >> 10) - 1024);
    expect(layout.cpuState).toMatchObject({ cr0: 1, eip: 0x100000, esi: BOOT_PARAMS_ADDR, cs: { selector: 0x10, base: 0, limit: 0xffffffff }, ds: { selector: 0x18 }, eflags: 2 });
  });

  it('says when memory is too small for the kernel or the initrd', () => {
    const small = 16 << 20;
    expect(() => loadLinux(new PhysicalMemory({ ramSize: small }), small, { kernel: bzImage({ initSize: 0x1000000 }) })).toThrow(/kernel needs 32 MiB .* has 16 MiB/);
    const ram = 20 << 20;
    expect(() => loadLinux(new PhysicalMemory({ ramSize: ram }), ram, { kernel: bzImage({ initSize: 0x100000 }), initrd: new Uint8Array(4 << 20) })).toThrow(
      /too little memory for the initrd.*at least 21 MiB/,
    );
  });

  it('refuses a command line longer than the kernel accepts', () => {
    const ram = 32 << 20;
    expect(() => loadLinux(new PhysicalMemory({ ramSize: ram }), ram, { kernel: bzImage({ cmdlineSize: 10 }), cmdline: 'console=ttyS0' })).toThrow(/at most 10/);
  });
});

const guestDir = fileURLToPath(new URL('../../../../guests/linux/out/', import.meta.url));
const haveKernel = existsSync(`${guestDir}vmlinuz`) && existsSync(`${guestDir}initramfs.cpio.gz`);
if (!haveKernel) console.warn('skipping the Debian bzImage tests: run guests/linux/build.sh to build guests/linux/out/vmlinuz');

describe.skipIf(!haveKernel)('the Debian i386 bzImage (guests/linux/build.sh)', () => {
  it('parses its setup header and loads it with the busybox initramfs', () => {
    const kernel = new Uint8Array(readFileSync(`${guestDir}vmlinuz`));
    const initrd = new Uint8Array(readFileSync(`${guestDir}initramfs.cpio.gz`));
    const h = parseBzImage(kernel);
    expect(h.version).toBeGreaterThanOrEqual(0x020f);
    expect(h.relocatable).toBe(true);
    expect(h.code32Start).toBe(0x100000);
    expect(h.initSize).toBeGreaterThan(h.protectedMode.length);
    const m = new Machine({ boot: { kind: 'linux', kernel, initrd, cmdline: 'console=ttyS0' }, memory: 128 << 20, time: 'deterministic' });
    const s = m.cpu.getState();
    expect(s).toMatchObject({ eip: 0x100000, esi: BOOT_PARAMS_ADDR, cr0: 1, a20: true, cs: { selector: 0x10, attributes: 0xc09b } });
    expect(m.memory.read32(BOOT_PARAMS_ADDR + 0x202) >>> 0).toBe(0x53726448);
    const start = m.memory.read32(BOOT_PARAMS_ADDR + 0x218) >>> 0;
    expect(start + initrd.length).toBeLessThanOrEqual(128 << 20);
    expect(m.memory.read8(start)).toBe(initrd[0]);
    expect(() => new Machine({ boot: { kind: 'linux', kernel, initrd }, memory: 33 << 20 })).toThrow(/too little memory for the initrd/);
  });

  it("starts the kernel's 32-bit entry with the protocol's state: flat 32-bit code, ESI at boot_params", async () => {
    const kernel = new Uint8Array(readFileSync(`${guestDir}vmlinuz`));
    const lines: string[] = [];
    const m = new Machine({ boot: { kind: 'linux', kernel, cmdline: 'console=ttyS0' }, memory: 64 << 20, time: 'deterministic' }, { traceInstructions: (l) => lines.push(l) });
    expect(await m.run({ maxInstructions: 3 })).toEqual({ reason: 'budget' });
    // startup_32: cld; cli; lea esp, [esi + BP_scratch + 4] -- its stack is inside boot_params.
    expect(lines.map((l) => l.replace(/\s+/g, ' '))).toEqual(['0010:00100000 fc cld', '0010:00100001 fa cli', '0010:00100002 8da6e8010000 lea esp,[esi+1E8h]']);
    expect(m.cpu.getState().esp).toBe(BOOT_PARAMS_ADDR + 0x1e8);
  });
});
