import { BochsVbe, VBE_IO_BASE, VBE_IO_SIZE, Vga, VGA_IO_BASE, VGA_IO_SIZE } from '@tsvm/devices';
import type { PhysicalMemory } from '@tsvm/mmu';
import type { PcBoard } from '../pc-board.js';

/** The legacy VGA memory window: 0xA0000-0xBFFFF. */
export const VGA_WINDOW_BASE = 0xa_0000;
export const VGA_WINDOW_SIZE = 0x2_0000;
/** The fw_cfg file SeaBIOS runs as the VGA option ROM of an ISA VGA (QEMU's `-device isa-vga`). */
export const ISA_VGA_ROM_FILE = 'vgaroms/vgabios-isavga.bin';

/** An ISA VGA: the registers, the memory window, the Bochs VBE ports. */
export interface VgaWiring {
  vga: Vga;
  vbe: BochsVbe;
}

/**
 * An ISA standard VGA as QEMU's isa-vga: the VGA registers at 0x3B0-0x3DF, the memory window at
 * 0xA0000-0xBFFFF, the Bochs VBE index/data ports at 0x1CE, and its video BIOS (SeaVGABIOS,
 * `vgabios-isavga.bin` of Debian's seabios package) handed to the firmware through fw_cfg, which
 * SeaBIOS runs at 0xC0000 during POST.
 */
export function attachVga(board: PcBoard, memory: PhysicalMemory, vgaBios: Uint8Array): VgaWiring {
  const vga = new Vga();
  const vbe = new BochsVbe(vga);
  board.devices.push(vga, vbe);
  board.bus.register('vga', VGA_IO_BASE, VGA_IO_SIZE, vga);
  board.bus.register('vbe', VBE_IO_BASE, VBE_IO_SIZE, vbe);
  memory.mapMmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, vga.window, 'vga-window');
  board.fwCfg.addFile(ISA_VGA_ROM_FILE, vgaBios);
  return { vga, vbe };
}
