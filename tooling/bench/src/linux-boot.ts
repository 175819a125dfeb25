/**
 * The Linux boot benchmark: the Debian i386 kernel and busybox initramfs of guests/linux booted on
 * tsvm, v86 and QEMU (TCG) in one run, with the same kernel command line. Prints each peer's time to
 * the marker at the start of /init and to the end of the guest's job, the guest instructions to each,
 * MIPS, and tsvm's times as ratios of the others'.
 *
 *   pnpm --filter @tsvm/bench linux-boot [--peers tsvm,v86,qemu] [--runs N] [--json FILE] ...
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from './errors.js';
import type { GuestEvent } from './guest-output.js';
import { parseOptions, USAGE, type LinuxBootOptions, type PeerName } from './options.js';
import type { NodePeerJob, PeerMessage } from './peers/node-peer.js';
import { qemuVersion, runQemu } from './peers/qemu.js';
import type { Milestone, PeerRun } from './run-result.js';
import { summarize, timeRatio, type PeerSummary } from './summary.js';
import { formatReport } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
/** This file runs from tooling/bench/dist. */
const benchDir = resolve(here, '..');
const repoRoot = resolve(benchDir, '..', '..');
/** Where fetch-bios.sh unpacks Debian's seabios package. */
const DEFAULT_BIOS = join(benchDir, 'cache', 'seabios', 'usr', 'share', 'seabios', 'bios.bin');
/** v86 maps the BIOS below 1 MiB; Debian's 256 KiB image (bios-256k.bin) overlaps its VGA ROM there. */
const V86_BIOS_SIZE = 128 << 10;
/** Peers run in this order in every repetition, the fast ones first. */
const ORDER: readonly PeerName[] = ['qemu', 'v86', 'v86-nojit', 'tsvm'];
/** Extra seconds a Node peer gets past its own limit before its process is killed. */
const KILL_GRACE_S = 60;

function log(text: string): void {
  process.stderr.write(`linux-boot: ${text}\n`);
}

