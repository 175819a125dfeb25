import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';

/**
 * End to end: Debian's SeaBIOS boots `guests/bootsector` from an IDE hard disk. The boot sector
 * prints on COM1, reads its second sector through INT 13h, checks it and exits through
 * isa-debug-exit with 0x10 (status 33). Skipped when Debian's seabios package is not installed
 * (`scripts/setup.sh` installs it).
 */
const SEABIOS = '/usr/share/seabios/bios-256k.bin';
const haveSeabios = existsSync(SEABIOS);
if (!haveSeabios) console.warn(`skipping the SeaBIOS boots: ${SEABIOS} is missing (apt-get install seabios)`);
const bootBin = fileURLToPath(new URL('../../../../guests/bootsector/boot.bin', import.meta.url));

/** The committed boot sector and its second sector on a 1 MiB raw disk. */
function disk(): string {
  const image = Buffer.alloc(1 << 20);
  image.set(readFileSync(bootBin));
  const path = join(mkdtempSync(join(tmpdir(), 'tsvm-boot-')), 'disk.img');
  writeFileSync(path, image);
  return path;
}

const CD_SECTOR = 2048;
/** The boot record volume descriptor, the boot catalog and the boot image: sectors 17, 19, 20. */
const BOOT_RECORD = 17;
const CATALOG = 19;
const BOOT_IMAGE = 20;

/**
 * A CD image (ISO 9660 volume descriptors, El Torito "Bootable CD-ROM Format Specification" 1.0) with
 * the boot sector as a no-emulation boot image, and its second sector's text in CD block 1.
 */
function cdrom(): string {
  const boot = readFileSync(bootBin);
  const iso = Buffer.alloc((BOOT_IMAGE + 1) * CD_SECTOR);
  iso.set(boot.subarray(512, 1024), CD_SECTOR);
  const pvd = 16 * CD_SECTOR;
  iso[pvd] = 1;
  iso.write('CD001', pvd + 1, 'latin1');
  iso[pvd + 6] = 1;
  iso.writeUInt32LE(BOOT_IMAGE + 1, pvd + 80); // volume space size, both byte orders
  iso.writeUInt32BE(BOOT_IMAGE + 1, pvd + 84);
  const record = BOOT_RECORD * CD_SECTOR;
  iso.write('CD001', record + 1, 'latin1');
  iso[record + 6] = 1;
  iso.write('EL TORITO SPECIFICATION', record + 7, 'latin1');
  iso.writeUInt32LE(CATALOG, record + 0x47);
  const end = (BOOT_RECORD + 1) * CD_SECTOR;
  iso[end] = 0xff;
  iso.write('CD001', end + 1, 'latin1');
  iso[end + 6] = 1;
  const catalog = CATALOG * CD_SECTOR;
  iso[catalog] = 1; // validation entry, platform 0 (80x86)
  iso[catalog + 0x1e] = 0x55;
  iso[catalog + 0x1f] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum += iso.readUInt16LE(catalog + i);
  iso.writeUInt16LE((0x10000 - (sum & 0xffff)) & 0xffff, catalog + 0x1c);
  iso[catalog + 0x20] = 0x88; // bootable, no emulation, load segment 0 (07C0h)
  iso.writeUInt16LE(4, catalog + 0x26); // four 512-byte virtual sectors
  iso.writeUInt32LE(BOOT_IMAGE, catalog + 0x28);
  iso.set(boot.subarray(0, 512), BOOT_IMAGE * CD_SECTOR);
  const path = join(mkdtempSync(join(tmpdir(), 'tsvm-cd-')), 'boot.iso');
  writeFileSync(path, iso);
  return path;
}

describe.skipIf(!haveSeabios)('tsvm run boots from firmware', () => {
  it('SeaBIOS boots the boot sector from --hda, which reads through INT 13h and exits', async () => {
    const io = captureIo();
    const log = join(mkdtempSync(join(tmpdir(), 'tsvm-seabios-')), 'debugcon.txt');
    const code = await runCli(['run', '--bios', SEABIOS, '--hda', disk(), '--boot', 'c', '--deterministic', '--debugcon', `file:${log}`, '--max-instructions', '200000000'], io);
    expect(io.out()).toContain('tsvm boot sector: loaded by the BIOS');
    expect(io.out()).toContain('TSVM SECTOR 2: read through INT 13h');
    expect(code).toBe(33);
    const firmware = readFileSync(log, 'latin1');
    expect(firmware).toContain('SeaBIOS (version');
    expect(firmware).toMatch(/ata0-0: TSVM HARDDISK .* \(1 MiBytes\)/);
    expect(firmware).toContain('Booting from Hard Disk...');
  }, 120_000);

  it('SeaBIOS boots the boot sector from an El Torito --cdrom with --boot d', async () => {
    const io = captureIo();
    const log = join(mkdtempSync(join(tmpdir(), 'tsvm-seabios-')), 'debugcon.txt');
    const code = await runCli(['run', '--cdrom', cdrom(), '--hda', disk(), '--boot', 'd', '--deterministic', '--debugcon', `file:${log}`, '--max-instructions', '200000000'], io);
    expect(readFileSync(log, 'latin1')).toContain('Booting from DVD/CD...');
    expect(io.out()).toContain('TSVM SECTOR 2: read through INT 13h');
    expect(code).toBe(33);
  }, 120_000);

  it('without --bios, a drive boots through SeaBIOS from its Debian install path; --display text prints the screen', async () => {
    const io = captureIo();
    const code = await runCli(['run', '--hda', disk(), '--deterministic', '--display', 'text', '--serial', 'none', '--max-instructions', '400000000'], io);
    expect(code).toBe(33);
    expect(io.out()).toContain('SeaBIOS (version');
    expect(io.out()).toContain('Booting from Hard Disk...');
    expect(io.out()).toContain('tsvm boot sector: INT 13h read checked, exiting');
  }, 120_000);
});

describe('tsvm run with drives', () => {
  it('refuses a drive with a kernel, and a bad --boot order', async () => {
    const io = captureIo();
    expect(await runCli(['run', '--boot', 'x', '--hda', 'disk.img'], io)).toBe(2);
    expect(io.err()).toContain("--boot: 'x' is not");
    expect(await runCli(['run', '--display', 'sdl', '--hda', 'disk.img'], io)).toBe(2);
    expect(io.err()).toContain("--display: 'sdl' is not one of none, text");
    const kernel = captureIo();
    expect(await runCli(['run', '--kernel', bootBin, '--hda', disk()], kernel)).toBe(1);
    expect(kernel.err()).toContain('disks are reached through the firmware');
  });
});
