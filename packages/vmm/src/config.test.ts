import { describe, expect, it } from 'vitest';
import { resolveConfig, type MachineConfig } from './config.js';
import { VmmError } from './errors.js';

const rom = { kind: 'rom', image: new Uint8Array(4096) } as const;

describe('resolveConfig', () => {
  it('fills in the defaults', () => {
    expect(resolveConfig({ boot: rom })).toMatchObject({ memory: 64 << 20, cpu: 'p6', serialPorts: 1, pci: true, apic: false, time: 'realtime', nsPerInstruction: 1, noReboot: false });
    const now = Date.now() / 1000;
    expect(Math.abs(resolveConfig({ boot: rom }).rtcStart - now)).toBeLessThan(5);
    expect(resolveConfig({ boot: rom, time: 'deterministic' }).rtcStart).toBe(946684800);
  });

  it('names the field and the problem for every bad value', () => {
    const cases: [unknown, RegExp][] = [
      [{ boot: rom, memory: 1000 }, /'memory': 1000 bytes is outside/],
      [{ boot: rom, memory: (1 << 20) + 1 }, /'memory': .* not a multiple of 4 KiB/],
      [{ boot: rom, memory: '64M' }, /'memory': must be an integer/],
      [{ boot: rom, cpu: 'z80' }, /'cpu': unknown model "z80"/],
      [{ boot: rom, serialPorts: 5 }, /'serialPorts': must be 0-4/],
      [{ boot: rom, time: 'fast' }, /'time'/],
      [{ boot: rom, nsPerInstruction: 0 }, /'nsPerInstruction'/],
      [{ boot: rom, pci: 'yes' }, /'pci': must be true or false/],
      [{ boot: rom, apic: true, cpu: '486' }, /'apic': the 486 has no local APIC/],
      [{ boot: rom, rtcStart: -1 }, /'rtcStart'/],
      [{}, /'boot': is required/],
      [{ boot: { kind: 'floppy' } }, /'boot.kind': must be "rom", "linux" or "multiboot"/],
      [{ boot: { kind: 'rom', image: [1, 2] } }, /'boot.image': must be a Uint8Array/],
      [{ boot: { kind: 'linux', kernel: new Uint8Array(1), initrd: new Uint8Array(0) } }, /'boot.initrd': is empty/],
      [{ boot: { kind: 'linux', kernel: new Uint8Array(1), cmdline: 7 } }, /'boot.cmdline': must be a string/],
      [{ boot: { kind: 'multiboot', kernel: new Uint8Array(1), modules: [{}] } }, /'boot.modules\[0\].data'/],
    ];
    for (const [config, message] of cases) {
      let error: unknown;
      try {
        resolveConfig(config as MachineConfig);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VmmError);
      expect((error as VmmError).code).toBe('InvalidConfig');
      expect((error as VmmError).message).toMatch(message);
    }
  });
});
