import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { Machine, type MachineConfig, type MachineExit, type MachineOptions } from '@tsvm/vmm';
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

/** The process exit code for how the guest ended. */
export function exitCodeOf(exit: MachineExit): number {
  switch (exit.reason) {
    case 'exit':
      return exit.status;
    case 'budget':
      return EXIT_BUDGET;
    case 'breakpoint':
      return EXIT_BREAKPOINT;
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
  }
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

/** Builds the machine, wires its serial port and debug console to the host, runs it and cleans up. */
export async function runSession(config: MachineConfig, options: SessionOptions, io: CliIo): Promise<SessionResult> {
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
  const machine = new Machine(config, machineOptions);
  const streams: WriteStream[] = [];
  const sinks: ByteSink[] = [];
  let serialConsole: SerialConsole | undefined;
  try {
    // Output nobody reads any more (a closed pipe) ends the run, as it ends QEMU.
    const stop = (): void => machine.stop();
    const serial = machine.board.uarts.length > 0 ? openTarget(options.serial, io, streams, stop) : undefined;
    const debugcon = openTarget(options.debugcon, io, streams, stop);
    await Promise.all(streams.map(waitOpen));
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
    return { exit, instructions: machine.instructions, seconds: (performance.now() - started) / 1000 };
  } finally {
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
