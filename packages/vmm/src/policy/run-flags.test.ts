import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { machineConfigOf, policyFromRunFlags, RUN_FLAG_FIELDS, type RunFlags } from './run-flags.js';

/** Reads a dotted path with `[i]` indices out of a document. */
function at(doc: unknown, path: string): unknown {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], doc);
}

describe('policyFromRunFlags', () => {
  const flags = {
    memory: 32 << 20,
    cpu: '486' as const,
    kernel: 'bzImage',
    initrd: 'initrd.img',
    append: 'console=ttyS0',
    bios: undefined,
    serial: { kind: 'file' as const, path: 'com1.log' },
    debugcon: { kind: 'stdio' as const },
    noReboot: true,
    deterministic: true,
    traceInstructions: true,
    tracePorts: true,
    maxInstructions: 5000,
    apic: false,
    pci: false,
    drives: [{ id: 'hda', path: 'disk.qcow2', format: 'qcow2' as const, readOnly: false }],
    bootOrder: 'dc',
  } satisfies Record<keyof RunFlags, unknown>;

  it('puts every flag in its documented field', () => {
    const doc = policyFromRunFlags({ ...flags, bios: undefined }, 'cli-vm');
    expect(doc.vm.id).toBe('cli-vm');
    const expected: Record<keyof RunFlags, unknown> = {
      ...flags,
      serial: 'file:com1.log',
      debugcon: 'stdio',
      deterministic: 'deterministic',
      bootOrder: ['cdrom', 'disk'],
    };
    for (const key of Object.keys(RUN_FLAG_FIELDS) as (keyof RunFlags)[]) {
      if (key === 'bios') continue;
      expect([key, at(doc, RUN_FLAG_FIELDS[key].field)]).toEqual([key, expected[key]]);
    }
    expect(at(policyFromRunFlags({ bios: 'bios.bin' }), RUN_FLAG_FIELDS.bios.field)).toBe('bios.bin');
  });

  it('gives the CLI defaults for flags left out', () => {
    const doc = policyFromRunFlags({ bios: 'rom.bin' });
    expect(doc.hardware).toMatchObject({ serial: ['stdio'], debugcon: 'none', pci: true, apic: false, time: 'realtime', noReboot: false });
    expect(doc.limits.budget).toEqual({});
  });

  it('refuses what the CLI refuses', () => {
    expect(() => policyFromRunFlags({ kernel: 'k', bios: 'b' })).toThrow(/hardware\.boot\.bios/);
  });
});

describe('machineConfigOf', () => {
  it('gives a machine configuration resolveConfig accepts', () => {
    const doc = policyFromRunFlags({ memory: 16 << 20, cpu: 'pentium', apic: true, deterministic: true, bios: 'x' });
    const config = resolveConfig(machineConfigOf(doc, { kind: 'rom', image: new Uint8Array(4096) }));
    expect(config).toMatchObject({ memory: 16 << 20, cpu: 'pentium', apic: true, time: 'deterministic', serialPorts: 1, pci: true });
  });
});
