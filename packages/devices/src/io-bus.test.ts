import { describe, expect, it } from 'vitest';
import { DeviceError, IoBus } from './index.js';

describe('IoBus', () => {
  it('reads all-ones from unclaimed ports and ignores writes to them', () => {
    const bus = new IoBus();
    expect(bus.read8(0x80)).toBe(0xff);
    expect(bus.read16(0x80)).toBe(0xffff);
    expect(bus.read32(0xfffe)).toBe(0xffffffff);
    expect(() => bus.write32(0x80, 0x12345678)).not.toThrow();
  });

  it('hands devices offsets inside their own range', () => {
    const bus = new IoBus();
    const seen: [number, number][] = [];
    bus.register('uart', 0x3f8, 8, {
      read8: (off) => 0x40 + off,
      write8: (off, v) => seen.push([off, v]),
    });
    expect(bus.read8(0x3fd)).toBe(0x45);
    bus.write8(0x3f8, 0x41);
    expect(seen).toEqual([[0, 0x41]]);
    expect(bus.ownerOf(0x3ff)).toBe('uart');
    expect(bus.ownerOf(0x400)).toBeUndefined();
  });

  it('splits wide accesses into narrow ones, crossing into unclaimed ports', () => {
    const bus = new IoBus();
    const writes: [number, number][] = [];
    bus.register('dev', 0x100, 2, { read8: (off) => 0x10 + off, write8: (off, v) => writes.push([off, v]) });
    expect(bus.read16(0x100)).toBe(0x1110);
    expect(bus.read32(0x100)).toBe(0xffff1110);
    bus.write16(0x100, 0xbeef);
    expect(writes).toEqual([
      [0, 0xef],
      [1, 0xbe],
    ]);
  });

  it('uses a device’s own wide handler when the whole access is inside its range', () => {
    const bus = new IoBus();
    bus.register('ide', 0x1f0, 8, { read16: () => 0xa55a, read8: () => 0x01, read32: () => 0xdeadbeef });
    expect(bus.read16(0x1f0)).toBe(0xa55a);
    expect(bus.read32(0x1f0)).toBe(0xdeadbeef);
    // A 32-bit read at the last port of the range cannot use read32.
    expect(bus.read32(0x1f7)).toBe(0xffffff01);
  });

  it('refuses overlapping registrations with a typed error and frees ranges on unregister', () => {
    const bus = new IoBus();
    const pic = bus.register('pic', 0x20, 2, { read8: () => 0 });
    let error: unknown;
    try {
      bus.register('other', 0x21, 4, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DeviceError);
    expect(error).toMatchObject({ code: 'PortConflict' });
    expect((error as Error).message).toContain('already claimed by pic');
    bus.unregister(pic);
    expect(bus.read8(0x20)).toBe(0xff);
    expect(() => bus.register('other', 0x21, 4, {})).not.toThrow();
  });

  it('rejects ranges outside the port space', () => {
    const bus = new IoBus();
    expect(() => bus.register('x', 0xffff, 2, {})).toThrow(DeviceError);
    expect(() => bus.register('x', -1, 1, {})).toThrow(/outside/);
  });
});
