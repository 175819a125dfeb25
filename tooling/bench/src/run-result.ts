/** The state of a peer at one moment of its run. */
export interface Milestone {
  /** Wall-clock seconds since the peer was started (its setup included). */
  seconds: number;
  /** Host CPU seconds the peer's process used since it was started; null where it cannot be read. */
  cpuSeconds: number | null;
  /** Guest instructions executed so far; null where the peer cannot count them. */
  instructions: number | null;
}

/** One run of one peer. */
export interface PeerRun {
  peer: string;
  /** When the marker at the start of /init appeared, or null. */
  marker: Milestone | null;
  /** When the job's end (TSVM-LINUX-JOB-DONE) appeared, or null. */
  done: Milestone | null;
  /** Where the run stopped (the same as `done` when the guest finished). */
  stopped: Milestone;
  /** Why it stopped: `done`, `timeout`, `instruction limit`, or what the emulator reported. */
  reason: string;
  /** The job's duration by the guest's clock, ms (from the JOB-DONE line). */
  guestJobMs: number | null;
  /** Where the guest's CPU was when the run stopped (tsvm only: its registers), or null. */
  where: string | null;
  /** The guest's last console lines. */
  lastLines: string[];
  /** How the instruction counts were obtained. */
  instructionSource: string;
}
