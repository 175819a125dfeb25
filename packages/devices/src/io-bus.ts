import { DeviceError } from './errors.js';

/**
 * A device's port handlers. Offsets are relative to the device's base port; the VMM chooses the base.
 * A device implements the widths it supports; the bus splits a wider access into narrower ones
 * (little-endian, port by port) when a width is missing, as the ISA bus does.
 */
export interface IoHandler {
  read8?(offset: number): number;
  read16?(offset: number): number;
  read32?(offset: number): number;
  write8?(offset: number, value: number): void;
  write16?(offset: number, value: number): void;
  write32?(offset: number, value: number): void;
}

/** A claimed port range, as returned by `IoBus.register`. */
export interface IoRegistration {
  readonly name: string;
  readonly base: number;
  readonly length: number;
}

interface Slot extends IoRegistration {
  readonly handler: IoHandler;
}

export const IO_PORT_COUNT = 0x10000;

/**
 * The I/O port space: 65,536 ports, each claimed by at most one device. Unclaimed ports read as
 * all-ones and ignore writes. Overlapping claims are refused with `DeviceError('PortConflict')`.
 * The lookup is one typed-array load per access.
 */
export class IoBus {
  /** Slot index + 1 for each port, 0 where unclaimed. */
  private readonly owner = new Uint16Array(IO_PORT_COUNT);
  private readonly slots: (Slot | undefined)[] = [undefined];

  register(name: string, base: number, length: number, handler: IoHandler): IoRegistration {
    if (!Number.isInteger(base) || !Number.isInteger(length) || base < 0 || length < 1 || base + length > IO_PORT_COUNT) {
      throw new DeviceError('InvalidArgument', `${name}: port range ${base}+${length} is outside 0x0000-0xFFFF`);
    }
    for (let p = base; p < base + length; p++) {
      const other = this.slots[this.owner[p]];
      if (other !== undefined) {
        throw new DeviceError(
          'PortConflict',
          `${name}: port 0x${p.toString(16)} (range 0x${base.toString(16)}+${length}) is already claimed by ${other.name} ` +
            `(0x${other.base.toString(16)}+${other.length})`,
        );
      }
    }
    let index = this.slots.indexOf(undefined, 1);
    if (index < 0) index = this.slots.length;
    if (index >= 0xffff) throw new DeviceError('InvalidArgument', `${name}: too many port registrations`);
    const slot: Slot = { name, base, length, handler };
    this.slots[index] = slot;
    this.owner.fill(index, base, base + length);
    return { name, base, length };
  }

  /** Releases a range claimed by `register`. */
  unregister(registration: IoRegistration): void {
    const index = this.owner[registration.base];
    const slot = this.slots[index];
    if (slot === undefined || slot.base !== registration.base || slot.name !== registration.name) {
      throw new DeviceError('InvalidArgument', `${registration.name}: not registered at 0x${registration.base.toString(16)}`);
    }
    this.owner.fill(0, slot.base, slot.base + slot.length);
    this.slots[index] = undefined;
  }

  /** The name of the device claiming `port`, or undefined. */
  ownerOf(port: number): string | undefined {
    return this.slots[this.owner[port & 0xffff]]?.name;
  }

  read8(port: number): number {
    port &= 0xffff;
    const slot = this.slots[this.owner[port]];
    if (slot === undefined || slot.handler.read8 === undefined) return 0xff;
    return slot.handler.read8(port - slot.base) & 0xff;
  }

  read16(port: number): number {
    port &= 0xffff;
    const slot = this.slots[this.owner[port]];
    if (slot !== undefined && slot.handler.read16 !== undefined && port + 1 < slot.base + slot.length) {
      return slot.handler.read16(port - slot.base) & 0xffff;
    }
    return this.read8(port) | (this.read8(port + 1) << 8);
  }

  read32(port: number): number {
    port &= 0xffff;
    const slot = this.slots[this.owner[port]];
    if (slot !== undefined && slot.handler.read32 !== undefined && port + 3 < slot.base + slot.length) {
      return slot.handler.read32(port - slot.base) >>> 0;
    }
    return (this.read16(port) | (this.read16(port + 2) << 16)) >>> 0;
  }

  write8(port: number, value: number): void {
    port &= 0xffff;
    const slot = this.slots[this.owner[port]];
    if (slot === undefined || slot.handler.write8 === undefined) return;
    slot.handler.write8(port - slot.base, value & 0xff);
  }

  write16(port: number, value: number): void {
    port &= 0xffff;
    const slot = this.slots[this.owner[port]];
    if (slot !== undefined && slot.handler.write16 !== undefined && port + 1 < slot.base + slot.length) {
      slot.handler.write16(port - slot.base, value & 0xffff);
      return;
    }
    this.write8(port, value);
    this.write8(port + 1, value >>> 8);
  }

  write32(port: number, value: number): void {
    port &= 0xffff;
    const slot = this.slots[this.owner[port]];
    if (slot !== undefined && slot.handler.write32 !== undefined && port + 3 < slot.base + slot.length) {
      slot.handler.write32(port - slot.base, value >>> 0);
      return;
    }
    this.write16(port, value);
    this.write16(port + 2, value >>> 16);
  }
}
