import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { V86 } from 'v86';
import { BenchError } from '../errors.js';
import { GuestOutput, WrappingCounter } from '../guest-output.js';
import { RunClock } from '../run-clock.js';
import type { Milestone, PeerRun } from '../run-result.js';
import { PROGRESS_EVERY_S, type NodePeerJob, type Report } from './node-peer.js';

/** How often the 32-bit instruction counter is read: far more often than it can wrap (2^32 at 500 MIPS is 8 s). */
const SAMPLE_EVERY_MS = 50;

function arrayBuffer(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

/** Boots the guest on v86 headless in this process: SeaBIOS, then the bzImage and initrd v86 loads itself. */
export async function runV86(job: NodePeerJob, report: Report): Promise<PeerRun> {
  if (job.bios === undefined) throw new BenchError('MissingFile', 'v86 needs a BIOS image');
  const bios = arrayBuffer(job.bios);
  const bzimage = arrayBuffer(job.kernel);
  const initrd = arrayBuffer(job.initrd);
  const wasmPath = createRequire(import.meta.url).resolve('v86/build/v86.wasm');
  const jit = job.peer !== 'v86-nojit';

  const clock = new RunClock();
  const counter = new WrappingCounter();
  const marks: { marker: Milestone | null; done: Milestone | null } = { marker: null, done: null };
  let finish: (reason: string) => void = () => {};
  const finished = new Promise<string>((resolve) => (finish = resolve));

  const emulator = new V86({
    bios: { buffer: bios },
    bzimage: { buffer: bzimage },
    initrd: { buffer: initrd },
    cmdline: job.append,
    memory_size: job.memoryMiB << 20,
    autostart: true,
    disable_jit: !jit,
    wasm_path: wasmPath,
  });
  const count = (): number => counter.sample(emulator.get_instruction_counter());
  const output = new GuestOutput((event) => {
    const at = clock.at(count());
    marks[event] = at;
    report({ type: 'event', event, at });
    if (event === 'done') finish('done');
  });
  emulator.add_listener('serial0-output-byte', (b) => output.push(b));
  const sampler = setInterval(count, SAMPLE_EVERY_MS);
  const progress = setInterval(() => report({ type: 'progress', at: clock.at(count()) }), PROGRESS_EVERY_S * 1000);
  const limit = setTimeout(() => finish('time limit'), job.timeout * 1000);

  const reason = await finished;
  const stopped = marks.done ?? clock.at(count());
  clearInterval(sampler);
  clearInterval(progress);
  clearTimeout(limit);
  await emulator.destroy();
  return {
    peer: job.peer,
    ...marks,
    stopped,
    reason,
    where: null,
    guestJobMs: output.guestJobMs,
    lastLines: output.lastLines(),
    instructionSource: `get_instruction_counter(), sampled every ${SAMPLE_EVERY_MS} ms (JIT ${jit ? 'on' : 'off'})`,
  };
}
