import { MMIO_SIZE_32, PhysicalMemory, type MmioHandler } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { MmioGuard } from './mmio-guard.js';
import { policyWith } from './test-policy.js';
import { VmPolicy } from './vm-policy.js';

const DEVICE = 0xfee0_0000;

/** A device with 32-bit registers that remembers what was written. */
function device(): MmioHandler & { regs: Uint32Array } {
  const regs = new Uint32Array(1024);
  return { sizes: MMIO_SIZE_32, regs, read32: (o) => regs[o >>> 2], write32: (o, v) => void (regs[o >>> 2] = v >>> 0) };
}

function setup(rules: Record<string, unknown>[]) {
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  const rom = new Uint8Array(0x1000).map((_, i) => i & 0xff);
  memory.mapRom(0xf_0000, rom, 'bios');
  const dev = device();
  memory.mapMmio(DEVICE, 0x1000, dev, 'lapic');
  const claims = { mmio: [{ base: 0, length: 1 << 20 }, ...memory.regions().map((r) => ({ base: r.base, length: r.size }))] };
  const policy = new VmPolicy(policyWith(rules, { access: { unclaimed: 'allow' } }), { claims });
  const guard = new MmioGuard(memory, policy, new Map([[DEVICE, dev]]));
  guard.install();
  return { memory, dev, policy, guard };
}

describe('MmioGuard', () => {
  it('guards only the restricted pages (whole ROM and device regions), forwarding what is allowed', () => {
    const { memory, dev, policy, guard } = setup([
      { id: 'rom-w', actions: ['mmio.write'], resource: { addresses: [0xf_0010, 0xf_0010] }, effect: 'deny' },
      { id: 'dev-r', actions: ['mmio.read'], resource: { addresses: [DEVICE + 0x20, DEVICE + 0x23] }, effect: 'deny' },
      { id: 'ram-log', actions: ['mmio.write'], resource: { addresses: [0x2000, 0x2003] }, effect: 'allow-and-log' },
    ]);
    expect(guard.windows).toEqual([
      { base: 0x2000, size: 0x1000, covers: 'ram' },
      { base: 0xf_0000, size: 0x1000, covers: 'rom' },
      { base: DEVICE, size: 0x1000, covers: 'mmio' },
    ]);
    expect(memory.read32(0xf_0010)).toBe(0x13121110);
    memory.write8(0xf_0010, 0xaa);
    expect(memory.read8(0xf_0010)).toBe(0x10);
    memory.write32(DEVICE + 0x20, 0x1234);
    expect(dev.regs[8]).toBe(0x1234);
    expect(memory.read32(DEVICE + 0x20) >>> 0).toBe(0xffff_ffff);
    expect(memory.read32(DEVICE + 0x30)).toBe(0);
    memory.write16(0x2002, 0xbeef);
    expect(memory.ram[0x2002]).toBe(0xef);
    expect(memory.read16(0x2002)).toBe(0xbeef);
    memory.write8(0x3000, 1); // not guarded: the plain RAM path, nothing recorded
    expect(policy.events.events().slice(1).map((e) => [e.kind, e.asked.action, e.asked.resource, e.rule])).toEqual([
      ['denied', 'mmio.write', 'address 0x000f0010', 'rom-w'],
      ['denied', 'mmio.read', 'address 0xfee00020', 'dev-r'],
      ['logged', 'mmio.write', 'address 0x00002002', 'ram-log'],
    ]);
  });

  it('puts the ROM and the device back when the rules go away', () => {
    const { memory, dev, policy, guard } = setup([
      { actions: ['mmio.write'], resource: { addresses: [0xf_0000, 0xf_0fff] }, effect: 'deny' },
      { actions: ['mmio.read'], resource: { addresses: [DEVICE, DEVICE + 3] }, effect: 'deny' },
    ]);
    policy.update(policyWith([], { access: { unclaimed: 'allow' } }));
    guard.install();
    expect(guard.windows).toEqual([]);
    expect(memory.regions().map((r) => [r.name, r.kind, r.base])).toEqual([
      ['bios', 'rom', 0xf_0000],
      ['lapic', 'mmio', DEVICE],
    ]);
    dev.regs[0] = 77;
    expect(memory.read32(DEVICE)).toBe(77);
    expect(memory.read8(0xf_0005)).toBe(5);
  });
});
