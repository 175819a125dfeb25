import { PhysicalMemory } from '@tsvm/mmu';
import { MemoryBlockDevice } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import {
  AtaDisk,
  AtapiCdrom,
  BochsVbe,
  Dma8237,
  FDC_DIR_PORT,
  FDC_IO_BASE,
  FDC_IO_SIZE,
  FW_CFG_IO_BASE,
  FW_CFG_IO_SIZE,
  FloppyController,
  FwCfg,
  IDE_COMMAND_BLOCK_SIZE,
  IDE_CONTROL_BLOCK_SIZE,
  IDE_PRIMARY,
  IDE_SECONDARY,
  IdeChannel,
  IoBus,
  IrqRouter,
  PciHost,
  Piix3,
  Piix3Ide,
  VBE_IO_BASE,
  VBE_IO_SIZE,
  VGA_IO_BASE,
  VGA_IO_SIZE,
  Vga,
} from './index.js';

describe('storage and display devices at their PC ports', () => {
  it('claim the legacy ranges without conflicts and sit at 00:01.1 next to the PIIX3 bridge', () => {
    const router = new IrqRouter(24);
    const memory = new PhysicalMemory({ ramSize: 1 << 20 });
    const bus = new IoBus();
    const primary = new IdeChannel({ irq: router.source(IDE_PRIMARY.irq), master: new AtaDisk(new MemoryBlockDevice(1 << 20)) });
    const secondary = new IdeChannel({ irq: router.source(IDE_SECONDARY.irq), name: 'ide1', master: new AtapiCdrom() });
    for (const [ch, ports, name] of [[primary, IDE_PRIMARY, 'ide0'], [secondary, IDE_SECONDARY, 'ide1']] as const) {
      bus.register(name, ports.commandBase, IDE_COMMAND_BLOCK_SIZE, ch.commandBlock);
      bus.register(`${name}-ctl`, ports.controlBase, IDE_CONTROL_BLOCK_SIZE, ch.controlBlock);
    }
    const dma = new Dma8237(memory);
    const fdc = new FloppyController(router.source(6), dma, { drives: [new MemoryBlockDevice(1_474_560)] });
    bus.register('fdc', FDC_IO_BASE, FDC_IO_SIZE, fdc.ports);
    bus.register('fdc-dir', FDC_DIR_PORT, 1, fdc.dirPort);
    bus.register('dma1', 0x00, 16, dma.slave);
    bus.register('dma-page', 0x80, 16, dma.pages);
    bus.register('dma2', 0xc0, 32, dma.master);
    bus.register('fw-cfg', FW_CFG_IO_BASE, FW_CFG_IO_SIZE, new FwCfg({ memory }));
    const vga = new Vga({ vramSize: 16 << 20 });
    bus.register('vga', VGA_IO_BASE, VGA_IO_SIZE, vga);
    bus.register('vbe', VBE_IO_BASE, VBE_IO_SIZE, new BochsVbe(vga));
    expect(bus.ownerOf(0x3f6)).toBe('ide0-ctl');
    expect(bus.ownerOf(0x3f7)).toBe('fdc-dir');
    expect(bus.ownerOf(0x3d5)).toBe('vga');

    const host = new PciHost({ router });
    bus.register('pci', 0xcf8, 8, host);
    const isa = new Piix3({ host });
    host.attach(isa, 1, 0);
    const ide = new Piix3Ide({ primary, secondary, memory });
    host.attach(ide, 1, 1);
    bus.write32(0xcf8, 0x8000_0900);
    expect(bus.read32(0xcfc)).toBe(0x7010_8086);
    // The disk's IRQ 14 reaches the router.
    bus.write8(0x1f7, 0xec);
    expect(router.level(14)).toBe(true);
  });
});
