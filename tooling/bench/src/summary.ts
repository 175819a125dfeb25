import type { Milestone, PeerRun } from './run-result.js';

/** One peer over all its repetitions: medians of the runs that got there. */
export interface PeerSummary {
  peer: string;
  runs: number;
  /** How many runs reached the marker / the job's end. */
  reachedMarker: number;
  reachedDone: number;
  marker: Milestone | null;
  done: Milestone | null;
  /** Median of where the runs stopped (for a peer that did not finish, how far it got). */
  stopped: Milestone;
  /** Instructions per µs over the whole run (to the job's end, or to where it stopped). */
  mips: number | null;
  /** The same per host CPU second of the peer's process: less sensitive to a busy host. */
  mipsPerCpu: number | null;
  /** Where the instruction counts come from. */
  instructionSource: string;
  /** The reasons the runs stopped, distinct. */
  reasons: string[];
  guestJobMs: number | null;
  lastLines: string[];
  /** Where the last run's CPU stopped, when the peer says. */
  where: string | null;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function medianOf(values: readonly (number | null)[]): number | null {
  return median(values.filter((v): v is number => v !== null));
}

function medianMilestone(ms: readonly Milestone[]): Milestone | null {
  if (ms.length === 0) return null;
  return {
    seconds: medianOf(ms.map((m) => m.seconds))!,
    cpuSeconds: medianOf(ms.map((m) => m.cpuSeconds)),
    instructions: medianOf(ms.map((m) => m.instructions)),
  };
}

/**
 * Summarizes one peer's runs. `counts`, when given, are runs of the same peer that counted
 * instructions but were timed differently (QEMU under -icount): their counts replace the timing runs'.
 */
export function summarize(peer: string, runs: readonly PeerRun[], counts: readonly PeerRun[] = []): PeerSummary {
  const markers = runs.flatMap((r) => (r.marker ? [r.marker] : []));
  const dones = runs.flatMap((r) => (r.done ? [r.done] : []));
  const marker = medianMilestone(markers);
  const done = medianMilestone(dones);
  const stopped = medianMilestone(runs.map((r) => r.stopped))!;
  let instructionSource = runs[0]?.instructionSource ?? '';
  if (counts.length > 0) {
    const countMarker = medianOf(counts.map((r) => r.marker?.instructions ?? null));
    const countDone = medianOf(counts.map((r) => r.done?.instructions ?? null));
    if (marker) marker.instructions = countMarker;
    if (done) done.instructions = countDone;
    stopped.instructions = done ? countDone : null;
    instructionSource = `${counts[0].instructionSource} (a separate run; its own times are in the JSON)`;
  }
  const end = done ?? stopped;
  return {
    peer,
    runs: runs.length,
    reachedMarker: markers.length,
    reachedDone: dones.length,
    marker,
    done,
    stopped,
    mips: end.instructions !== null && end.seconds > 0 ? end.instructions / end.seconds / 1e6 : null,
    mipsPerCpu: end.instructions !== null && end.cpuSeconds !== null && end.cpuSeconds > 0 ? end.instructions / end.cpuSeconds / 1e6 : null,
    instructionSource,
    reasons: [...new Set(runs.map((r) => r.reason))],
    guestJobMs: medianOf(runs.map((r) => r.guestJobMs)),
    lastLines: runs[runs.length - 1]?.lastLines ?? [],
    where: runs[runs.length - 1]?.where ?? null,
  };
}

/** a's time over b's, or a lower bound when a did not get there (and b did). */
export interface Ratio {
  value: number;
  /** a did not reach the milestone: its time there is more than `value` × b's. */
  lowerBound: boolean;
}

export function timeRatio(a: PeerSummary, b: PeerSummary, milestone: 'marker' | 'done', clock: 'wall' | 'cpu' = 'wall'): Ratio | null {
  const time = (m: Milestone | null): number | null => (m === null ? null : clock === 'wall' ? m.seconds : m.cpuSeconds);
  const bt = time(b[milestone]);
  if (bt === null || bt <= 0) return null;
  const at = time(a[milestone]);
  if (at !== null) return { value: at / bt, lowerBound: false };
  if (a[milestone] !== null) return null;
  // A run that failed before it started says nothing about how long it would take.
  const stopped = time(a.stopped);
  if (stopped === null || stopped <= 0) return null;
  return { value: stopped / bt, lowerBound: true };
}
