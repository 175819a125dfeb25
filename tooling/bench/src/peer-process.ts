/**
 * A peer hosted in Node (tsvm or v86), run in a process of its own so that the peers do not share a
 * heap, a JIT or an event loop, and its CPU time is its own. The benchmark forks this file, sends one
 * `NodePeerJob` and reads `PeerMessage`s back.
 */
import type { NodePeerJob, PeerMessage } from './peers/node-peer.js';
import { runTsvm } from './peers/tsvm.js';
import { runV86 } from './peers/v86.js';

function send(message: PeerMessage, then?: () => void): void {
  process.send?.(message, then);
}

process.once('message', (job: NodePeerJob) => {
  const run = job.peer === 'tsvm' ? runTsvm(job, send) : runV86(job, send);
  run.then(
    (result) => send({ type: 'result', run: result }, () => process.exit(0)),
    (e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
  );
});
