import { describe, expect, it } from 'vitest';
import { DeviceError, I440fx, IoBus, IrqRouter, PciFunction, PciHost, Piix3, ResetControl } from './index.js';

function setup(): { bus: IoBus; host: PciHost; router: IrqRouter; piix: Piix3; nb: I440fx; resets: string[]; cfg: (d: number, f: number, reg: number) => void } {
  const router = new IrqRouter(24);
  const resets: string[] = [];
  const host = new PciHost({ router, resetControl: new ResetControl({ onReset: (k) => resets.push(k) }) });
  const nb = new I440fx();
  const piix = new Piix3({ host });
  host.attach(nb, 0);
  host.attach(piix, 1);
  const bus = new IoBus();
  bus.register('pci', 0xcf8, 8, host);
  const cfg = (d: number, f: number, reg: number): void => bus.write32(0xcf8, 0x8000_0000 | (d << 11) | (f << 8) | reg);
  return { bus, host, router, piix, nb, resets, cfg };
}

class TestNic extends PciFunction {
  constructor() {
    super({
      name: 'nic',
      vendorId: 0x10ec,
      deviceId: 0x8139,
      classCode: 0x020000,
      interruptPin: 1,
      bars: [{ kind: 'io', size: 256 }, { kind: 'memory', size: 4096 }],
    });
  }
}

