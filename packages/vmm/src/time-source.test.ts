import { describe, expect, it } from 'vitest';
import { DeterministicTime, RealTime, VmmError } from './index.js';

describe('DeterministicTime', () => {
  it('derives time from the instruction count and the idle time skipped', () => {
    const t = new DeterministicTime(2);
    expect(t.now(0)).toBe(0);
    expect(t.now(1000)).toBe(2000);
    t.skipTo(10_000, 1000);
    expect(t.now(1000)).toBe(10_000);
    expect(t.now(1500)).toBe(11_000);
    t.skipTo(5, 1500); // never backwards
    expect(t.now(1500)).toBe(11_000);
  });

  it('resumes a saved time exactly', () => {
    const a = new DeterministicTime(3);
    a.skipTo(1e6, 10);
    const saved = a.save(500);
    const b = new DeterministicTime(3, saved.now, 500);
    expect(b.now(500)).toBe(a.now(500));
    expect(b.now(9999)).toBe(a.now(9999));
  });

  it('refuses a non-positive rate', () => {
    expect(() => new DeterministicTime(0)).toThrow(VmmError);
  });
});

describe('RealTime', () => {
  it('follows the host clock from its start', () => {
    let host = 1_000_000;
    const t = new RealTime(500, () => host);
    expect(t.now(0)).toBe(500);
    host += 250;
    expect(t.now(123)).toBe(750);
    expect(t.save(0)).toEqual({ mode: 'realtime', now: 750 });
  });
});
