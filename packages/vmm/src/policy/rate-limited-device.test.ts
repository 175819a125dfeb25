import { MemoryBlockDevice } from '@tsvm/storage';
import { describe, expect, it } from 'vitest';
import { RateLimitedDevice, type LimiterClock } from './rate-limited-device.js';
import { RateLimiter } from './token-bucket.js';

const MS = 1_000_000;

/** A virtual clock whose sleeps just move time on. */
function fakeClock(): LimiterClock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: (ns: number) => {
      clock.t += ns;
      return Promise.resolve();
    },
  };
  return clock;
}

describe('RateLimitedDevice', () => {
  it('holds a disk-heavy guest to its byte bucket', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ bytes: { size: 1 << 20, oneTimeBurst: 0, refillTime: 1000 } });
    const disk = new RateLimitedDevice(new MemoryBlockDevice(64 << 20), () => limiter, clock);
    const buffer = new Uint8Array(64 * 1024);
    for (let i = 0; i < 160; i++) await disk.write(i * buffer.length, buffer); // 10 MiB
    // The first MiB is the full bucket; the other 9 take 9 s at 1 MiB/s.
    expect(clock.t).toBeGreaterThanOrEqual(9000 * MS - 1);
    expect(clock.t).toBeLessThan(9100 * MS);
  });

  it('holds operations to the ops bucket and data arrives intact', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ops: { size: 10, oneTimeBurst: 5, refillTime: 1000 } });
    const inner = new MemoryBlockDevice(1 << 20);
    const disk = new RateLimitedDevice(inner, () => limiter, clock);
    await disk.write(512, Uint8Array.of(1, 2, 3));
    for (let i = 0; i < 24; i++) await disk.read(0, new Uint8Array(512));
    // 25 operations: 15 from the burst and the full bucket, 10 more at 10/s.
    expect(clock.t).toBeGreaterThanOrEqual(1000 * MS - 1);
    expect(clock.t).toBeLessThan(1100 * MS);
    const back = new Uint8Array(3);
    await disk.read(512, back);
    expect([...back]).toEqual([1, 2, 3]);
    expect(disk.size).toBe(1 << 20);
  });

  it('follows a limiter that changes, and passes everything without one', async () => {
    const clock = fakeClock();
    let limiter: RateLimiter | undefined = new RateLimiter({ ops: { size: 1, oneTimeBurst: 0, refillTime: 1000 } });
    const disk = new RateLimitedDevice(new MemoryBlockDevice(1 << 20), () => limiter, clock);
    await disk.flush();
    await disk.read(0, new Uint8Array(1));
    limiter = undefined;
    for (let i = 0; i < 100; i++) await disk.read(0, new Uint8Array(1));
    expect(clock.t).toBe(0);
  });
});
