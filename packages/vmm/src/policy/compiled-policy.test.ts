import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compiled-policy.js';
import { DECIDE_ALLOW, DECIDE_ALLOW_LOG, DECIDE_DENY, DECIDE_DENY_GP, DECIDE_TRAP } from './decision.js';
import { policyWith } from './test-policy.js';

const claimedLow = { ioClaimed: (p: number) => p < 0x400 };

describe('CompiledPolicy ports', () => {
  it('allows claimed ports and denies unclaimed ones by default', () => {
    const c = compilePolicy(policyWith([]), 1, claimedLow);
    expect(c.decideIo(0x60, 1, false)).toBe(DECIDE_ALLOW);
    expect(c.decideIo(0x1000, 1, true)).toBe(DECIDE_DENY);
    expect(c.ruleIds[c.ioRuleOf(0x1000, 1, true)]).toBe('(unclaimed)');
    expect(c.ruleIds[c.ioRuleOf(0x60, 1, true)]).toBe('(claimed)');
  });

  it('allows unclaimed ports when access.unclaimed is allow', () => {
    const c = compilePolicy(policyWith([], { access: { unclaimed: 'allow' } }), 1, claimedLow);
    expect(c.decideIo(0x1000, 1, true)).toBe(DECIDE_ALLOW);
  });

  it('maps each effect to its decision', () => {
    const c = compilePolicy(
      policyWith([
        { actions: ['io.read'], resource: { ports: [0x10, 0x10] }, effect: 'allow-and-log' },
        { actions: ['io.read'], resource: { ports: [0x11, 0x11] }, effect: 'trap' },
        { actions: ['io.read'], resource: { ports: [0x12, 0x12] }, effect: 'deny' },
        { actions: ['io.read'], resource: { ports: [0x13, 0x13] }, effect: 'deny', gp: true },
        { actions: ['io.read'], resource: { ports: [0x2000, 0x2000] }, effect: 'allow' },
      ]),
      1,
      claimedLow,
    );
    expect([0x10, 0x11, 0x12, 0x13].map((p) => c.decideIo(p, 1, false))).toEqual([DECIDE_ALLOW_LOG, DECIDE_TRAP, DECIDE_DENY, DECIDE_DENY_GP]);
    expect(c.decideIo(0x2000, 1, false)).toBe(DECIDE_ALLOW); // an explicit allow opens an unclaimed port
    expect(c.decideIo(0x10, 1, true)).toBe(DECIDE_ALLOW); // read rules leave writes alone
  });

  it('any deny wins and the order of the rules does not matter', () => {
    const rules = [
      { id: 'wide-allow', actions: ['io.read', 'io.write'], resource: { ports: [0, 0xffff] }, effect: 'allow' },
      { id: 'log-pit', actions: ['io.write'], resource: { ports: [0x40, 0x43] }, effect: 'allow-and-log' },
      { id: 'deny-counter2', actions: ['io.write'], resource: { ports: [0x42, 0x42] }, effect: 'deny' },
      { id: 'trap-mode', actions: ['io.write'], resource: { ports: [0x42, 0x43] }, effect: 'trap' },
    ];
    const forward = compilePolicy(policyWith(rules), 1, claimedLow);
    const backward = compilePolicy(policyWith([...rules].reverse()), 1, claimedLow);
    for (const c of [forward, backward]) {
      expect(c.decideIo(0x40, 1, true)).toBe(DECIDE_ALLOW_LOG);
      expect(c.decideIo(0x42, 1, true)).toBe(DECIDE_DENY);
      expect(c.decideIo(0x43, 1, true)).toBe(DECIDE_TRAP);
      expect(c.decideIo(0x5000, 1, true)).toBe(DECIDE_ALLOW);
      expect(c.ruleIds[c.ioRuleOf(0x42, 1, true)]).toBe('deny-counter2');
    }
    expect(Buffer.from(forward.ioWrite).equals(Buffer.from(backward.ioWrite))).toBe(true);
  });

  it('a wide access takes the strictest decision of the ports it spans, wrapping at 0xFFFF', () => {
    const c = compilePolicy(
      policyWith([
        { id: 'deny-71', actions: ['io.read'], resource: { ports: [0x71, 0x71] }, effect: 'deny' },
        { id: 'trap-0', actions: ['io.read'], resource: { ports: [0, 0] }, effect: 'trap' },
      ]),
      1,
      { ioClaimed: () => true },
    );
    expect(c.decideIo(0x70, 1, false)).toBe(DECIDE_ALLOW);
    expect(c.decideIo(0x70, 2, false)).toBe(DECIDE_DENY);
    expect(c.ruleIds[c.ioRuleOf(0x70, 2, false)]).toBe('deny-71');
    expect(c.decideIo(0x6e, 4, false)).toBe(DECIDE_DENY);
    expect(c.decideIo(0xfffe, 4, false)).toBe(DECIDE_TRAP);
  });

  it('the 16/32-bit tables hold the strictest decision of the ports each access spans', () => {
    const c = compilePolicy(
      policyWith([
        { actions: ['io.read'], resource: { ports: [0x71, 0x72] }, effect: 'deny' },
        { actions: ['io.write'], resource: { ports: [0xffff, 0xffff] }, effect: 'trap' },
        { actions: ['io.read', 'io.write'], resource: { ports: [0x3f8, 0x3ff] }, effect: 'allow-and-log' },
      ]),
      1,
      { ioClaimed: () => true },
    );
    for (let p = 0; p < 0x10000; p++) {
      if (c.ioRead16[p] !== c.decideIo(p, 2, false) || c.ioRead32[p] !== c.decideIo(p, 4, false)) throw new Error(`read table at ${p}`);
      if (c.ioWrite16[p] !== c.decideIo(p, 2, true) || c.ioWrite32[p] !== c.decideIo(p, 4, true)) throw new Error(`write table at ${p}`);
    }
    expect(c.ioRead32[0x6f]).toBe(DECIDE_DENY);
    expect(c.ioWrite32[0xfffd]).toBe(DECIDE_TRAP);
  });
});

