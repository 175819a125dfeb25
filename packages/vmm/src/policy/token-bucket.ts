import type { RateLimitConfig, TokenBucketConfig } from './schema.js';

const NS_PER_MS = 1_000_000;

/**
 * A token bucket with Firecracker's semantics, driven by virtual time (ns):
 * - it starts full (`size` tokens) with an extra `oneTimeBurst` that is spent first and never refills;
 * - it refills at `size / refillTime` continuously, never above `size`;
 * - a request larger than `size` can never fit, so it is let through once when the bucket is not
 *   already in debt, leaving the budget negative: the debt is paid back by refill before anything
 *   else passes (Firecracker empties the bucket and blocks for the excess / size × refill time).
 */
export class TokenBucket {
  readonly size: number;
  readonly refillTimeNs: number;
  /** Tokens available now; negative while in debt. */
  private budget: number;
  private burst: number;
  private last: number;

  constructor(config: TokenBucketConfig, now = 0) {
    this.size = config.size;
    this.refillTimeNs = config.refillTime * NS_PER_MS;
    this.budget = config.size;
    this.burst = config.oneTimeBurst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now <= this.last) return;
    this.budget = Math.min(this.size, this.budget + ((now - this.last) * this.size) / this.refillTimeNs);
    this.last = now;
  }

  /** Whether `tokens` could be taken at `now` (refills to `now` first). */
  fits(tokens: number, now: number): boolean {
    if (now > this.last) this.refill(now);
    const rest = tokens - this.burst;
    return rest <= this.budget || (rest > this.size && this.budget >= 0);
  }

  /** Takes `tokens` that `fits` allowed at the same `now`: the one-time burst first, then the budget. */
  take(tokens: number): void {
    if (tokens <= this.burst) {
      this.burst -= tokens;
    } else {
      this.budget -= tokens - this.burst;
      this.burst = 0;
    }
  }

  /** Takes `tokens` at virtual time `now` (ns) if they are available; false leaves the bucket unchanged. */
  consume(tokens: number, now: number): boolean {
    if (!this.fits(tokens, now)) return false;
    this.take(tokens);
    return true;
  }

  /**
   * Takes `tokens` at `now` whether or not they are there (for work already done, such as CPU time
   * spent): the one-time burst first, then the budget, which may go into debt.
   */
  charge(tokens: number, now: number): void {
    this.refill(now);
    const fromBurst = Math.min(this.burst, tokens);
    this.burst -= fromBurst;
    this.budget -= tokens - fromBurst;
  }

  /** Virtual ns from `now` until `tokens` could pass (0 if they can now). */
  waitTime(tokens: number, now: number): number {
    this.refill(now);
    const rest = tokens - this.burst;
    if (rest <= 0 || rest <= this.budget) return 0;
    const needed = rest > this.size ? -this.budget : rest - this.budget;
    return Math.max(0, Math.ceil((needed * this.refillTimeNs) / this.size));
  }

  /** Tokens available now, the one-time burst included (negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.budget + this.burst;
  }
}

/** Bytes and operations limits of one device (a disk, a NIC): a request passes when both buckets let it. */
export class RateLimiter {
  readonly bytes: TokenBucket | undefined;
  readonly ops: TokenBucket | undefined;

  constructor(config: RateLimitConfig, now = 0) {
    this.bytes = config.bytes === undefined ? undefined : new TokenBucket(config.bytes, now);
    this.ops = config.ops === undefined ? undefined : new TokenBucket(config.ops, now);
  }

  /**
   * Asks to do one operation of `bytes` bytes at `now`. Both buckets are charged or neither is, so a
   * refused request can be retried after `waitTime`.
   */
  consume(bytes: number, now: number): boolean {
    const b = this.bytes;
    const o = this.ops;
    if ((b !== undefined && !b.fits(bytes, now)) || (o !== undefined && !o.fits(1, now))) return false;
    b?.take(bytes);
    o?.take(1);
    return true;
  }

  /** Virtual ns until an operation of `bytes` bytes could pass. */
  waitTime(bytes: number, now: number): number {
    return Math.max(this.bytes?.waitTime(bytes, now) ?? 0, this.ops?.waitTime(1, now) ?? 0);
  }
}
