import { describe, expect, it } from 'vitest';
import { RomBuilder } from '../../test/rom-builder.js';
import { Machine } from '../machine.js';
import { applyPolicyToBus, ioClaimsOf } from './policy-io-bus.js';
import { policyWith } from './test-policy.js';
import { VmPolicy } from './vm-policy.js';

describe('a policy on a Machine (through MachineOptions.wrapPorts)', () => {
  it('denies, logs and lets through the guest port accesses, recording each decision', async () => {
    const document = policyWith([
      { id: 'no-post-codes', actions: ['io.write'], resource: { ports: [0x80, 0x80] }, effect: 'deny' },
      { id: 'watch-exit', actions: ['io.write'], resource: { ports: [0xf4, 0xf4] }, effect: 'allow-and-log' },
    ]);
    let policy: VmPolicy | undefined;
    const rom = new RomBuilder().out(0x80, 0x12).out(0x34, 0).out(0xf4, 0x02).build();
    const m = new Machine(
      { boot: { kind: 'rom', image: rom }, memory: 2 << 20, time: 'deterministic' },
      {
        wrapPorts: (bus) => {
          policy = new VmPolicy(document, { claims: { ioClaimed: ioClaimsOf(bus) } });
          return applyPolicyToBus(bus, policy);
        },
      },
    );
    expect(m.board.bus.ownerOf(0x34)).toBeUndefined();
    expect(await m.run({ maxInstructions: 100 })).toEqual({ reason: 'exit', status: 5 });
    const events = policy?.events.events().slice(1) ?? [];
    expect(events.map((e) => [e.kind, e.asked.resource, e.asked.value, e.rule])).toEqual([
      ['denied', 'port 0x0080', 0x12, 'no-post-codes'],
      ['denied', 'port 0x0034', 0, '(unclaimed)'],
      ['logged', 'port 0x00f4', 0x02, 'watch-exit'],
    ]);
  });
});
