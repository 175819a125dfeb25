import type { IoBus } from '@tsvm/devices';
import type { CompiledPolicy } from './compiled-policy.js';
import type { VmPolicy } from './vm-policy.js';

/** The port-access surface of an `IoBus`, which `PolicyIoBus` also offers. */
export type PortBus = Pick<IoBus, 'read8' | 'read16' | 'read32' | 'write8' | 'write16' | 'write32' | 'ownerOf'>;

/**
 * An `IoBus` seen through a policy. An allowed access costs one typed-array load more than the bare
 * bus (the compiled tables hold the strictest decision over a 16/32-bit access's ports); anything
 * else goes to `VmPolicy.ioAccess`, which records it and says whether to do it. Accesses not done
 * read all-ones and drop writes, as an unclaimed port does. The tables are swapped when the policy
 * changes.
 */
export class PolicyIoBus implements PortBus {
  // `declare`: no field is first defined as undefined, so V8 keeps these typed-array fields exact and
  // the table load on every access needs no checks on them.
  private declare r8: Uint8Array;
  private declare r16: Uint8Array;
  private declare r32: Uint8Array;
  private declare w8: Uint8Array;
  private declare w16: Uint8Array;
  private declare w32: Uint8Array;
  /** Stops following the policy's changes (the bus keeps the tables it has). */
  readonly detach: () => void;

  constructor(
    private readonly bus: PortBus,
    private readonly policy: VmPolicy,
  ) {
    this.use(policy.current);
    this.detach = policy.onSwap((compiled) => this.use(compiled));
  }

  private use(c: CompiledPolicy): void {
    this.r8 = c.ioRead;
    this.r16 = c.ioRead16;
    this.r32 = c.ioRead32;
    this.w8 = c.ioWrite;
    this.w16 = c.ioWrite16;
    this.w32 = c.ioWrite32;
  }

  ownerOf(port: number): string | undefined {
    return this.bus.ownerOf(port);
  }

  read8(port: number): number {
    port &= 0xffff;
    if (this.r8[port] === 0 || this.policy.ioAccess(port, 1, false, 0)) return this.bus.read8(port);
    return 0xff;
  }

  read16(port: number): number {
    port &= 0xffff;
    if (this.r16[port] === 0 || this.policy.ioAccess(port, 2, false, 0)) return this.bus.read16(port);
    return 0xffff;
  }

  read32(port: number): number {
    port &= 0xffff;
    if (this.r32[port] === 0 || this.policy.ioAccess(port, 4, false, 0)) return this.bus.read32(port);
    return 0xffff_ffff;
  }

  write8(port: number, value: number): void {
    port &= 0xffff;
    if (this.w8[port] === 0 || this.policy.ioAccess(port, 1, true, value & 0xff)) this.bus.write8(port, value);
  }

  write16(port: number, value: number): void {
    port &= 0xffff;
    if (this.w16[port] === 0 || this.policy.ioAccess(port, 2, true, value & 0xffff)) this.bus.write16(port, value);
  }

  write32(port: number, value: number): void {
    port &= 0xffff;
    if (this.w32[port] === 0 || this.policy.ioAccess(port, 4, true, value >>> 0)) this.bus.write32(port, value);
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
