import { readFileSync } from 'node:fs';
import { Machine, type MachineConfig, type MachineExit } from '@tsvm/vmm';
import { GuestOutput } from '../guest-output.js';
import { RunClock } from '../run-clock.js';
import type { Milestone, PeerRun } from '../run-result.js';
import { PROGRESS_EVERY_S, type NodePeerJob, type Report } from './node-peer.js';

function describeExit(exit: MachineExit): string {
  switch (exit.reason) {
    case 'budget':
      return 'instruction limit';
    case 'reset':
      return `guest reset (${exit.source})`;
    case 'exit':
      return `debug exit, status ${exit.status}`;
    case 'halted':
      return 'halted with nothing to wake it';
    default:
      return exit.reason;
  }
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

/** The CPU's position, for a run that stopped early: a kernel running at its virtual addresses (paging on, EIP at 0xC0000000 and up) is past the decompressor. */
function whereIs(machine: Machine): string {
  const s = machine.cpu.getState();
  return `CS:EIP ${s.cs.selector.toString(16).padStart(4, '0')}:${hex(s.eip)}, CR0 ${hex(s.cr0)}, CR3 ${hex(s.cr3)}${s.halted ? ', halted' : ''}`;
}

/** Boots the guest on a tsvm `Machine` in this process (Linux boot protocol, no firmware). */
export async function runTsvm(job: NodePeerJob, report: Report): Promise<PeerRun> {
  const kernel = new Uint8Array(readFileSync(job.kernel));
  const initrd = new Uint8Array(readFileSync(job.initrd));
  const clock = new RunClock();
  const marks: { marker: Milestone | null; done: Milestone | null } = { marker: null, done: null };
  let machine: Machine | undefined;
  const output = new GuestOutput((event) => {
    const at = clock.at(machine?.instructions ?? 0);
    marks[event] = at;
    report({ type: 'event', event, at });
    if (event === 'done') machine?.stop();
  });
  let reason: string;
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  try {
    machine = new Machine({
      memory: job.memoryMiB << 20,
      cpu: job.tsvmCpu as MachineConfig['cpu'],
      boot: { kind: 'linux', kernel, initrd, cmdline: job.append },
      time: job.tsvmTime,
      noReboot: true,
    });
    const m = machine;
    m.serial(0).setSink((b) => output.push(b));
    timers.push(
      setTimeout(() => {
        timedOut = true;
        m.stop();
      }, job.timeout * 1000),
      setInterval(() => report({ type: 'progress', at: clock.at(m.instructions), where: whereIs(m) }), PROGRESS_EVERY_S * 1000),
    );
    const exit = await m.run({ maxInstructions: job.maxInstructions });
    reason = marks.done !== null ? 'done' : timedOut ? 'time limit' : describeExit(exit);
  } catch (e) {
    reason = `error: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
  return {
    peer: 'tsvm',
    ...marks,
    stopped: marks.done ?? clock.at(machine?.instructions ?? 0),
    reason,
    where: machine === undefined || marks.done !== null ? null : whereIs(machine),
    guestJobMs: output.guestJobMs,
    lastLines: output.lastLines(),
    instructionSource: `Machine.instructions (${job.tsvmTime} time, CPU ${job.tsvmCpu})`,
  };
}
