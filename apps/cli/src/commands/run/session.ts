import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Machine, MachineExit, MachineOptions, VmEvent } from '@tsvm/vmm';
import { formatInstructionAt } from '@tsvm/vmm';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import type { CharTarget } from './args.js';
import { breakpointReport, registerLine, type BreakAction } from './debug-output.js';
import { ByteSink } from './byte-sink.js';
import { SerialConsole } from './console.js';

export interface SessionOptions {
  serial: CharTarget;
  debugcon: CharTarget;
  maxInstructions?: number;
  traceInstructions?: boolean;
  tracePorts?: boolean;
  /** Read host input from stdin into COM1 when the serial console is on stdio. Default true. */
  input?: boolean;
  /** Also called with every byte of COM1's output. */
  serialTap?: (byte: number) => void;
  /** With `traceInstructions`: the general registers and EFLAGS on each line. */
  traceRegisters?: boolean;
  /** Linear addresses where the run stops (or, with `breakAction` 'print', reports and goes on). */
  breakpoints?: readonly number[];
  breakAction?: BreakAction;
  /** COM2, COM3, ...: `file:` or `none` (only COM1 can be on the terminal). */
  extraSerial?: readonly CharTarget[];
  /** Print every event of the machine's policy (JSON, one a line) to stderr. */
  events?: boolean;
  /** Write a snapshot of the machine here when the run ends. */
  snapshotOnExit?: string;
}

export interface SessionResult {
  exit: MachineExit;
  instructions: number;
  seconds: number;
}

/** Exit code for a run that spent its --max-instructions budget (as timeout(1) does). */
export const EXIT_BUDGET = 124;
/** Exit code for a run stopped at a --break breakpoint (even: no isa-debug-exit status is). */
export const EXIT_BREAKPOINT = 4;
/** Exit code for a run the policy ended (a trap, or an event action `stop` or `pause`). */
export const EXIT_POLICY = 3;

/** The process exit code for how the guest ended. */
export function exitCodeOf(exit: MachineExit): number {
  switch (exit.reason) {
    case 'exit':
      return exit.status;
    case 'budget':
      return EXIT_BUDGET;
    case 'breakpoint':
      return EXIT_BREAKPOINT;
    case 'policy':
      return EXIT_POLICY;
    default:
      return 0;
  }
}

/** One line saying how the guest ended. */
export function describeExit(exit: MachineExit): string {
  switch (exit.reason) {
    case 'exit':
      return `the guest exited through isa-debug-exit with status ${exit.status}`;
    case 'reset':
      return `the guest reset the machine (${exit.source}) and --no-reboot is set`;
    case 'halted':
      return 'the guest halted the CPU with nothing left to wake it';
    case 'budget':
      return 'the instruction budget (--max-instructions) is spent';
    case 'stopped':
      return 'stopped by the host (Ctrl-A X or a signal)';
    case 'breakpoint':
      return `stopped at the breakpoint at 0x${exit.address.toString(16)} (--break)`;
    case 'policy':
      return `the policy ${exit.action === 'stop' ? 'stopped' : 'paused'} the VM on ${describeEvent(exit.event)}`;
  }
}

function describeEvent(e: VmEvent): string {
  const what = `${e.kind} (${e.asked.action} ${e.asked.resource}${e.asked.value !== undefined ? ` value 0x${e.asked.value.toString(16)}` : ''})`;
  return `${what}${e.rule !== undefined ? ` by rule ${e.rule}` : ''}${e.detail !== undefined ? `: ${e.detail}` : ''}`;
}

function openTarget(target: CharTarget, io: CliIo, streams: WriteStream[], onClose: () => void): ByteSink | undefined {
  if (target.kind === 'none') return undefined;
  if (target.kind === 'stdio') return new ByteSink(io.stdout, onClose);
  const stream = createWriteStream(resolve(io.cwd, target.path));
  streams.push(stream);
  return new ByteSink(stream, onClose);
}

function waitOpen(stream: WriteStream): Promise<void> {
  return new Promise((ok, fail) => {
    stream.once('open', () => ok());
    stream.once('error', (err) => fail(new CliError('Usage', `cannot write to '${String(stream.path)}': ${err.message}`, { cause: err })));
  });
}

/**
 * Builds the machine (through `build`, given the trace options), wires its serial ports, debug
 * console and event log to the host, runs it, saves the exit snapshot and cleans up.
 */
