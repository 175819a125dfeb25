import type { IoBus } from '@tsvm/devices';
import type { VmPolicy } from './vm-policy.js';

/** The port-access surface of an `IoBus`, which `PolicyIoBus` also offers. */
export type PortBus = Pick<IoBus, 'read8' | 'read16' | 'read32' | 'write8' | 'write16' | 'write32' | 'ownerOf'>;

/**
 * An `IoBus` seen through a policy. An allowed access costs one or two typed-array loads more than
 * the bare bus; anything else goes to `VmPolicy.ioAccess`, which records it and says whether to do
 * it. Accesses not done read all-ones and drop writes, as an unclaimed port does.
 */
export class PolicyIoBus implements PortBus {
  constructor(
    private readonly bus: PortBus,
    private readonly policy: VmPolicy,
  ) {}

  ownerOf(port: number): string | undefined {
    return this.bus.ownerOf(port);
  }

  read8(port: number): number {
    port &= 0xffff;
    if (this.policy.ioRead[port] === 0 || this.policy.ioAccess(port, 1, false, 0)) return this.bus.read8(port);
    return 0xff;
  }

  read16(port: number): number {
    port &= 0xffff;
    const t = this.policy.ioRead;
    if ((t[port] | t[(port + 1) & 0xffff]) === 0 || this.policy.ioAccess(port, 2, false, 0)) return this.bus.read16(port);
    return 0xffff;
  }

  read32(port: number): number {
    port &= 0xffff;
    const t = this.policy.ioRead;
    if ((t[port] | t[(port + 1) & 0xffff] | t[(port + 2) & 0xffff] | t[(port + 3) & 0xffff]) === 0 || this.policy.ioAccess(port, 4, false, 0)) {
      return this.bus.read32(port);
    }
    return 0xffff_ffff;
  }

  write8(port: number, value: number): void {
    port &= 0xffff;
    if (this.policy.ioWrite[port] === 0 || this.policy.ioAccess(port, 1, true, value & 0xff)) this.bus.write8(port, value);
  }

  write16(port: number, value: number): void {
    port &= 0xffff;
    const t = this.policy.ioWrite;
    if ((t[port] | t[(port + 1) & 0xffff]) === 0 || this.policy.ioAccess(port, 2, true, value & 0xffff)) this.bus.write16(port, value);
  }

  write32(port: number, value: number): void {
    port &= 0xffff;
    const t = this.policy.ioWrite;
    if ((t[port] | t[(port + 1) & 0xffff] | t[(port + 2) & 0xffff] | t[(port + 3) & 0xffff]) === 0 || this.policy.ioAccess(port, 4, true, value >>> 0)) {
      this.bus.write32(port, value);
    }
  }
}

/** Applies `policy` to any bus: the returned bus checks every port access against it. */
export function applyPolicyToBus(bus: PortBus, policy: VmPolicy): PolicyIoBus {
  return new PolicyIoBus(bus, policy);
}

/** The default-allow set of a bus: the ports some device claims. */
export function ioClaimsOf(bus: Pick<IoBus, 'ownerOf'>): (port: number) => boolean {
  return (port) => bus.ownerOf(port) !== undefined;
}
