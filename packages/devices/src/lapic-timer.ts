import type { Clock, Timer } from './clock.js';

/** LVT timer mode field (bits 18-17, SDM 11.5.4): one-shot, periodic; TSC-deadline is not modelled. */
export const TIMER_MODE_ONE_SHOT = 0;
export const TIMER_MODE_PERIODIC = 1;
/** Divide configuration register: bits 0, 1 and 3 are the divide value. */
export const TIMER_DIVIDE_MASK = 0xb;

/**
 * The local APIC timer's counter (SDM 11.5.4): an initial count register, a current count that
 * decrements once per (bus clock x divisor), one-shot or periodic. The count is computed from
 * virtual time; one clock timer is armed at the next time it reaches zero.
 */
export class ApicTimer {
  initialCount = 0;
  divideConfig = 0;
  private mode = TIMER_MODE_ONE_SHOT;
  /** The counter held `baseCount` at virtual time `base` (0 = stopped). */
  private base = 0;
  private baseCount = 0;
  private readonly timer: Timer;

  constructor(
    private readonly clock: Clock,
    name: string,
    private readonly nsPerTick: number,
    private readonly onExpire: () => void,
  ) {
    this.timer = clock.createTimer(name, (now) => this.fired(now));
  }

  private divisor(): number {
    const code = (this.divideConfig & 3) | ((this.divideConfig >>> 1) & 4);
    return code === 7 ? 1 : 2 << code;
  }

  private counting(): boolean {
    return this.baseCount !== 0 && (this.mode === TIMER_MODE_ONE_SHOT || this.mode === TIMER_MODE_PERIODIC);
  }

  private ticksSince(now: number): number {
    return Math.floor((now - this.base) / (this.nsPerTick * this.divisor()));
  }

  /** The current count register at `now`. */
  current(now: number): number {
    if (!this.counting()) return 0;
    const t = this.ticksSince(now);
    if (t < this.baseCount) return this.baseCount - t;
    if (this.mode !== TIMER_MODE_PERIODIC || this.initialCount === 0) return 0;
    return this.initialCount - ((t - this.baseCount) % this.initialCount);
  }

  /** A write of the initial count starts counting from it (0 stops the timer). */
  writeInitial(value: number): void {
    this.initialCount = value >>> 0;
    this.restart(this.clock.now(), this.initialCount);
  }

  writeDivide(value: number): void {
    const now = this.clock.now();
    const count = this.current(now);
    this.divideConfig = value & TIMER_DIVIDE_MASK;
    this.restart(now, count);
  }

  /** The LVT timer entry's mode field changed (or was written). */
  setMode(mode: number): void {
    if (mode === this.mode) return;
    const now = this.clock.now();
    const count = this.current(now);
    this.mode = mode;
    this.restart(now, count);
  }

  /** Continue counting from `count` as of `now`. */
  restart(now: number, count: number): void {
    this.base = now;
    this.baseCount = count;
    if (!this.counting()) {
      this.timer.disarm();
      return;
    }
    const t = this.ticksSince(now);
    let next: number;
    if (t < this.baseCount) next = this.baseCount;
    else if (this.mode === TIMER_MODE_PERIODIC && this.initialCount !== 0) {
      next = this.baseCount + (Math.floor((t - this.baseCount) / this.initialCount) + 1) * this.initialCount;
    } else {
      this.timer.disarm();
      return;
    }
    this.timer.arm(this.base + next * this.nsPerTick * this.divisor());
  }

  private fired(now: number): void {
    this.onExpire();
    if (this.mode === TIMER_MODE_PERIODIC && this.initialCount !== 0) this.restart(now, this.initialCount);
    else this.restart(now, 0);
  }

  reset(): void {
    this.initialCount = 0;
    this.divideConfig = 0;
    this.mode = TIMER_MODE_ONE_SHOT;
    this.restart(this.clock.now(), 0);
  }
}
