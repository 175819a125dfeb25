import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTextScreen } from '@tsvm/devices';
import { openImage } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';

const BIOS = '/usr/share/seabios/bios-256k.bin';
const VGA_BIOS = '/usr/share/seabios/vgabios-isavga.bin';
const present = existsSync(BIOS) && existsSync(VGA_BIOS);
if (!present) console.warn(`skipping the SeaBIOS screen test: ${BIOS} or ${VGA_BIOS} is missing (apt-get install seabios)`);
const bootBin = fileURLToPath(new URL('../../../../guests/bootsector/boot.bin', import.meta.url));

describe.skipIf(!present)('SeaBIOS with an ISA VGA', () => {
  it('shows its banner and the boot sector text on the VGA text screen', async () => {
    const image = Buffer.alloc(1 << 20);
    image.set(readFileSync(bootBin));
    const path = join(mkdtempSync(join(tmpdir(), 'tsvm-vga-')), 'disk.img');
    writeFileSync(path, image);
    const disk = await openImage(path, { readOnly: true });
    try {
      const machine = new Machine({
        boot: { kind: 'rom', image: readFileSync(BIOS) },
        drives: [{ slot: 'hda', media: 'disk', device: disk }],
        vgaBios: readFileSync(VGA_BIOS),
        time: 'deterministic',
        serialPorts: 1,
      });
      const exit = await machine.run({ maxInstructions: 300_000_000 });
      expect(exit).toEqual({ reason: 'exit', status: 33 });
      const screen = readTextScreen(machine.display!.vga).join('\n');
      expect(screen).toContain('SeaBIOS (version');
      expect(screen).toContain('Booting from Hard Disk...');
      expect(screen).toContain('tsvm boot sector: INT 13h read checked, exiting');
    } finally {
      await disk.close();
    }
  }, 120_000);
});
