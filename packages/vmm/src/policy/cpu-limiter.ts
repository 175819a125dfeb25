import type { PolicyDocument } from './schema.js';
import { TokenBucket } from './token-bucket.js';

/** The cap is enforced over 10 ms windows: a VM may run that far ahead of its rate, no further. */
const WINDOW_MS = 10;

/**
 * The CPU cap and the instruction budget of `limits`, as the run loop asks for them: before each
 * slice, `sliceBudget(now)` says how many instructions may run (0: wait `waitTime(now)` host ns, Infinity
 * once the instruction or wall-time budget is spent);
 * after it, `charge(instructions, hostNs)` accounts for what ran. Time is the host's, in ns, since a
 * cap limits the host CPU a VM takes.
 */
export class CpuLimiter {
  /** Instructions the budget has left (Infinity without one). */
  remaining: number;
  private readonly instructions: TokenBucket | undefined;
  /** For a percentage cap: host ns of running time, refilled at `percent`% of the wall clock. */
  private readonly runTime: TokenBucket | undefined;
  /** Host time (ns) at which the wall-time budget runs out. */
  private readonly deadline: number;
  /** Instructions per host ns measured so far, to turn running time into a slice size. */
  private rate = 0;

  constructor(limits: PolicyDocument['limits'], now = 0) {
    this.remaining = limits.budget.instructions ?? Infinity;
    this.deadline = limits.budget.wallTimeMs === undefined ? Infinity : now + limits.budget.wallTimeMs * 1_000_000;
    const cap = limits.cpu.cap;
    if (cap !== undefined && 'instructionsPerSecond' in cap) {
      const size = Math.max(1, Math.round((cap.instructionsPerSecond * WINDOW_MS) / 1000));
      this.instructions = new TokenBucket({ size, oneTimeBurst: 0, refillTime: WINDOW_MS }, now);
    } else if (cap !== undefined) {
      const size = Math.max(1, Math.round((WINDOW_MS * 1_000_000 * cap.percent) / 100));
      this.runTime = new TokenBucket({ size, oneTimeBurst: 0, refillTime: WINDOW_MS }, now);
    }
  }

  /** Instructions the next slice may run at host time `now` (ns), at most `max`. */
  sliceBudget(now: number, max: number): number {
    if (now >= this.deadline) return 0;
    let n = Math.min(max, this.remaining);
    if (this.instructions !== undefined) n = Math.min(n, Math.max(0, Math.floor(this.instructions.available(now))));
    if (this.runTime !== undefined) {
      const ns = this.runTime.available(now);
      if (ns <= 0) return 0;
      // Until a rate is known, run a small probe slice.
      n = Math.min(n, this.rate === 0 ? 1000 : Math.max(1, Math.floor(ns * this.rate)));
    }
    return n;
  }

  /** Accounts for a slice that ran `instructions` in `hostNs` ns, ending at host time `now`. */
  charge(instructions: number, hostNs: number, now: number): void {
    this.remaining -= instructions;
    if (this.instructions !== undefined && instructions > 0) this.instructions.charge(instructions, now);
    if (this.runTime !== undefined && hostNs > 0) {
      this.runTime.charge(hostNs, now);
      this.rate = instructions / hostNs;
    }
  }

  /** Host ns to wait before a slice can run; Infinity once the budget is spent. */
  waitTime(now: number): number {
    if (this.remaining <= 0 || now >= this.deadline) return Infinity;
    // Wait for half a window rather than one token: a throttled VM runs in sensible slices, and
    // host timers (about 1 ms at best on a busy host) wake it a few times per window, not per token.
    if (this.instructions !== undefined) return this.instructions.waitTime(Math.ceil(this.instructions.size / 2), now);
    if (this.runTime !== undefined) return this.runTime.waitTime(Math.ceil(this.runTime.size / 2), now);
    return 0;
  }

  /** Whether the instruction or wall-time budget is spent at `now` (the `budget-exhausted` event). */
  exhausted(now: number): boolean {
    return this.remaining <= 0 || now >= this.deadline;
  }
}

