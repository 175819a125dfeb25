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

  it('without --bios, a drive boots through SeaBIOS from its Debian install path', async () => {
    const io = captureIo();
    const code = await runCli(['run', '--hda', disk(), '--deterministic', '--max-instructions', '200000000'], io);
    expect(io.out()).toContain('INT 13h read checked');
    expect(code).toBe(33);
  }, 120_000);
});

describe('tsvm run with drives', () => {
  it('refuses a drive with a kernel, and a bad --boot order', async () => {
    const io = captureIo();
    expect(await runCli(['run', '--boot', 'x', '--hda', 'disk.img'], io)).toBe(2);
    expect(io.err()).toContain("--boot: 'x' is not");
    const kernel = captureIo();
    expect(await runCli(['run', '--kernel', bootBin, '--hda', disk()], kernel)).toBe(1);
    expect(kernel.err()).toContain('disks are reached through the firmware');
  });
});