function userPath(p: string): string {
  // pnpm runs scripts in the package folder; paths on the command line are meant from where it was typed.
  return resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

function requireFile(path: string, what: string, hint: string): string {
  if (!existsSync(path)) throw new BenchError('MissingFile', `${what} not found: ${path}\n${hint}`);
  return path;
}

function fileInfo(path: string): { path: string; bytes: number; sha256: string } {
  const data = readFileSync(path);
  return { path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

function describe(at: Milestone): string {
  const insns = at.instructions === null ? '' : `, ${(at.instructions / 1e9).toFixed(3)} G instructions`;
  return `${at.seconds.toFixed(2)} s${insns}`;
}

/** Runs tsvm or v86 in a forked process and collects its result. */
function runNodePeer(job: NodePeerJob): Promise<PeerRun> {
  return new Promise((resolvePeer, reject) => {
    const child = fork(join(here, 'peer-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: PeerRun | undefined;
    let error: string | undefined;
    const killer = setTimeout(() => child.kill('SIGKILL'), (job.timeout + KILL_GRACE_S) * 1000);
    child.on('message', (m: PeerMessage) => {
      if (m.type === 'event') log(`${job.peer}: ${m.event === 'marker' ? 'marker' : 'job done'} at ${describe(m.at)}`);
      else if (m.type === 'progress') log(`${job.peer}: running, ${describe(m.at)}${m.where ? `, ${m.where}` : ''}`);
      else if (m.type === 'result') result = m.run;
      else error = m.message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      if (result !== undefined) resolvePeer(result);
      else reject(new BenchError('PeerFailed', `${job.peer}: ${error ?? `its process ended (${signal ?? `code ${code}`}) without a result`}`));
    });
    child.send(job);
  });
}

function failedRun(peer: string, e: unknown): PeerRun {
  const message = e instanceof Error ? e.message : String(e);
  log(`${peer}: ${message}`);
  return {
    peer,
    marker: null,
    done: null,
    stopped: { seconds: 0, cpuSeconds: null, instructions: null },
    reason: `failed: ${message}`,
    where: null,
    guestJobMs: null,
    lastLines: [],
    instructionSource: 'n/a',
  };
}

async function main(o: LinuxBootOptions): Promise<void> {
  const kernel = requireFile(
    o.kernel ? userPath(o.kernel) : join(repoRoot, 'guests/linux/out/vmlinuz'),
    'kernel',
    'Build the guest with guests/linux/build.sh, or pass --kernel.',
  );
  const initrd = requireFile(
    o.initrd ? userPath(o.initrd) : join(repoRoot, 'guests/linux/out/initramfs.cpio.gz'),
    'initramfs',
    'Build the guest with guests/linux/build.sh, or pass --initrd.',
  );
  const peers = ORDER.filter((p) => o.peers.includes(p));
  const usesV86 = peers.some((p) => p.startsWith('v86'));
  const bios = usesV86
    ? requireFile(o.bios ? userPath(o.bios) : DEFAULT_BIOS, 'SeaBIOS image for v86', 'Fetch it with: pnpm --filter @tsvm/bench fetch-bios')
    : undefined;
  if (bios !== undefined && statSync(bios).size !== V86_BIOS_SIZE) {
    log(`warning: ${bios} is ${statSync(bios).size} bytes; v86 wants the 128 KiB bios.bin (the 256 KiB image overlaps its VGA ROM)`);
  }
  const qemu = peers.includes('qemu') ? qemuVersion() : undefined;
  const v86Version = usesV86 ? (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('v86/package.json'), 'utf8')) as { version: string }).version : undefined;

  log(`append "${o.append}", ${o.memoryMiB} MiB, peers ${peers.join(', ')}, ${o.runs} run(s)`);
  const loadBefore = loadavg()[0];
  const runs = new Map<PeerName, PeerRun[]>(peers.map((p) => [p, []]));
  const onQemuEvent = (peer: string) => (event: GuestEvent, at: Milestone) =>
    log(`${peer}: ${event === 'marker' ? 'marker' : 'job done'} at ${describe(at)}`);
  for (let r = 1; r <= o.runs; r++) {
    for (const peer of peers) {
      log(`run ${r}/${o.runs}: ${peer}`);
      let run: PeerRun;
      try {
        if (peer === 'qemu') {
          run = await runQemu({ kernel, initrd, append: o.append, memoryMiB: o.memoryMiB, timeout: o.timeout, icount: false }, onQemuEvent('qemu'));
        } else {
          const tsvm = peer === 'tsvm';
          run = await runNodePeer({
            peer,
            kernel,
            initrd,
            bios,
            append: o.append,
            memoryMiB: o.memoryMiB,
            timeout: tsvm ? o.tsvmTimeout : o.timeout,
            maxInstructions: o.tsvmMaxInstructions,
            tsvmTime: o.tsvmTime,
            tsvmCpu: o.tsvmCpu,
          });
        }
      } catch (e) {
        run = failedRun(peer, e);
      }
      if (run.done === null) log(`${peer}: stopped at ${describe(run.stopped)}: ${run.reason}`);
      runs.get(peer)!.push(run);
    }
  }
  const icountRuns: PeerRun[] = [];
  if (peers.includes('qemu') && o.qemuIcount) {
    log('qemu: one more run under -icount to count its instructions');
    try {
      icountRuns.push(await runQemu({ kernel, initrd, append: o.append, memoryMiB: o.memoryMiB, timeout: o.timeout, icount: true }, onQemuEvent('qemu (icount)')));
    } catch (e) {
      icountRuns.push(failedRun('qemu (icount)', e));
    }
  }

  const summaries: PeerSummary[] = peers.map((p) => summarize(p, runs.get(p)!, p === 'qemu' ? icountRuns : []));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  // Other work on the host slows every peer's wall-clock time; the cpu columns are less sensitive to it.
  const load = { before: loadBefore, after: loadavg()[0] };
  process.stdout.write(
    `Linux boot to the /init marker and the job's end; append "${o.append}", ${o.memoryMiB} MiB, ` +
      `${o.runs} run(s) (medians); ${cpu}, ${cpus().length} cores, load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after\n` +
      `${[qemu, v86Version && `v86 ${v86Version}`, `tsvm ${o.tsvmTime} time`].filter(Boolean).join('; ')}\n\n` +
      `${formatReport(summaries)}\n`,
  );

  if (o.json !== undefined) {
    const find = (n: string): PeerSummary | undefined => summaries.find((s) => s.peer === n);
    const ratios: Record<string, unknown> = {};
    for (const [a, b] of [['tsvm', 'v86'], ['tsvm', 'v86-nojit'], ['tsvm', 'qemu'], ['v86', 'qemu']] as const) {
      const sa = find(a);
      const sb = find(b);
      if (sa && sb) ratios[`${a}/${b}`] = {
          marker: timeRatio(sa, sb, 'marker'),
          done: timeRatio(sa, sb, 'done'),
          doneCpu: timeRatio(sa, sb, 'done', 'cpu'),
        };
    }
    const report = {
      date: new Date().toISOString(),
      host: { node: process.version, cpu, cores: cpus().length, loadAverage: load },
      options: o,
      guest: { kernel: fileInfo(kernel), initrd: fileInfo(initrd), bios: bios === undefined ? null : fileInfo(bios) },
      versions: { qemu: qemu ?? null, v86: v86Version ?? null },
      summaries,
      ratios,
      runs: Object.fromEntries(runs),
      qemuIcountRuns: icountRuns,
    };
    writeFileSync(userPath(o.json), `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${userPath(o.json)}`);
  }
}

try {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) process.stdout.write(USAGE);
  else await main(options);
} catch (e) {
  if (e instanceof BenchError) {
    process.stderr.write(`linux-boot: ${e.message}\n`);
    process.exitCode = e.code === 'Usage' ? 2 : 1;
  } else {
    throw e;
  }
}
