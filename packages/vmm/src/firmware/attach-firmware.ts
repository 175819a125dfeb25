import { E820_RAM } from '@tsvm/devices';
import type { PhysicalMemory } from '@tsvm/mmu';
import { loadRom } from '../boot/rom.js';
import type { PcBoard } from '../pc-board.js';
import { ShadowRam } from './shadow-ram.js';

/** What the firmware is told about the machine through fw_cfg. */
export interface FirmwareFacts {
  ramSize: number;
  cpus: number;
  /** QEMU's `-boot` letters: a floppy, c hard disk, d CD-ROM, first to last. */
  bootOrder: string;
}

/** RTC CMOS boot sequence (QEMU's pc_cmos_init_late, Bochs BIOS): 0x3D first two devices, 0x38 bits 7-4 the third. */
const CMOS_BOOT_FIRST = 0x3d;
const CMOS_BOOT_THIRD = 0x38;
/** Bochs BIOS device codes: 1 floppy, 2 hard disk, 3 CD-ROM. */
const BOOT_CODES: Readonly<Record<string, number>> = { a: 1, c: 2, d: 3 };

/** The boot sequence in the CMOS bytes SeaBIOS reads when fw_cfg has no `bootorder` file. */
export function writeBootOrder(board: PcBoard, order: string): void {
  const code = (i: number): number => BOOT_CODES[order[i] ?? ''] ?? 0;
  board.rtc.setByte(CMOS_BOOT_FIRST, code(0) | (code(1) << 4));
  // The low nibble (bit 0: skip the floppy boot-signature check) keeps its setting.
  board.rtc.setByte(CMOS_BOOT_THIRD, (code(2) << 4) | (board.rtc.getByte(CMOS_BOOT_THIRD) & 0x0f));
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
    ...(facts.bootOrder.length > 0 ? { bootDevice: facts.bootOrder[0] as 'a' | 'c' | 'd' } : {}),
  });
  writeBootOrder(board, facts.bootOrder);
  if (bridge === undefined) return undefined;
  const shadow = new ShadowRam(memory, image);
  bridge.onPamChange = (pam) => shadow.apply(pam);
  board.devices.push(shadow);
  return shadow;
}
