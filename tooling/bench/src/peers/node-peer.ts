import type { GuestEvent } from '../guest-output.js';
import type { Milestone, PeerRun } from '../run-result.js';

/** What a peer hosted in a Node process (tsvm, v86) is asked to run. */
export interface NodePeerJob {
  peer: 'tsvm' | 'v86' | 'v86-nojit';
  kernel: string;
  initrd: string;
  /** SeaBIOS image (v86 only). */
  bios: string | undefined;
  append: string;
  memoryMiB: number;
  /** Wall-clock limit, seconds. */
  timeout: number;
  /** Instruction limit (tsvm only). */
  maxInstructions: number;
  tsvmTime: 'deterministic' | 'realtime';
  tsvmCpu: string;
}

/** Messages from the peer's process to the benchmark. */
export type PeerMessage =
  | { type: 'event'; event: GuestEvent; at: Milestone }
  | { type: 'progress'; at: Milestone; where?: string }
  | { type: 'result'; run: PeerRun }
  | { type: 'error'; message: string };

export type Report = (message: PeerMessage) => void;

/** Seconds between progress messages of a long run. */
export const PROGRESS_EVERY_S = 15;
