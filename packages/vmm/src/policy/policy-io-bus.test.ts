import { IoBus } from '@tsvm/devices';
import { describe, expect, it } from 'vitest';
import { applyPolicyToBus, ioClaimsOf } from './policy-io-bus.js';
import { policyWith } from './test-policy.js';
import { VmPolicy } from './vm-policy.js';

/** A bus with an 8-byte scratch device at 0x100 and a latch at 0x80 that records its writes. */
function board() {
  const bus = new IoBus();
  const scratch = new Uint8Array(8).fill(0x5a);
  bus.register('scratch', 0x100, 8, { read8: (o) => scratch[o], write8: (o, v) => (scratch[o] = v) });
  const written: number[] = [];
  bus.register('latch', 0x80, 1, { read8: () => 0x12, write8: (_o, v) => written.push(v) });
  return { bus, scratch, written };
}

function setup(rules: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  const b = board();
  const acts: string[] = [];
  let gps = 0;
  const policy = new VmPolicy(policyWith(rules, extra), {
    claims: { ioClaimed: ioClaimsOf(b.bus) },
    virtualTime: () => 1234,
    wallTime: () => 5678,
    hooks: { raiseGp: () => gps++, act: (a) => acts.push(a) },
  });
  return { ...b, policy, io: applyPolicyToBus(b.bus, policy), acts, gps: () => gps };
}

describe('PolicyIoBus', () => {
  it('passes claimed ports through untouched and records nothing', () => {
    const s = setup([]);
    s.io.write8(0x100, 0x33);
    expect(s.io.read8(0x100)).toBe(0x33);
    expect(s.io.read16(0x100)).toBe(0x5a33);
    expect(s.io.read32(0x104)).toBe(0x5a5a5a5a);
    expect(s.io.ownerOf(0x80)).toBe('latch');
    expect(s.policy.events.events().map((e) => e.kind)).toEqual(['created']);
  });

  it('deny: reads all-ones, drops writes, records who decided what', () => {
    const s = setup([{ id: 'no-latch', actions: ['io.read', 'io.write'], resource: { ports: [0x80, 0x80] }, effect: 'deny' }]);
    expect(s.io.read8(0x80)).toBe(0xff);
    s.io.write8(0x80, 7);
    expect(s.written).toEqual([]);
    const [read, write] = s.policy.events.events().slice(1);
    expect(read).toMatchObject({
      kind: 'denied',
      vmId: 'test-vm',
      virtualTime: 1234,
      wallTime: 5678,
      policyRevision: 1,
      asked: { action: 'io.read', resource: 'port 0x0080', size: 1 },
      decided: 'deny',
      rule: 'no-latch',
    });
    expect(write.asked).toEqual({ action: 'io.write', resource: 'port 0x0080', size: 1, value: 7 });
    expect(s.policy.events.counter('no-latch', 'deny')).toBe(2);
    expect(s.gps()).toBe(0);
  });

  it('deny with gp asks for #GP and does not touch the device', () => {
    const s = setup([{ actions: ['io.write'], resource: { ports: [0x100, 0x107] }, effect: 'deny', gp: true }]);
    s.io.write32(0x104, 0x11223344);
    expect(s.scratch[4]).toBe(0x5a);
    expect(s.gps()).toBe(1);
    expect(s.policy.events.events()[1]).toMatchObject({ decided: 'deny-gp', rule: 'rules[0]', asked: { size: 4, value: 0x11223344 } });
  });

  it('a wide access straddling a denied port is refused whole', () => {
    const s = setup([{ actions: ['io.read'], resource: { ports: [0x101, 0x101] }, effect: 'deny' }]);
    expect(s.io.read8(0x100)).toBe(0x5a);
    expect(s.io.read16(0x100)).toBe(0xffff);
    expect(s.io.read32(0x100)).toBe(0xffff_ffff);
  });

  it('allow-and-log performs the access and records it', () => {
    const s = setup([{ id: 'watch', actions: ['io.write'], resource: { ports: [0x80, 0x80] }, effect: 'allow-and-log' }]);
    s.io.write8(0x80, 0x42);
    expect(s.written).toEqual([0x42]);
    expect(s.policy.events.events()[1]).toMatchObject({ kind: 'logged', decided: 'allow-and-log', rule: 'watch' });
  });

  it('trap pauses the VM, records the trap and does not perform the access', () => {
    const s = setup([{ id: 'stop-here', actions: ['io.write'], resource: { ports: [0x80, 0x80] }, effect: 'trap' }]);
    s.io.write8(0x80, 0x34);
    expect(s.written).toEqual([]);
    expect(s.acts).toEqual(['pause']);
    expect(s.policy.events.events()[1]).toMatchObject({ kind: 'trapped', decided: 'trap', rule: 'stop-here' });
  });

  it('unclaimed ports are denied (and counted) by default, allowed on request', () => {
    const s = setup([]);
    expect(s.io.read8(0x3000)).toBe(0xff);
    expect(s.policy.events.counter('(unclaimed)', 'deny')).toBe(1);
    const open = setup([], { access: { unclaimed: 'allow' } });
    expect(open.io.read8(0x3000)).toBe(0xff);
    expect(open.policy.events.total).toBe(1); // only 'created'
  });

  it('a policy violation action runs for denials', () => {
    const s = setup([{ actions: ['io.read'], resource: { ports: [0x80, 0x80] }, effect: 'deny' }], { events: { policyViolation: 'stop' } });
    s.io.read8(0x80);
    expect(s.acts).toEqual(['stop']);
  });

  it('reads the new tables right after a policy change', () => {
    const s = setup([]);
    expect(s.io.read8(0x80)).toBe(0x12);
    s.policy.update(policyWith([{ actions: ['io.read'], resource: { ports: [0x80, 0x80] }, effect: 'deny' }]));
    expect(s.io.read8(0x80)).toBe(0xff);
    expect(s.policy.events.events().at(-1)).toMatchObject({ kind: 'denied', policyRevision: 2 });
  });

  it('a detached bus keeps the tables it had', () => {
    const s = setup([]);
    s.io.detach();
    s.policy.update(policyWith([{ actions: ['io.read'], resource: { ports: [0x80, 0x80] }, effect: 'deny' }]));
    expect(s.io.read8(0x80)).toBe(0x12);
  });
});