export async function runSession(build: (options: MachineOptions) => Machine | Promise<Machine>, options: SessionOptions, io: CliIo): Promise<SessionResult> {
  const breakpoints = options.breakpoints ?? [];
  const traceSink = options.traceInstructions || options.tracePorts || breakpoints.length > 0 ? new ByteSink(io.stderr) : undefined;
  const enc = new TextEncoder();
  const traceLine = (line: string): void => {
    for (const b of enc.encode(`${line}\n`)) traceSink!.push(b);
  };
  const machineOptions: MachineOptions = {};
  if (options.traceInstructions) {
    machineOptions.traceInstructions = options.traceRegisters ? (line, registers) => traceLine(`${line.padEnd(56)} ${registerLine(registers)}`) : traceLine;
  }
  if (breakpoints.length > 0) {
    machineOptions.breakpoints = breakpoints;
    machineOptions.onBreakpoint = (address, cpu) => {
      traceLine(breakpointReport(address, formatInstructionAt(cpu, machine.memory), cpu));
      return options.breakAction === 'print' ? 'continue' : 'stop';
    };
  }
  if (options.tracePorts) {
    machineOptions.tracePorts = (dir, width, port, value) =>
      traceLine(`${dir === 'in' ? 'in ' : 'out'}${width} 0x${port.toString(16).padStart(4, '0')} ${dir === 'in' ? '->' : '<-'} 0x${value.toString(16)}`);
  }
  const machine = await build(machineOptions);
  const streams: WriteStream[] = [];
  let unsubscribe: (() => void) | undefined;
  const sinks: ByteSink[] = [];
  let serialConsole: SerialConsole | undefined;
  try {
    // Output nobody reads any more (a closed pipe) ends the run, as it ends QEMU.
    const stop = (): void => machine.stop();
    const serial = machine.board.uarts.length > 0 ? openTarget(options.serial, io, streams, stop) : undefined;
    const debugcon = openTarget(options.debugcon, io, streams, stop);
    const extra = (options.extraSerial ?? []).map((t, i) => (machine.board.uarts.length > i + 1 ? openTarget(t, io, streams, stop) : undefined));
    await Promise.all(streams.map(waitOpen));
    extra.forEach((sink, i) => {
      if (sink === undefined) return;
      machine.serial(i + 1).setSink(sink.push);
      sinks.push(sink);
    });
    const log = machine.policy?.events;
    if (options.events && log !== undefined) {
      const print = (e: VmEvent): void => void io.stderr.write(`${JSON.stringify(e)}\n`);
      log.events().forEach(print);
      unsubscribe = log.subscribe(print);
    }
    const tap = options.serialTap;
    if (serial) {
      machine.serial(0).setSink(tap ? (b) => (tap(b), serial.push(b)) : serial.push);
      sinks.push(serial);
    } else if (tap && machine.board.uarts.length > 0) {
      machine.serial(0).setSink(tap);
    }
    if (debugcon) {
      machine.setDebugConsoleSink(debugcon.push);
      sinks.push(debugcon);
    }
    if (options.serial.kind === 'stdio' && serial && options.input !== false) {
      serialConsole = new SerialConsole(machine, io.stdin, io.stderr);
      serialConsole.open();
    }
    const started = performance.now();
    const exit = await machine.run(options.maxInstructions !== undefined ? { maxInstructions: options.maxInstructions } : {});
    const seconds = (performance.now() - started) / 1000;
    if (options.snapshotOnExit !== undefined) await saveSnapshotFile(machine, resolve(io.cwd, options.snapshotOnExit));
    return { exit, instructions: machine.instructions, seconds };
  } finally {
    unsubscribe?.();
    serialConsole?.close();
    for (const s of sinks) s.flush();
    traceSink?.flush();
    // Late EPIPEs from the last writes must not surface as unhandled errors.
    setImmediate(() => {
      for (const s of sinks) s.detach();
      traceSink?.detach();
    });
    await Promise.all(streams.map((s) => new Promise<void>((done) => s.end(done))));
  }
}

/** Writes the machine's snapshot to `path`, with an error that names the file. */
export async function saveSnapshotFile(machine: Machine, path: string): Promise<void> {
  const bytes = machine.saveSnapshot();
  try {
    await writeFile(path, bytes);
  } catch (cause) {
    throw new CliError('HostIo', `cannot write the snapshot to '${path}': ${(cause as Error).message}`, { cause });
  }
}
