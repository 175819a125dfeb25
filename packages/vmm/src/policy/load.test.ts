import { describe, expect, it } from 'vitest';
import { VmmError } from '../errors.js';
import { parsePolicy, validatePolicy } from './load.js';

function errorOf(fn: () => unknown): VmmError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VmmError) return e;
    throw e;
  }
  throw new Error('expected a VmmError');
}

const MINIMAL = { version: 1, vm: { id: 'web-1' }, hardware: {} };

describe('validatePolicy', () => {
  it('fills in every default', () => {
    const doc = validatePolicy(MINIMAL);
    expect(doc.hardware).toMatchObject({ cpu: 'p6', memory: 64 << 20, pci: true, apic: false, serial: ['stdio'], debugcon: 'none' });
    expect(doc.limits.cpu.weight).toBe(100);
    expect(doc.access).toEqual({ unclaimed: 'deny', rules: [] });
    expect(doc.events).toMatchObject({ tripleFault: 'reset', haltWithInterruptsDisabled: 'stop', policyViolation: 'continue' });
  });

  it('reads sizes with suffixes and bucket defaults', () => {
    const doc = validatePolicy({
      ...MINIMAL,
      hardware: { memory: '128M' },
      limits: { memory: { hardCap: '1G' }, disk: { bytes: { size: 1048576, refillTime: 1000 } } },
    });
    expect(doc.hardware.memory).toBe(128 << 20);
    expect(doc.limits.memory?.hardCap).toBe(1 << 30);
    expect(doc.limits.disk?.bytes).toEqual({ size: 1048576, oneTimeBurst: 0, refillTime: 1000 });
  });

  it('names the field path and the problem', () => {
    const e = errorOf(() => validatePolicy({ ...MINIMAL, limits: { disk: { bytes: { size: 0, refillTime: 10 } } } }));
    expect(e.code).toBe('InvalidConfig');
    expect(e.message).toMatch(/^policy 'limits\.disk\.bytes\.size': /);
    expect(e.message).toMatch(/>0|positive|too small/i);
  });

  it('reports every bad field, with array indices', () => {
    const e = errorOf(() =>
      validatePolicy({
        ...MINIMAL,
        hardware: { cpu: 'z80', disks: [{ id: 'a', path: 'a.img', format: 'iso' }] },
        access: { rules: [{ actions: ['io.read'], resource: { ports: [0x80, 0x10] }, effect: 'deny' }] },
      }),
    );
    expect(e.message).toContain("policy 'hardware.cpu'");
    expect(e.message).toContain("policy 'hardware.disks[0].format'");
    expect(e.message).toContain("policy 'access.rules[0].resource");
  });

  it('refuses unknown fields, a wrong version, and actions on the wrong kind of resource', () => {
    expect(errorOf(() => validatePolicy({ ...MINIMAL, hardwre: {} })).message).toMatch(/hardwre/);
    expect(errorOf(() => validatePolicy({ ...MINIMAL, version: 2 })).message).toContain("policy 'version'");
    const e = errorOf(() => validatePolicy({ ...MINIMAL, access: { rules: [{ actions: ['mmio.read'], resource: { ports: [1, 2] }, effect: 'deny' }] } }));
    expect(e.message).toContain("policy 'access.rules[0].actions[0]': mmio.read applies to a 'addresses' resource, not 'ports'");
  });

  it('refuses gp on a rule that does not deny, duplicate disk ids, and conflicting boot sources', () => {
    expect(
      errorOf(() => validatePolicy({ ...MINIMAL, access: { rules: [{ actions: ['io.read'], resource: { ports: [1, 1] }, effect: 'allow', gp: true }] } })).message,
    ).toContain("policy 'access.rules[0].gp'");
    expect(
      errorOf(() => validatePolicy({ ...MINIMAL, hardware: { disks: [{ id: 'd', path: 'x' }, { id: 'd', path: 'y' }] } })).message,
    ).toContain("policy 'hardware.disks[1].id': duplicate id");
    expect(errorOf(() => validatePolicy({ ...MINIMAL, hardware: { boot: { kernel: 'k', bios: 'b' } } })).message).toContain("'hardware.boot.bios'");
    expect(errorOf(() => validatePolicy({ ...MINIMAL, hardware: { boot: { initrd: 'i' } } })).message).toContain("'hardware.boot.initrd': needs boot.kernel");
  });

  it('refuses a panic pattern that is not a regular expression', () => {
    const e = errorOf(() => validatePolicy({ ...MINIMAL, events: { panicPatterns: [{ pattern: '(', action: 'stop' }] } }));
    expect(e.message).toContain("policy 'events.panicPatterns[0].pattern': is not a valid regular expression");
  });

  it('refuses a memory size above the hard cap', () => {
    const e = errorOf(() => validatePolicy({ ...MINIMAL, hardware: { memory: '128M' }, limits: { memory: { hardCap: '64M' } } }));
    expect(e.message).toContain("policy 'limits.memory.hardCap': 67108864 bytes is below hardware.memory (134217728 bytes)");
  });

  it('refuses a non-object document', () => {
    expect(errorOf(() => validatePolicy('hello')).message).toMatch(/^policy '\(root\)'/);
  });
});

describe('parsePolicy', () => {
  it('reads YAML and JSON', () => {
    const yaml = `
version: 1
vm: { id: linux }
hardware:
  memory: 256M
  boot: { kernel: bzImage, append: console=ttyS0 }
access:
  rules:
    - { id: no-cmos-writes, actions: [io.write], resource: { ports: [0x70, 0x71] }, effect: deny, gp: true }
events:
  panicPatterns: [{ pattern: "Kernel panic", action: snapshot }]
`;
    const doc = parsePolicy(yaml);
    expect(doc.hardware.boot.kernel).toBe('bzImage');
    expect(doc.access.rules[0]).toMatchObject({ id: 'no-cmos-writes', resource: { ports: [0x70, 0x71] }, gp: true });
    expect(parsePolicy(JSON.stringify(MINIMAL), 'json').vm.id).toBe('web-1');
  });

  it('turns a syntax error into InvalidConfig naming the source', () => {
    const e = errorOf(() => parsePolicy('{ "version": 1,', 'json', 'vm.json'));
    expect(e.code).toBe('InvalidConfig');
    expect(e.message).toMatch(/^vm\.json: not valid JSON/);
    expect(e.cause).toBeInstanceOf(SyntaxError);
    expect(errorOf(() => parsePolicy('a: 1\na: 2\n')).message).toMatch(/not valid YAML/);
  });
});
