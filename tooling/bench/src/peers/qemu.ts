import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../errors.js';
import { GuestOutput, type GuestEvent } from '../guest-output.js';
import { QmpClient } from '../qmp.js';
import type { Milestone, PeerRun } from '../run-result.js';

export const QEMU = 'qemu-system-i386';

export interface QemuJob {
  kernel: string;
  initrd: string;
  append: string;
  memoryMiB: number;
  timeout: number;
  /**
   * Count instructions: run under `-icount shift=0,sleep=off` and ask QMP's `query-replay` for the
   * count when each milestone appears. Slower than a plain run, so its times are not the timing run's.
   */
  icount: boolean;
}

/** QEMU's version line, or throws when it is not installed. */
export function qemuVersion(): string {
  try {
    return execFileSync(QEMU, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  } catch (e) {
    throw new BenchError('MissingTool', `${QEMU} is not installed (Debian: apt-get install qemu-system-x86)`, { cause: e });
  }
}

let clockTicks: number | undefined;

/** CPU seconds a process has used so far, from /proc (Linux); null elsewhere or once it is gone. */
function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/** Boots the guest in QEMU's software emulator (the default i440FX PC with SeaBIOS) and times it from its serial output. */
export async function runQemu(job: QemuJob, onEvent: (event: GuestEvent, at: Milestone) => void): Promise<PeerRun> {
  const dir = job.icount ? mkdtempSync(join(tmpdir(), 'tsvm-bench-qmp-')) : undefined;
  const socketPath = dir === undefined ? undefined : join(dir, 'qmp.sock');
  const args = [
    '-accel', 'tcg', '-m', `${job.memoryMiB}M`,
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', job.kernel, '-initrd', job.initrd, '-append', job.append,
  ];
  if (socketPath !== undefined) args.push('-icount', 'shift=0,sleep=off', '-qmp', `unix:${socketPath},server=on,wait=off`);

  const start = performance.now();
  const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const at = (): Milestone => ({ seconds: (performance.now() - start) / 1000, cpuSeconds: processCpuSeconds(child.pid), instructions: null });
  const marks: { marker: Milestone | null; done: Milestone | null } = { marker: null, done: null };
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));

  let qmp: QmpClient | undefined;
  const counting: Promise<void>[] = [];
  let finish: (reason: string) => void = () => {};
  const finished = new Promise<string>((resolve) => (finish = resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => finish(`exited (${signal ?? `code ${code}`}) ${stderr.trim()}`.trim()));
  child.once('error', (e) => finish(`cannot start ${QEMU}: ${e.message}`));

  const output = new GuestOutput((event) => {
    const mark = at();
    marks[event] = mark;
    // The count is asked for as the line reaches the host: a few ms late, ~0.1% of a boot.
    if (qmp !== undefined) counting.push(replayCount(qmp).then((n) => void (mark.instructions = n)));
    onEvent(event, mark);
    if (event === 'done') finish('done');
  });
  child.stdout.on('data', (chunk: Buffer) => output.pushBytes(chunk));
  if (socketPath !== undefined) {
    QmpClient.connect(socketPath, 10_000).then(
      (c) => (qmp = c),
      (e: unknown) => finish(`QMP: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
  const limit = setTimeout(() => finish('time limit'), job.timeout * 1000);

  const reason = await finished;
  clearTimeout(limit);
  const stopped = marks.done ?? at();
  if (stopped.instructions === null && qmp !== undefined && child.exitCode === null) {
    counting.push(replayCount(qmp).then((n) => void (stopped.instructions = n)));
  }
  await Promise.allSettled(counting);
  qmp?.close();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  return {
    peer: job.icount ? 'qemu (icount)' : 'qemu',
    ...marks,
    stopped,
    reason,
    where: null,
    guestJobMs: output.guestJobMs,
    lastLines: output.lastLines(),
    instructionSource: job.icount ? 'QMP query-replay under -icount shift=0,sleep=off' : 'not counted (a separate -icount run counts)',
  };
}

async function replayCount(qmp: QmpClient): Promise<number | null> {
  const reply = (await qmp.execute('query-replay')) as { icount?: unknown };
  return typeof reply.icount === 'number' ? reply.icount : null;
}