describe('PCI configuration mechanism #1, i440FX and PIIX3', () => {
  it('finds the host bridge and ISA bridge and reads all-ones elsewhere', () => {
    const { bus, cfg } = setup();
    cfg(0, 0, 0);
    expect(bus.read32(0xcf8)).toBe(0x8000_0000);
    expect(bus.read32(0xcfc)).toBe(0x1237_8086);
    cfg(0, 0, 8);
    expect(bus.read32(0xcfc) >>> 8).toBe(0x060000);
    cfg(1, 0, 0);
    expect(bus.read16(0xcfc)).toBe(0x8086);
    expect(bus.read16(0xcfe)).toBe(0x7000);
    cfg(1, 0, 0x0c);
    expect(bus.read8(0xcfe)).toBe(0x80); // header type: multifunction
    cfg(2, 0, 0);
    expect(bus.read32(0xcfc)).toBe(0xffff_ffff);
    bus.write32(0xcf8, 0x0000_0000 | (0 << 11)); // enable bit clear
    expect(bus.read32(0xcfc)).toBe(0xffff_ffff);
    bus.write32(0xcf8, 0x8001_0000); // bus 1 does not exist
    expect(bus.read16(0xcfc)).toBe(0xffff);
    bus.write32(0xcf8, 0xffff_ffff);
    expect(bus.read32(0xcf8)).toBe(0x80ff_fffc);
  });

  it('passes byte accesses at 0xCF9 to the reset control register, not CONFIG_ADDRESS', () => {
    const { bus, resets } = setup();
    bus.write32(0xcf8, 0x8000_0000);
    bus.write8(0xcf9, 0x06);
    expect(resets).toEqual(['hard']);
    expect(bus.read8(0xcf9)).toBe(0x02);
    expect(bus.read32(0xcf8)).toBe(0x8000_0000);
    expect(bus.read8(0xcf8)).toBe(0xff);
  });

  it('keeps read-only registers read-only and stores the chipset registers', () => {
    const { bus, cfg, nb } = setup();
    const pams: number[][] = [];
    nb.onPamChange = (p) => pams.push([...p]);
    cfg(0, 0, 0);
    bus.write32(0xcfc, 0);
    expect(bus.read32(0xcfc)).toBe(0x1237_8086);
    cfg(0, 0, 0x58);
    bus.write32(0xcfc, 0x3333_3300);
    expect(bus.read32(0xcfc)).toBe(0x3333_3000); // PAM0 keeps only its BIOS-area bits (6-4)
    expect(pams.at(-1)).toEqual([0x30, 0x33, 0x33, 0, 0, 0, 0]);
  });

  it('sizes and places BARs, and reports them when decoding turns on', () => {
    const { bus, host, cfg } = setup();
    const nic = new TestNic();
    const placed: [number, number][] = [];
    nic.onBarChange = (i, a) => placed.push([i, a]);
    host.attach(nic, 3);
    expect(() => host.attach(new TestNic(), 3)).toThrow(/taken by nic/);
    cfg(3, 0, 0x10);
    bus.write32(0xcfc, 0xffff_ffff);
    expect(bus.read32(0xcfc)).toBe(0xffff_ff01);
    bus.write32(0xcfc, 0xc100);
    cfg(3, 0, 0x14);
    bus.write32(0xcfc, 0xffff_ffff);
    expect(bus.read32(0xcfc)).toBe(0xffff_f000);
    bus.write32(0xcfc, 0xfebf_0000);
    expect(placed).toEqual([]);
    cfg(3, 0, 0x04);
    bus.write16(0xcfc, 0x0003);
    expect(placed).toEqual([
      [0, 0xc100],
      [1, 0xfebf_0000],
    ]);
    expect(nic.barAddress(1)).toBe(0xfebf_0000);
    bus.write16(0xcfc, 0x0000);
    expect(nic.barAddress(0)).toBe(-1);
  });

  it('sizes and places a 64-bit memory BAR across two registers', () => {
    const { bus, host, cfg } = setup();
    class Gpu extends PciFunction {
      constructor() {
        super({ name: 'gpu', vendorId: 0x1234, deviceId: 0x1111, classCode: 0x030000, bars: [{ kind: 'memory64', size: 0x100_0000, prefetchable: true }] });
      }
    }
    const gpu = new Gpu();
    host.attach(gpu, 2);
    cfg(2, 0, 0x10);
    bus.write32(0xcfc, 0xffff_ffff);
    expect(bus.read32(0xcfc)).toBe(0xff00_000c);
    bus.write32(0xcfc, 0xfd00_0000);
    cfg(2, 0, 0x14);
    bus.write32(0xcfc, 0x1);
    cfg(2, 0, 0x04);
    bus.write16(0xcfc, 0x0002);
    expect(gpu.barAddress(0)).toBe(0x1_fd00_0000);
    expect(() => new PciFunction({ name: 'x', vendorId: 1, deviceId: 1, classCode: 0, bars: [{ kind: 'io', size: 16 }, { kind: 'memory64', size: 16 }, { kind: 'io', size: 4 }] })).toThrow(
      /BAR2 left free/,
    );
  });

  it('routes INTx through PIRQ registers to ISA IRQs and to I/O APIC inputs 16-19', () => {
    const { bus, host, router, cfg } = setup();
    const seen: [number, boolean][] = [];
    router.listen((n, l) => seen.push([n, l]));
    const nic = new TestNic();
    host.attach(nic, 3); // slot 3, INTA -> PIRQ (3 - 1 + 0) & 3 = C
    nic.setIrq(true);
    expect(seen).toEqual([[18, true]]); // PIRQC not routed yet: only the I/O APIC input
    cfg(1, 0, 0x60);
    bus.write32(0xcfc, 0x0b0a_8080); // PIRQC -> IRQ 10, PIRQD -> IRQ 11
    expect(router.level(10)).toBe(true);
    bus.write8(0xcfe, 0x8a); // disable PIRQC routing
    expect(router.level(10)).toBe(false);
    bus.write8(0xcfe, 0x0a);
    cfg(3, 0, 0x04);
    bus.write16(0xcfc, 0x0400); // INTx disable
    expect(router.level(10)).toBe(false);
    expect(router.level(18)).toBe(false);
    bus.write16(0xcfc, 0x0000);
    expect(router.level(10)).toBe(true);
    cfg(3, 0, 0x04);
    expect(bus.read32(0xcfc) >>> 16 & 0x08).toBe(0x08); // interrupt status
    nic.setIrq(false);
    expect(router.level(10)).toBe(false);
    cfg(1, 0, 0x60);
    bus.write8(0xcfc, 0x02); // IRQ 2 is not routable: reads back but routes nowhere
    expect(bus.read8(0xcfc)).toBe(0x02);
  });

  it('survives any sequence of configuration accesses', () => {
    const { bus, host } = setup();
    host.attach(new TestNic(), 5);
    let bad = 0;
    let seed = 5;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const port = 0xcf8 + (seed & 7);
      const v = seed >>> 3;
      switch ((seed >>> 28) & 3) {
        case 0:
          bus.write32(0xcf8, 0x8000_0000 | (v & 0x3fff) << 2);
          break;
        case 1:
          bus.write8(port, v);
          break;
        case 2:
          bus.write32(0xcfc, v);
          break;
        default:
          bad += bus.read16(port) > 0xffff ? 1 : 0;
      }
    }
    expect(bad).toBe(0);
  });

  it('saves and restores configuration spaces, and refuses changed read-only bits without changing', () => {
    const { bus, host, cfg, router } = setup();
    const nic = new TestNic();
    host.attach(nic, 3);
    cfg(3, 0, 0x10);
    bus.write32(0xcfc, 0xc000);
    cfg(1, 0, 0x60);
    bus.write32(0xcfc, 0x800b_8080); // PIRQC -> IRQ 11
    nic.setIrq(true);
    const saved = host.saveState();

    const router2 = new IrqRouter(24);
    const host2 = new PciHost({ router: router2 });
    const nic2 = new TestNic();
    host2.attach(new I440fx(), 0);
    host2.attach(new Piix3({ host: host2 }), 1);
    host2.attach(nic2, 3);
    host2.loadState(saved);
    expect(host2.saveState()).toEqual(saved);
    expect(router2.level(11)).toBe(router.level(11));
    expect(router2.level(11)).toBe(true);

    const before = host.saveState();
    const functions = saved['functions'] as Record<string, { config: Uint8Array }>;
    const bad = functions['0.0'].config.slice();
    bad[0] = 0x86 ^ 1;
    expect(() => host.loadState({ ...saved, functions: { ...functions, '0.0': { ...functions['0.0'], config: bad } } })).toThrow(/read-only bits at offset 0x0/);
    expect(() => host.loadState({ ...saved, address: 3 })).toThrow(DeviceError);
    expect(() => host.loadState({ ...saved, functions: { '0.0': functions['0.0'] } })).toThrow(/pci.functions: saved state field '1.0' must be a record/);
    expect(() => host.loadState({ ...saved, functions: { ...functions, '9.0': functions['0.0'] } })).toThrow(/'9.0' is a function this machine does not have/);
    expect(host.saveState()).toEqual(before);
  });
});
