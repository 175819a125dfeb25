import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RomBuilder } from '../../test/rom-builder.js';
import { createPolicyMachine, machineFromPolicy } from './machine-from-policy.js';
import { policyWith } from './test-policy.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsvm-mfp-'));
  await writeFile(join(dir, 'bios.bin'), new RomBuilder().out(0xf4, 0x02).build());
  await writeFile(join(dir, 'junk.bin'), new Uint8Array(8192).fill(0x90));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('machineFromPolicy', () => {
  it('builds the configuration a policy describes, boot files relative to the policy directory', async () => {
    const doc = policyWith([], { hardware: { cpu: '486', memory: '2M', serial: ['none', 'file:com2.txt'], boot: { bios: 'bios.bin' }, time: 'deterministic' } });
    const { config, options, denied } = await machineFromPolicy(doc, dir);
    expect(config).toMatchObject({ cpu: '486', memory: 2 << 20, serialPorts: 2, time: 'deterministic', boot: { kind: 'rom' } });
    expect(options.policy).toBe(doc);
    expect(denied).toEqual([]);
  });

  it('says what is wrong with the boot source', async () => {
    await expect(machineFromPolicy(policyWith([]), dir)).rejects.toThrow(/policy 'hardware.boot': nothing to boot/);
    await expect(machineFromPolicy(policyWith([], { hardware: { boot: { kernel: 'junk.bin' } } }), dir)).rejects.toThrow(/neither a Linux bzImage/);
    await expect(machineFromPolicy(policyWith([], { hardware: { boot: { bios: 'missing.bin' } } }), dir)).rejects.toThrow(/does not exist/);
  });

  it('refuses devices and disks it cannot attach, naming them; leaves out those a rule denies and records it', async () => {
    const hardware = { boot: { bios: 'bios.bin' }, devices: [{ id: 'nic0', kind: 'virtio-net' }], time: 'deterministic' };
    await expect(machineFromPolicy(policyWith([], { hardware }), dir)).rejects.toThrow(/policy 'hardware.devices\[0\]': a virtio-net device \(nic0\) cannot be attached yet/);
    const doc = policyWith([{ id: 'no-nic', actions: ['device.attach'], resource: { device: 'nic0' }, effect: 'deny' }], { hardware });
    const machine = await createPolicyMachine(doc, dir);
    expect(machine.policy!.events.events().map((e) => [e.kind, e.asked.action, e.asked.resource, e.rule])).toEqual([
      ['created', 'create', 'vm', undefined],
      ['denied', 'device.attach', 'device nic0', 'no-nic'],
    ]);
    expect(await machine.run({ maxInstructions: 100 })).toEqual({ reason: 'exit', status: 5 });
  });
});
