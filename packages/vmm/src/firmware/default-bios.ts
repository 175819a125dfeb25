import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VmmError } from '../errors.js';

/** Where Debian's `seabios` package installs its images. */
export const SEABIOS_DIR = '/usr/share/seabios';

/**
 * The SeaBIOS image QEMU would pick: `bios-256k.bin` for a PCI PC, `bios.bin` (128 KiB) for an ISA
 * PC. Throws a `FileUnreadable` error naming the package when it is not installed.
 */
export function defaultBiosPath(pci: boolean, dir = SEABIOS_DIR): string {
  const path = join(dir, pci ? 'bios-256k.bin' : 'bios.bin');
  if (!existsSync(path)) {
    throw new VmmError('FileUnreadable', `no firmware given and ${path} does not exist: install Debian's seabios package (apt-get install seabios) or pass --bios FILE`);
  }
  return path;
}

/** SeaVGABIOS for an ISA standard VGA from the same package, or undefined when it is not installed. */
export function defaultVgaBiosPath(dir = SEABIOS_DIR): string | undefined {
  const path = join(dir, 'vgabios-isavga.bin');
  return existsSync(path) ? path : undefined;
}
