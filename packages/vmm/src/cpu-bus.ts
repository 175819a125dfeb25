import type { InterruptSource, IoPorts } from '@tsvm/cpu';
import type { InterruptAcknowledge, IoBus } from '@tsvm/devices';

/** The port-access surface of `IoBus`: what the CPU's ports are built on (the bus itself, or a layer over it). */
export type PortAccess = Pick<IoBus, 'read8' | 'read16' | 'read32' | 'write8' | 'write16' | 'write32'>;

/** The CPU's port space over the board's I/O bus. */
export class BusPorts implements IoPorts {
  constructor(private readonly bus: PortAccess) {}
  in8(port: number): number {
    return this.bus.read8(port);
  }
  in16(port: number): number {
    return this.bus.read16(port);
  }
  in32(port: number): number {
    return this.bus.read32(port);
  }
  out8(port: number, value: number): void {
    this.bus.write8(port, value);
  }
  out16(port: number, value: number): void {
    this.bus.write16(port, value);
  }
  out32(port: number, value: number): void {
    this.bus.write32(port, value);
  }
}

/** One port access for a trace: direction, width in bits, port and value. */
export type PortTrace = (direction: 'in' | 'out', width: 8 | 16 | 32, port: number, value: number) => void;

/** `BusPorts` that reports every access; used only when tracing, so the normal path stays monomorphic. */
export class TracingPorts implements IoPorts {
  constructor(
    private readonly bus: PortAccess,
    private readonly trace: PortTrace,
  ) {}
  in8(port: number): number {
    const v = this.bus.read8(port);
    this.trace('in', 8, port & 0xffff, v);
    return v;
  }
  in16(port: number): number {
    const v = this.bus.read16(port);
    this.trace('in', 16, port & 0xffff, v);
    return v;
  }
  in32(port: number): number {
    const v = this.bus.read32(port);
    this.trace('in', 32, port & 0xffff, v);
    return v;
  }
  out8(port: number, value: number): void {
    this.trace('out', 8, port & 0xffff, value & 0xff);
    this.bus.write8(port, value);
  }
  out16(port: number, value: number): void {
    this.trace('out', 16, port & 0xffff, value & 0xffff);
    this.bus.write16(port, value);
  }
  out32(port: number, value: number): void {
    this.trace('out', 32, port & 0xffff, value >>> 0);
    this.bus.write32(port, value);
  }
}

/** The CPU's one interrupt question, answered by the PIC or the local APIC. */
export class ControllerInterrupts implements InterruptSource {
  constructor(private readonly controller: InterruptAcknowledge) {}
  acknowledge(): number {
    return this.controller.hasPendingInterrupt() ? this.controller.acknowledgeInterrupt() : -1;
  }
}
