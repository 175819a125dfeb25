import { describe, expect, it } from 'vitest';
import { DeviceError, StateReader } from './index.js';

describe('StateReader', () => {
  const good = { version: 2, ier: 5, fifo: new Uint8Array([1, 2]), on: true, mode: 'fifo', regs: [1, 2, 3], t: 1.5 };

  it('reads valid fields', () => {
    const r = new StateReader('uart0', good, [1, 2]);
    expect(r.version).toBe(2);
    expect(r.int('ier', 0, 255)).toBe(5);
    expect(r.bytes('fifo', 16, false)).toEqual(new Uint8Array([1, 2]));
    expect(r.bool('on')).toBe(true);
    expect(r.string('mode', ['fifo', 'plain'])).toBe('fifo');
    expect(r.ints('regs', 3, 0, 255)).toEqual([1, 2, 3]);
    expect(r.number('t')).toBe(1.5);
  });

  it('reads nested records and 32-bit word arrays, naming the path of a problem', () => {
    const r = new StateReader('pit', { version: 1, chip: { imr: 3 }, channels: [{ mode: 2 }, { mode: 9 }], irr: new Uint32Array(8) }, [1]);
    expect(r.child('chip').int('imr', 0, 255)).toBe(3);
    expect(r.child('chip').fields()).toEqual(['imr']);
    expect(r.words('irr', 8).length).toBe(8);
    expect(() => r.words('irr', 4)).toThrow('must hold 4 words, got 8');
    const [a, b] = r.records('channels', 2);
    expect(a.int('mode', 0, 5)).toBe(2);
    expect(() => b.int('mode', 0, 5)).toThrow("pit.channels[1]: saved state field 'mode' must be in 0..5, got 9");
    expect(() => r.records('channels', 3)).toThrow('must have 3 entries');
    expect(() => r.child('irr')).toThrow('must be a record');
    expect(() => r.child('chip').bits('imr', 255, 0x02)).toThrow('reserved bits 0x2');
    expect(() => r.fail('chip', 'does not fit')).toThrow("pit: saved state field 'chip' does not fit");
  });

  it('names the device and field of every problem', () => {
    const r = new StateReader('uart0', good, [2]);
    expect(() => r.int('ier', 0, 3)).toThrow("uart0: saved state field 'ier' must be in 0..3, got 5");
    expect(() => r.int('missing', 0, 3)).toThrow("field 'missing' must be an integer, got nothing");
    expect(() => r.bytes('fifo', 1, false)).toThrow('at most 1 bytes, got 2');
    expect(() => r.string('mode', ['plain'])).toThrow(/must be one of plain/);
    expect(() => r.ints('regs', 3, 0, 2)).toThrow("field 'regs[2]'");
  });

  it('refuses non-objects and unsupported versions with a typed error', () => {
    expect(() => new StateReader('pit', 'x', [1])).toThrow(DeviceError);
    expect(() => new StateReader('pit', { version: 9 }, [1])).toThrow(/version 9 is not supported/);
    try {
      new StateReader('pit', null, [1]);
    } catch (e) {
      expect(e).toMatchObject({ code: 'InvalidState' });
    }
  });
});
