import { describe, expect, it } from 'vitest';
import { VmmError } from '../errors.js';
import { DECIDE_DENY } from './decision.js';
import { policyWith } from './test-policy.js';
import { VmPolicy } from './vm-policy.js';

function make(rules: Record<string, unknown>[] = [], extra: Record<string, unknown> = {}) {
  let now = 0;
  const acts: string[] = [];
  const policy = new VmPolicy(policyWith(rules, extra), {
    virtualTime: () => now,
    hooks: { act: (a) => acts.push(a) },
  });
  return { policy, acts, setTime: (t: number) => (now = t) };
}

describe('VmPolicy lifecycle and guest events', () => {
  it('records created on construction and each lifecycle change', () => {
    const { policy } = make();
    for (const kind of ['started', 'paused', 'resumed', 'reset', 'snapshotted', 'restored', 'stopped'] as const) policy.lifecycle(kind);
    expect(policy.events.events().map((e) => e.kind)).toEqual(['created', 'started', 'paused', 'resumed', 'reset', 'snapshotted', 'restored', 'stopped']);
    expect(policy.events.events()[1]).toMatchObject({ asked: { action: 'started', resource: 'vm' }, decided: 'applied' });
  });

  it('takes the configured action on a triple fault and on HLT with interrupts off', () => {
    const { policy, acts } = make([], { events: { tripleFault: 'snapshot', haltWithInterruptsDisabled: 'continue' } });
    expect(policy.guestEvent('triple-fault')).toBe('snapshot');
    expect(policy.guestEvent('halt-interrupts-disabled')).toBe('continue');
    expect(acts).toEqual(['snapshot']);
    expect(policy.events.events().slice(1).map((e) => [e.kind, e.decided])).toEqual([
      ['triple-fault', 'snapshot'],
      ['halt-interrupts-disabled', 'continue'],
    ]);
  });

  it('matches guest output against the panic patterns', () => {
    const { policy, acts } = make([], { events: { panicPatterns: [{ pattern: '^Kernel panic', action: 'pause' }] } });
    expect(policy.guestOutput('Booting...')).toBeUndefined();
    expect(policy.guestOutput('Kernel panic - not syncing: VFS')).toBe('pause');
    expect(acts).toEqual(['pause']);
    expect(policy.events.events().at(-1)).toMatchObject({ kind: 'guest-panic', detail: 'Kernel panic - not syncing: VFS' });
  });

  it('decides device attachment', () => {
    const { policy } = make([{ id: 'no-nic', actions: ['device.attach'], resource: { device: 'nic0' }, effect: 'deny' }]);
    expect(policy.attachDevice('disk0')).toBe(true);
    expect(policy.attachDevice('nic0')).toBe(false);
    expect(policy.events.counter('no-nic', 'deny')).toBe(1);
  });

  it('checks and records MMIO accesses', () => {
    const { policy } = make([{ id: 'ro', actions: ['mmio.write'], resource: { addresses: [0xa0000, 0xbffff] }, effect: 'deny' }], {
      access: { unclaimed: 'allow' },
    });
    expect(policy.mmioAccess(0xa0000, 1, false)).toBe(true);
    expect(policy.mmioAccess(0xa0010, 2, true, 0xbeef)).toBe(false);
    expect(policy.events.events().at(-1)).toMatchObject({ asked: { action: 'mmio.write', resource: 'address 0x000a0010', size: 2, value: 0xbeef } });
  });
});

describe('VmPolicy.update', () => {
  it('applies a valid change atomically and records it with the new revision', () => {
    const { policy, setTime } = make([], { limits: { disk: { bytes: { size: 100, refillTime: 1000 } } } });
    const before = policy.current;
    setTime(500);
    const next = policy.update({
      version: 1,
      vm: { id: 'test-vm' },
      hardware: {},
      limits: { disk: { bytes: { size: 200, refillTime: 1000 } } },
      access: { rules: [{ actions: ['io.read'], resource: { ports: [0x60, 0x60] }, effect: 'deny' }] },
    });
    expect(policy.current).toBe(next);
    expect(policy.current).not.toBe(before);
    expect(policy.revision).toBe(2);
    expect(policy.ioRead).toBe(next.ioRead);
    expect(policy.ioRead[0x60]).toBe(DECIDE_DENY);
    expect(policy.disk?.bytes?.size).toBe(200);
    const event = policy.events.events().at(-1);
    expect(event).toMatchObject({ kind: 'policy-changed', policyRevision: 2, virtualTime: 500, decided: 'applied' });
    expect(event?.detail).toContain('limits.disk.bytes.size');
    expect(event?.detail).toContain('access.rules');
  });

  it('keeps the old policy when the change is invalid, and records the rejection', () => {
    const { policy } = make([{ actions: ['io.read'], resource: { ports: [0x60, 0x60] }, effect: 'deny' }]);
    const before = policy.current;
    const table = policy.ioRead;
    expect(() => policy.update({ version: 1, vm: { id: 'test-vm' }, hardware: {}, limits: { cpu: { weight: 0 } } })).toThrow(VmmError);
    expect(policy.current).toBe(before);
    expect(policy.ioRead).toBe(table);
    expect(policy.revision).toBe(1);
    const event = policy.events.events().at(-1);
    expect(event).toMatchObject({ kind: 'policy-rejected', decided: 'rejected', policyRevision: 1 });
    expect(event?.detail).toContain("policy 'limits.cpu.weight'");
  });

  it('refuses hardware changes while running', () => {
    const { policy } = make();
    expect(() => policy.update({ version: 1, vm: { id: 'test-vm' }, hardware: { memory: '128M' } })).toThrow(/'hardware\.memory': cannot change while the VM runs/);
    expect(policy.revision).toBe(1);
  });

  it('refuses a change a resource.set rule denies', () => {
    const rules = [{ id: 'fixed-cpu', actions: ['resource.set'], resource: { setting: 'limits.cpu' }, effect: 'deny' }];
    const { policy } = make(rules);
    expect(() =>
      policy.update({ version: 1, vm: { id: 'test-vm' }, hardware: {}, access: { rules }, limits: { cpu: { weight: 500 } } }),
    ).toThrow(/'limits\.cpu\.weight': changing it is denied by rule fixed-cpu/);
    expect(policy.events.counter('fixed-cpu', 'rejected')).toBe(1);
    // Other settings may still change.
    policy.update({ version: 1, vm: { id: 'test-vm' }, hardware: {}, access: { rules }, limits: { budget: { instructions: 1000 } } });
    expect(policy.revision).toBe(2);
  });

  it('keeps a rate limiter whose settings did not change', () => {
    const limits = { disk: { ops: { size: 10, refillTime: 1000 } } };
    const { policy } = make([], { limits });
    policy.disk?.consume(0, 0);
    const disk = policy.disk;
    policy.update({ version: 1, vm: { id: 'test-vm' }, hardware: {}, limits, events: { policyViolation: 'pause' } });
    expect(policy.disk).toBe(disk);
  });
});