describe('CompiledPolicy MMIO, devices and settings', () => {
  const mmio = [
    { base: 0, length: 0x10_0000 },
    { base: 0xfee0_0000, length: 0x1000 },
  ];
  const c = compilePolicy(
    policyWith([
      { id: 'ro-vga', actions: ['mmio.write'], resource: { addresses: [0xa0000, 0xbffff] }, effect: 'deny' },
      { id: 'log-apic', actions: ['mmio.read', 'mmio.write'], resource: { addresses: [0xfee0_0000, 0xfee0_0fff] }, effect: 'allow-and-log' },
      { id: 'trap-eoi', actions: ['mmio.write'], resource: { addresses: [0xfee0_00b0, 0xfee0_00b3] }, effect: 'trap' },
      { id: 'no-nic', actions: ['device.attach'], resource: { device: 'nic0' }, effect: 'deny' },
      { id: 'lock-disk', actions: ['resource.set'], resource: { setting: 'limits.disk' }, effect: 'deny' },
    ]),
    3,
    { mmio },
  );

  it('decides physical accesses by segment', () => {
    expect(c.revision).toBe(3);
    expect(c.decideMmio(0x1000, 4, true)).toBe(DECIDE_ALLOW);
    expect(c.decideMmio(0xa0000, 1, false)).toBe(DECIDE_ALLOW);
    expect(c.decideMmio(0xa0000, 1, true)).toBe(DECIDE_DENY);
    expect(c.decideMmio(0x9ffff, 2, true)).toBe(DECIDE_DENY); // straddles into the VGA window
    expect(c.decideMmio(0xc0000, 4, true)).toBe(DECIDE_ALLOW);
    expect(c.decideMmio(0x20_0000, 4, false)).toBe(DECIDE_DENY); // unclaimed
    expect(c.decideMmio(0xfee0_0020, 4, false)).toBe(DECIDE_ALLOW_LOG);
    expect(c.decideMmio(0xfee0_00b0, 4, true)).toBe(DECIDE_TRAP);
    expect(c.ruleIds[c.mmioRuleOf(0xfee0_00b0, 4, true)]).toBe('trap-eoi');
    expect(c.decideMmio(0xffff_fffe, 4, false)).toBe(DECIDE_DENY);
  });

  it('decides devices and settings by id and path prefix', () => {
    expect(c.decideDevice('nic0').decision).toBe(DECIDE_DENY);
    expect(c.decideDevice('disk0').decision).toBe(DECIDE_ALLOW);
    expect(c.decideSetting('limits.disk.bytes.size').decision).toBe(DECIDE_DENY);
    expect(c.decideSetting('limits.diskette').decision).toBe(DECIDE_ALLOW);
    expect(c.decideSetting('limits.cpu.weight').decision).toBe(DECIDE_ALLOW);
  });
});
