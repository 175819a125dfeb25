import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBiosPath, defaultVgaBiosPath } from './default-bios.js';

describe('defaultBiosPath', () => {
  it('picks bios-256k.bin for a PCI PC and bios.bin without PCI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvm-seabios-'));
    writeFileSync(join(dir, 'bios-256k.bin'), '');
    writeFileSync(join(dir, 'bios.bin'), '');
    expect(defaultBiosPath(true, dir)).toBe(join(dir, 'bios-256k.bin'));
    expect(defaultBiosPath(false, dir)).toBe(join(dir, 'bios.bin'));
    expect(defaultVgaBiosPath(dir)).toBeUndefined();
  });

  it('names the Debian package when the firmware is not installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvm-empty-'));
    expect(() => defaultBiosPath(true, dir)).toThrow(/bios-256k\.bin does not exist: install Debian's seabios package/);
  });
});
