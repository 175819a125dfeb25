import { describe, expect, it } from 'vitest';
import { CoprocessorErrorLatch } from './coprocessor-error.js';
import { DeviceError } from './errors.js';

function latch(): { dev: CoprocessorErrorLatch; levels: boolean[] } {
  const levels: boolean[] = [];
  const dev = new CoprocessorErrorLatch({ irq: { set: (l) => levels.push(l) } });
  return { dev, levels };
}

describe('CoprocessorErrorLatch (FERR# to IRQ 13, port 0xF0)', () => {
  it('latches FERR# into IRQ 13 until port 0xF0 is written', () => {
    const { dev, levels } = latch();
    dev.setFerr(true);
    dev.setFerr(true);
    dev.setFerr(false); // the latch holds after FERR# drops
    expect(levels).toEqual([true]);
    expect(dev.pending).toBe(true);
    dev.write8(0, 0);
    expect(levels).toEqual([true, false]);
    expect(dev.pending).toBe(false);
    dev.write8(0, 0); // nothing latched: no edge
    expect(levels).toEqual([true, false]);
    expect(dev.read8(0)).toBe(0xff);
  });

  it('round-trips its state and refuses a malformed one', () => {
    const { dev } = latch();
    dev.setFerr(true);
    const saved = dev.saveState();
    const { dev: other, levels } = latch();
    other.loadState(saved);
    expect(other.pending).toBe(true);
    expect(levels).toEqual([true]);
    expect(() => other.loadState({ version: 1, latched: 'yes' })).toThrow(DeviceError);
    expect(() => other.loadState({ version: 2, latched: false })).toThrow(DeviceError);
    expect(other.pending).toBe(true);
  });
});
