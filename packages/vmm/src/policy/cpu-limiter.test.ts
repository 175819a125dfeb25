import { describe, expect, it } from 'vitest';
import { CpuLimiter } from './cpu-limiter.js';
import { policyWith } from './test-policy.js';

const MS = 1_000_000;

/** A guest that spins: runs whatever it is given, at `ips` host instructions per second. */
function spin(limiter: CpuLimiter, seconds: number, ips: number): number {
  let now = 0;
  let ran = 0;
  const end = seconds * 1000 * MS;
  while (now < end) {
    const n = limiter.sliceBudget(now, 1_000_000);
    if (n === 0) {
      const wait = limiter.waitTime(now);
      if (wait === Infinity) break;
      now += Math.max(wait, 1);
      continue;
    }
    const ns = Math.ceil((n / ips) * 1e9);
    now += ns;
    ran += n;
    limiter.charge(n, ns, now);
  }
  return ran;
}

describe('CpuLimiter', () => {
  it('holds a spinning guest to its instructions-per-second cap', () => {
    const doc = policyWith([], { limits: { cpu: { cap: { instructionsPerSecond: 2_000_000 } } } });
    const ran = spin(new CpuLimiter(doc.limits), 5, 100_000_000);
    expect(ran).toBeGreaterThanOrEqual(10_000_000);
    expect(ran).toBeLessThanOrEqual(10_000_000 + 20_000 + 1);
  });

  it('holds a spinning guest to a percentage of the host CPU', () => {
    const doc = policyWith([], { limits: { cpu: { cap: { percent: 25 } } } });
    const ips = 50_000_000;
    const ran = spin(new CpuLimiter(doc.limits), 2, ips);
    // 25% of 2 s at 50 MIPS, give or take one window and the probe slice.
    expect(ran / (2 * ips)).toBeGreaterThan(0.24);
    expect(ran / (2 * ips)).toBeLessThan(0.26);
  });

  it('runs unthrottled without a cap, and stops at the instruction budget', () => {
    const free = new CpuLimiter(policyWith([]).limits);
    expect(free.sliceBudget(0, 12345)).toBe(12345);
    const doc = policyWith([], { limits: { budget: { instructions: 3_500_000 } } });
    const limiter = new CpuLimiter(doc.limits);
    expect(spin(limiter, 10, 10_000_000)).toBe(3_500_000);
    expect(limiter.exhausted(0)).toBe(true);
    expect(limiter.waitTime(0)).toBe(Infinity);
  });

  it('stops at the wall-time budget', () => {
    const doc = policyWith([], { limits: { budget: { wallTimeMs: 1500 } } });
    const limiter = new CpuLimiter(doc.limits, 0);
    const ran = spin(limiter, 10, 1_000_000);
    expect(ran).toBeGreaterThanOrEqual(1_500_000);
    expect(ran).toBeLessThanOrEqual(2_500_000); // the last slice may start just before the deadline
    expect(limiter.exhausted(1500 * MS)).toBe(true);
    expect(limiter.exhausted(1499 * MS)).toBe(false);
  });
});
