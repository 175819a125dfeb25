import { E820_RAM } from '@tsvm/devices';
import type { PhysicalMemory } from '@tsvm/mmu';
import { loadRom } from '../boot/rom.js';
import type { PcBoard } from '../pc-board.js';
import { ShadowRam } from './shadow-ram.js';

/** What the firmware is told about the machine through fw_cfg. */
export interface FirmwareFacts {
  ramSize: number;
  cpus: number;
}

/**
 * Puts a flat firmware image where a PC's flash is decoded and tells it about the machine. On a PCI
 * board the i440FX decodes 0xC0000-0xFFFFF: the image's last 128 KiB show there through shadow RAM that
 * follows the PAM registers (SeaBIOS copies itself into RAM and keeps its data there). fw_cfg carries
 * the RAM size, the CPU count and `etc/e820`, as QEMU's pc machine gives them. Without PCI the image is
 * mapped read-only below 1 MiB as well, as on an ISA PC.
 */
export function attachFirmware(board: PcBoard, memory: PhysicalMemory, image: Uint8Array, facts: FirmwareFacts): ShadowRam | undefined {
  const bridge = board.i440fx;
  loadRom(memory, facts.ramSize, image, 'bios', bridge === undefined);
  board.fwCfg.configure({
    ramSize: facts.ramSize,
    cpus: facts.cpus,
    e820: [{ address: 0, length: facts.ramSize, type: E820_RAM }],
  });
  if (bridge === undefined) return undefined;
  const shadow = new ShadowRam(memory, image);
  bridge.onPamChange = (pam) => shadow.apply(pam);
  board.devices.push(shadow);
  return shadow;
}
