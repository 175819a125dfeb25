import { DeviceError } from './errors.js';

/** A callback a device arms on the virtual clock. Created once; arming and firing allocate nothing. */
export interface Timer {
  /** Fire at virtual time `deadline` (ns). Re-arming moves it. */
  arm(deadline: number): void;
  disarm(): void;
  readonly armed: boolean;
  readonly deadline: number;
}

/** What devices see of the machine's clock. */
export interface Clock {
  /** Virtual time in nanoseconds since the machine started. */
  now(): number;
  /** A timer that calls `callback(now)` when its deadline passes. */
  createTimer(name: string, callback: (now: number) => void): Timer;
}

class ClockTimer implements Timer {
  armed = false;
  deadline = 0;
  constructor(
    private readonly clock: VirtualClock,
    readonly name: string,
    readonly callback: (now: number) => void,
  ) {}

  arm(deadline: number): void {
    if (!Number.isFinite(deadline)) throw new DeviceError('InvalidArgument', `timer ${this.name}: deadline ${deadline} is not finite`);
    this.deadline = deadline;
    this.armed = true;
    this.clock.changed();
  }

  disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    this.clock.changed();
  }
}

/**
 * The machine's one virtual clock. Nothing reads the host clock: the machine moves time forward
 * (from the host clock in real-time mode, from the instruction count in deterministic mode) with
 * `advanceTo`, which fires due timers in deadline order (ties in creation order). Devices hold a
 * handful of timers, so a linear scan for the next deadline is cheaper than a heap.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private readonly timers: ClockTimer[] = [];
  private next = Infinity;
  private dirty = false;

  now(): number {
    return this.time;
  }

  createTimer(name: string, callback: (now: number) => void): Timer {
    const t = new ClockTimer(this, name, callback);
    this.timers.push(t);
    return t;
  }

  /** @internal called by timers when their deadline changes. */
  changed(): void {
    this.dirty = true;
  }

  /** The earliest armed deadline, or Infinity when no timer is armed. */
  nextDeadline(): number {
    if (this.dirty) {
      let best = Infinity;
      for (const t of this.timers) if (t.armed && t.deadline < best) best = t.deadline;
      this.next = best;
      this.dirty = false;
    }
    return this.next;
  }

  /**
   * Move time to `time` (never backwards), firing every timer whose deadline is at or before it.
   * A callback sees `now()` equal to its own deadline, so periodic devices re-arm without drift.
   */
  advanceTo(time: number): void {
    if (time < this.time) return;
    // Bounded: a timer re-armed at or before the current time would loop forever; each pass fires
    // only timers due by `time`, and a callback re-arming into the past is pushed to `time`.
    for (let guard = 0; guard < 1_000_000; guard++) {
      const deadline = this.nextDeadline();
      if (deadline > time) break;
      let due: ClockTimer | undefined;
      for (const t of this.timers) if (t.armed && t.deadline === deadline) { due = t; break; }
      if (due === undefined) break;
      due.armed = false;
      this.dirty = true;
      this.time = Math.max(this.time, deadline);
      due.callback(this.time);
      if (due.armed && due.deadline <= this.time && due.deadline === deadline) {
        throw new DeviceError('InvalidState', `timer ${due.name} re-armed at its own deadline ${deadline}: it would fire forever`);
      }
    }
    this.time = time;
  }

  /** Restore the time of a saved machine; timers are re-armed by their devices' loadState. */
  setTime(time: number): void {
    if (!Number.isFinite(time) || time < 0) throw new DeviceError('InvalidArgument', `clock time ${time} is not a valid time`);
    this.time = time;
  }
}
