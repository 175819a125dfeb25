import { describe, expect, it } from 'vitest';
import { RateLimiter, TokenBucket } from './token-bucket.js';

const MS = 1_000_000;

describe('TokenBucket', () => {
  it('starts full, empties, and refills at size / refillTime', () => {
    const b = new TokenBucket({ size: 1000, oneTimeBurst: 0, refillTime: 100 });
    expect(b.consume(1000, 0)).toBe(true);
    expect(b.consume(1, 0)).toBe(false);
    expect(b.waitTime(100, 0)).toBe(10 * MS);
    expect(b.consume(100, 9 * MS)).toBe(false);
    expect(b.consume(100, 10 * MS)).toBe(true);
    expect(b.available(10 * MS)).toBe(0);
  });

  it('never refills above size', () => {
    const b = new TokenBucket({ size: 10, oneTimeBurst: 0, refillTime: 1 });
    b.consume(10, 0);
    expect(b.available(1000 * MS)).toBe(10);
    expect(b.consume(11, 1000 * MS)).toBe(true); // over-sized: passes once
  });

  it('spends the one-time burst first and never refills it', () => {
    const b = new TokenBucket({ size: 100, oneTimeBurst: 50, refillTime: 1000 });
    expect(b.available(0)).toBe(150);
    expect(b.consume(40, 0)).toBe(true);
    expect(b.available(0)).toBe(110);
    expect(b.consume(30, 0)).toBe(true); // 10 from the burst, 20 from the bucket
    expect(b.available(0)).toBe(80);
    expect(b.available(10_000 * MS)).toBe(100);
  });

  it('lets an over-sized request through once, in debt, and holds later ones until repaid', () => {
    const b = new TokenBucket({ size: 100, oneTimeBurst: 0, refillTime: 100 });
    expect(b.consume(350, 0)).toBe(true);
    expect(b.available(0)).toBe(-250);
    expect(b.consume(350, 0)).toBe(false);
    expect(b.consume(1, 0)).toBe(false);
    // 250 tokens of debt refill in 250 ms; 1 more token needs 1 ms more.
    expect(b.waitTime(1, 0)).toBe(251 * MS);
    expect(b.consume(1, 250 * MS)).toBe(false);
    expect(b.consume(1, 251 * MS)).toBe(true);
    expect(b.consume(350, 251 * MS)).toBe(true); // not in debt: the next over-sized one passes again
  });

  it('charge takes tokens unconditionally, burst first, into debt', () => {
    const b = new TokenBucket({ size: 10, oneTimeBurst: 3, refillTime: 10 });
    b.charge(20, 0);
    expect(b.available(0)).toBe(-7);
    expect(b.consume(1, 0)).toBe(false);
    expect(b.consume(1, 8 * MS)).toBe(true);
  });

  it('a refused request leaves the bucket as it was', () => {
    const b = new TokenBucket({ size: 100, oneTimeBurst: 5, refillTime: 100 });
    b.consume(95, 0);
    expect(b.consume(50, 0)).toBe(false);
    expect(b.available(0)).toBe(10);
  });
});

describe('RateLimiter', () => {
  it('charges both buckets or neither', () => {
    const r = new RateLimiter({ bytes: { size: 4096, oneTimeBurst: 0, refillTime: 1000 }, ops: { size: 2, oneTimeBurst: 0, refillTime: 1000 } });
    expect(r.consume(512, 0)).toBe(true);
    expect(r.consume(512, 0)).toBe(true);
    expect(r.consume(512, 0)).toBe(false); // out of ops
    expect(r.bytes?.available(0)).toBe(3072); // the refused request took no bytes
    expect(r.waitTime(512, 0)).toBe(500 * MS);
    expect(r.consume(512, 500 * MS)).toBe(true);
  });

  it('holds a disk-heavy stream to the bucket rate in virtual time', () => {
    const r = new RateLimiter({ bytes: { size: 1 << 20, oneTimeBurst: 0, refillTime: 1000 } });
    let now = 0;
    let moved = 0;
    while (now < 10_000 * MS) {
      if (r.consume(65536, now)) moved += 65536;
      else now += r.waitTime(65536, now);
    }
    // 1 MiB to start with + 1 MiB/s for 10 s
    expect(moved).toBeGreaterThanOrEqual(10 << 20);
    expect(moved).toBeLessThanOrEqual((11 << 20) + 65536);
  });
});
