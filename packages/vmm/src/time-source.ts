import { VmmError } from './errors.js';

/**
 * Where the machine's virtual time comes from. The run loop asks for the time after each slice of
 * instructions and moves the virtual clock to it.
 * - `deterministic`: time is a pure function of the instructions executed, so the same run twice gives
 *   the same device timing and the same serial output byte for byte;
 * - `realtime`: time follows the host's monotonic clock, so guest clocks keep pace with the wall.
 */
export interface TimeSource {
  readonly mode: 'deterministic' | 'realtime';
  /** Virtual ns now, given the total count of instructions executed so far. */
  now(instructions: number): number;
  /**
   * Skip idle time (the CPU halted until `deadline` ns). In deterministic mode this moves time
   * forward without instructions; in real-time mode the caller waits on the host instead.
   */
  skipTo(deadline: number, instructions: number): void;
  /** The state to carry across a snapshot. */
  save(instructions: number): { mode: 'deterministic' | 'realtime'; now: number };
}

/** Deterministic time: `nsPerInstruction` per instruction plus the idle time skipped at HLT. */
export class DeterministicTime implements TimeSource {
  readonly mode = 'deterministic' as const;
  private skipped = 0;

  constructor(
    readonly nsPerInstruction = 1,
    start = 0,
    instructionsAtStart = 0,
  ) {
    if (!(nsPerInstruction > 0) || !Number.isFinite(nsPerInstruction)) {
      throw new VmmError('InvalidArgument', `nsPerInstruction must be a positive number, got ${nsPerInstruction}`);
    }
    this.skipped = start - instructionsAtStart * nsPerInstruction;
  }

  now(instructions: number): number {
    return instructions * this.nsPerInstruction + this.skipped;
  }

  skipTo(deadline: number, instructions: number): void {
    const now = this.now(instructions);
    if (deadline > now) this.skipped += deadline - now;
  }

  save(instructions: number): { mode: 'deterministic'; now: number } {
    return { mode: this.mode, now: this.now(instructions) };
  }
}

/** Real time: virtual ns follow the host's monotonic clock from `start`. */
export class RealTime implements TimeSource {
  readonly mode = 'realtime' as const;
  private readonly origin: number;

  constructor(
    start = 0,
    // performance.now() is monotonic and, unlike hrtime.bigint(), allocates nothing per call.
    private readonly hostNow: () => number = () => Math.floor(performance.now() * 1e6),
  ) {
    this.origin = hostNow() - start;
  }

  now(_instructions: number): number {
    return this.hostNow() - this.origin;
  }

  skipTo(_deadline: number, _instructions: number): void {
    // Host time passes by itself; the run loop sleeps on the host until the deadline.
  }

  save(instructions: number): { mode: 'realtime'; now: number } {
    return { mode: this.mode, now: this.now(instructions) };
  }
}
