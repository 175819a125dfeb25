import { Cpu, Debugger, IF, type CpuStatePatch, type TraceRecord } from '@tsvm/cpu';
import type { IoBus, Uart16550 } from '@tsvm/devices';
import { PhysicalMemory } from '@tsvm/mmu';
import { loadLinux } from './boot/linux.js';
import { loadMultiboot } from './boot/multiboot.js';
import { attachIde } from './disks/attach-ide.js';
import { attachFirmware } from './firmware/attach-firmware.js';
import { attachVga, type VgaWiring } from './firmware/attach-vga.js';
import { resolveConfig, type MachineConfig, type ResolvedMachineConfig } from './config.js';
import { validatePolicy } from './policy/load.js';
import { applyDecoded, decodeForMachine, parseSnapshot, saveMachineSnapshot, snapshotBoot } from './snapshot/machine-snapshot.js';
import { BusPorts, ControllerInterrupts, TracingPorts, type PortAccess, type PortTrace } from './cpu-bus.js';
import { VmmError } from './errors.js';
import { formatInstructionAt } from './instruction-trace.js';
import { PcBoard, type ResetSource } from './pc-board.js';
import type { VmEvent } from './events/event-log.js';
import { attachPolicy, type AttachedPolicy } from './policy/attach-policy.js';
import type { EventAction, PolicyDocument } from './policy/schema.js';
import type { VmPolicy } from './policy/vm-policy.js';
import { DeterministicTime, RealTime, type TimeSource } from './time-source.js';

/** How a run of the machine ended. */
export type MachineExit =
  /** The guest wrote to isa-debug-exit; `status` is what QEMU would exit with, `(value << 1) | 1`. */
  | { reason: 'exit'; status: number }
  /** The guest reset the machine and `noReboot` is set. */
  | { reason: 'reset'; source: ResetSource }
  /** The CPU halted with nothing left that could wake it (interrupts off, or no timer and no input). */
  | { reason: 'halted' }
  /** `maxInstructions` were executed. */
  | { reason: 'budget' }
  /** The host called `stop()`. */
  | { reason: 'stopped' }
  /** The CPU reached a breakpoint (`MachineOptions.breakpoints`, `machine.debugger`) and `onBreakpoint` said stop. */
  | { reason: 'breakpoint'; address: number }
  /** The policy ended the run: a trap or an event action asked to pause or stop (the event says why). */
  | { reason: 'policy'; action: 'stop' | 'pause'; event: VmEvent };

export interface MachineOptions {
  /**
   * Interposes on the CPU's port accesses (an access policy, a recorder): receives the board's bus and
   * returns what the CPU uses instead. Devices and loaders keep using the bus directly.
   */
  wrapPorts?: (bus: IoBus) => PortAccess;
  /** Called for every port access (slow: for debugging). */
  tracePorts?: PortTrace;
  /**
   * Called with each instruction before it executes: formatted (`cs:eip  bytes  mnemonic`) and the
   * registers then (one reused record; slow: for debugging).
   */
  traceInstructions?: (line: string, registers: TraceRecord) => void;
  /** Linear addresses to stop at before the instruction there executes (see `onBreakpoint`). */
  breakpoints?: readonly number[];
  /**
   * Called when the CPU reaches a breakpoint, before the instruction runs: 'stop' ends `run()` with
   * `{ reason: 'breakpoint' }` (a later `run()` executes it and goes on), 'continue' goes on at once.
   * Default: stop.
   */
  onBreakpoint?: (address: number, cpu: Cpu) => 'stop' | 'continue';
  /**
   * A validated policy document (`validatePolicy`): its access rules go on the CPU's port path and
   * the physical memory bus, its CPU cap and budgets into the run loop, its event actions on triple
   * faults, HLT with interrupts off, violations and panic output. Not with `wrapPorts`.
   */
  policy?: PolicyDocument;
  /** Where the `snapshot` event action's snapshots go (without it, the action is recorded and skipped). */
  onSnapshot?: (snapshot: Uint8Array, event: VmEvent) => void;
}

export interface RunOptions {
  /** Stop with `{ reason: 'budget' }` after this many more instructions. */
  maxInstructions?: number;
}

/** Instructions per CPU slice at most: the loop checks the host clock and pending events between slices. */
export const MAX_SLICE = 1 << 20;
/** Host milliseconds of guest execution between yields to the event loop. */
const YIELD_EVERY_MS = 15;
/** Real-time mode: slice length when no timer is near, and the ns one instruction is assumed to take. */
const REALTIME_SLICE = 200_000;
const REALTIME_NS_PER_INSN_GUESS = 10;
const REALTIME_MIN_SLICE = 1_000;
/** Tracing is slow; smaller slices keep the yields to the event loop regular. */
const TRACED_SLICE = 10_000;
/** The time-stamp counter runs at 1 GHz of virtual time: one tick per virtual nanosecond. */
export const TSC_HZ = 1_000_000_000;
const TSC_TICKS_PER_NS = TSC_HZ / 1e9;
/**
 * Deterministic mode without host input: a CPU that stays halted this long in virtual time (timers fire,
 * none wakes it) will never run again, so the run ends with `halted` instead of skipping time forever.
 */
export const IDLE_GIVE_UP_NS = 60e9;

/** IA32_TIME_STAMP_COUNTER. */
const MSR_TSC = 0x10;

/** #GP, the general-protection exception (Intel SDM vol. 3A, 6.3.1). */
const VECTOR_GP = 13;

/** Host time in ns, for the CPU cap (performance.now() allocates nothing). */
function hostNs(): number {
  return performance.now() * 1e6;
}

/**
 * A PC: RAM and firmware, the CPU, the board's devices and one virtual clock, built from a validated
 * `MachineConfig`. `run()` executes it until the guest ends (debug-exit, reset with `noReboot`, a
 * halt nothing can wake), the host stops it, or an instruction budget runs out.
 */
export class Machine {
  readonly config: ResolvedMachineConfig;
  readonly memory: PhysicalMemory;
  readonly board: PcBoard;
  readonly cpu: Cpu;
  /** The VGA (`vgaBios` in the configuration): its text screen is `readTextScreen(machine.display.vga)`. */
  readonly display: VgaWiring | undefined;
  /** Guest resets so far (keyboard controller, port 0x92, 0xCF9, triple fault). */
  resets = 0;
  /**
   * Host input may still arrive (an open stdin on a serial port): when the CPU halts with interrupts on
   * and no timer armed, wait for `wake()` instead of ending with `halted`. Clear it (and `wake()`) when
   * the input closes.
   */
  waitForInput = false;
  /** Breakpoints and the instruction trace (`MachineOptions.breakpoints`, `traceInstructions`). */
  readonly debugger: Debugger;
  private readonly tracing: boolean;
  private readonly onBreakpoint: ((address: number, cpu: Cpu) => 'stop' | 'continue') | undefined;
  /** Instructions retired before the CPU's counter was last cleared by a reset. */
  private retiredBeforeReset = 0;
  private pendingExit = -1;
  private pendingReset: ResetSource | null = null;
  private stopRequested = false;
  private running = false;
  private waker: (() => void) | null = null;
  private debugConsoleSink: ((byte: number) => void) | undefined;
  /** The policy's parts on this machine (undefined without a policy). */
  private readonly policed: AttachedPolicy | undefined;
  /** An event action (pause/stop) asked from inside an instruction, taken between slices. */
  private pendingAction: { action: 'stop' | 'pause'; event: VmEvent } | null = null;
  private pendingSnapshot: VmEvent | null = null;
  private readonly onSnapshot: ((snapshot: Uint8Array, event: VmEvent) => void) | undefined;
  private everRun = false;
  private cpuBuilt = false;
  /** True while `cpu.run` executes: a #GP may be raised only inside an instruction. */
  private inCpu = false;

  constructor(config: MachineConfig, options: MachineOptions = {}) {
    const cfg = resolveConfig(config);
    this.config = cfg;
    this.tracing = options.traceInstructions !== undefined;
    this.onBreakpoint = options.onBreakpoint;
    this.memory = new PhysicalMemory({ ramSize: cfg.memory });
    this.board = new PcBoard({
      memory: this.memory,
      serialPorts: cfg.serialPorts,
      pci: cfg.pci,
      apic: cfg.apic,
      rtcStart: cfg.rtcStart,
      events: {
        a20Changed: (on) => this.setA20(on),
        resetRequested: (source) => {
          this.pendingReset ??= source;
          this.cpu.requestStop();
        },
        exitRequested: (status) => {
          if (this.pendingExit < 0) this.pendingExit = status;
          this.cpu.requestStop();
        },
        debugConsole: (b) => this.debugConsoleSink?.(b),
      },
    });
    this.board.rtc.configureMemory(cfg.memory);
    // The ROM is in place before a policy looks at what the machine's memory claims.
    if (cfg.drives.length > 0) attachIde(this.board, this.memory, cfg.drives);
    if (cfg.vgaBios !== undefined) this.display = attachVga(this.board, this.memory, cfg.vgaBios);
    if (cfg.boot.kind === 'rom') attachFirmware(this.board, this.memory, cfg.boot.image, { ramSize: cfg.memory, cpus: 1, bootOrder: cfg.bootOrder });
    if (options.policy !== undefined && options.wrapPorts !== undefined) {
      throw new VmmError('InvalidArgument', 'MachineOptions: give a policy or wrapPorts, not both (the policy owns the port path)');
    }
    this.onSnapshot = options.onSnapshot;
    this.timeSource = cfg.time === 'deterministic' ? new DeterministicTime(cfg.nsPerInstruction) : new RealTime();
    this.policed = options.policy === undefined ? undefined : this.attachPolicy(options.policy);
    const ports = this.policed?.ports ?? (options.wrapPorts ? options.wrapPorts(this.board.bus) : this.board.bus);
    const io = options.tracePorts ? new TracingPorts(ports, options.tracePorts) : new BusPorts(ports);
    this.cpu = new Cpu({
      model: cfg.cpu,
      memory: this.memory,
      io,
      interrupts: new ControllerInterrupts(this.board.interruptController),
      // RDTSC: virtual time at TSC_HZ, deterministic in deterministic mode.
      timeStampCounter: (retired) => this.timeSource.now(this.retiredBeforeReset + retired) * TSC_TICKS_PER_NS,
      ...(this.board.lapic !== undefined ? { apic: this.board.lapic } : {}),
    });
    // FERR# (numeric errors reported externally, CR0.NE = 0) goes to IRQ 13 through the board's latch.
    this.cpu.fpu.onFerr = (asserted) => this.board.fpuError.setFerr(asserted);
    this.debugger = new Debugger(this.cpu);
    const trace = options.traceInstructions;
    if (trace !== undefined) this.debugger.setTrace((registers) => trace(formatInstructionAt(this.cpu, this.memory), registers));
    for (const address of options.breakpoints ?? []) this.debugger.addBreakpoint(address);
    this.cpuBuilt = true;
    this.boot();
  }

  /** Where virtual time comes from (replaced when a snapshot is restored). */
  get time(): TimeSource {
    return this.timeSource;
  }
  private timeSource: TimeSource;

  /** The running policy: its event log, its tables, `update` (undefined without a policy). */
  get policy(): VmPolicy | undefined {
    return this.policed?.policy;
  }

  // ---- policy ----------------------------------------------------------------------------------

  private attachPolicy(document: PolicyDocument): AttachedPolicy {
    return attachPolicy(document, {
      bus: this.board.bus,
      memory: this.memory,
      mmioDevices: this.board.mmioDevices(),
      uarts: this.board.uarts,
      // Exact to the instruction in deterministic mode (the clock itself moves between slices).
      // (The policy records `created` before the CPU exists: time 0.)
      virtualTime: () => (this.cpuBuilt ? this.time.now(this.instructions) : 0),
      instructions: () => (this.cpuBuilt ? this.instructions : 0),
      hooks: {
        // Only an instruction can take a fault; a loader's or device's access is just not done.
        raiseGp: () => {
          if (this.inCpu) this.cpu.raise(VECTOR_GP, 0);
        },
        act: (action, event) => this.policyAct(action, event),
      },
    });
  }

  /** An event action the policy decided: recorded already; carried out between slices. */
  private policyAct(action: Exclude<EventAction, 'continue'>, event: VmEvent): void {
    if (action === 'reset') this.pendingReset ??= 'policy';
    else if (action === 'snapshot') this.pendingSnapshot ??= event;
    else this.pendingAction ??= { action, event };
    this.cpu.requestStop();
  }

  /** Takes the snapshot an event action asked for, through `onSnapshot`. */
  private takePolicySnapshot(): void {
    const event = this.pendingSnapshot;
    this.pendingSnapshot = null;
    if (event === null) return;
    if (this.onSnapshot === undefined) {
      this.policed?.policy.events.record('snapshotted', { action: 'snapshot', resource: 'vm' }, 'skipped', undefined, 'no snapshot sink on this machine');
      return;
    }
    this.onSnapshot(this.saveSnapshot(), event);
  }

  // ---- snapshots -------------------------------------------------------------------------------

  /**
   * The machine's complete state as a snapshot file (see `saveMachineSnapshot`). Not from inside an
   * instruction (a port or memory callback): between runs, or from the event loop while `run()` waits.
   */
  saveSnapshot(): Uint8Array {
    if (this.inCpu) throw new VmmError('Busy', 'saveSnapshot() called from inside an instruction; call it between runs');
    const policy = this.policed?.policy;
    const bytes = saveMachineSnapshot({
      config: this.config,
      memory: this.memory,
      cpu: this.cpu,
      devices: this.board.devices,
      instructions: this.instructions,
      resets: this.resets,
      virtualTime: this.time.now(this.instructions),
      clock: this.board.clock.now(),
      policy: policy?.document,
      policyRevision: policy?.revision,
    });
    policy?.lifecycle('snapshotted', `${bytes.length} bytes at instruction ${this.instructions}`);
    return bytes;
  }

  /**
   * Puts the machine in the state a snapshot holds, to continue exactly from there. Refused with
   * `SnapshotCorrupt` / `SnapshotVersion` / `SnapshotMismatch` (nothing changed) when the file is
   * damaged, from another format version, or from a machine with other memory, CPU, board, boot
   * image or devices. Not while `run()` is going.
   */
  restoreSnapshot(bytes: Uint8Array): void {
    if (this.running) throw new VmmError('Busy', 'restoreSnapshot() called while the machine is running; stop it first');
    const parsed = parseSnapshot(bytes);
    const decoded = decodeForMachine(parsed, { config: this.config, devices: this.board.devices, memory: this.memory });
    const clock = this.board.clock;
    applyDecoded(decoded, { cpu: this.cpu, devices: this.board.devices, memory: this.memory }, (ns) => clock.setTime(ns), clock.now());
    const meta = decoded.meta;
    this.cpu.instructions = meta.instructions;
    this.retiredBeforeReset = 0;
    this.resets = meta.resets;
    this.timeSource = this.config.time === 'deterministic' ? new DeterministicTime(this.config.nsPerInstruction, meta.virtualTime, meta.instructions) : new RealTime(meta.virtualTime);
    // The TSC counts on from the restored time and instruction count: set it again against them.
    const tsc = Array.isArray(decoded.cpu.msrs) ? decoded.cpu.msrs.find((m) => m.index === MSR_TSC) : undefined;
    if (tsc !== undefined) this.cpu.setState({ msrs: [tsc] });
    this.pendingExit = -1;
    this.pendingReset = null;
    this.pendingAction = null;
    this.pendingSnapshot = null;
    this.policed?.guard.install();
    this.policed?.policy.lifecycle('restored', `instruction ${meta.instructions}${meta.vmId !== undefined ? ` of ${meta.vmId}` : ''}`);
  }

  /**
   * A new machine in the state of a snapshot: built from the configuration and boot images the file
   * holds, then restored. `options.policy` defaults to the policy saved with it.
   */
  static fromSnapshot(bytes: Uint8Array, options: MachineOptions = {}): Machine {
    const parsed = parseSnapshot(bytes);
    const m = parsed.meta.machine;
    const policy = options.policy ?? (parsed.policy === undefined ? undefined : validatePolicy(parsed.policy));
    const machine = new Machine(
      {
        memory: m.memory,
        cpu: m.cpu as MachineConfig['cpu'],
        boot: snapshotBoot(parsed),
        serialPorts: m.serialPorts,
        pci: m.pci,
        apic: m.apic,
        time: m.time,
        nsPerInstruction: m.nsPerInstruction,
        noReboot: m.noReboot,
        rtcStart: m.rtcStart,
      },
      { ...options, ...(policy !== undefined ? { policy } : {}) },
    );
    machine.restoreSnapshot(bytes);
    return machine;
  }

  /** Records the start of a run (`started` the first time, `resumed` after). */
  private policyRunStarted(): void {
    const policy = this.policed?.policy;
    if (policy === undefined) return;
    policy.lifecycle(this.everRun ? 'resumed' : 'started');
  }

  /** Records how a run ended: `stopped` when the guest is done, `paused` when a later run continues it. */
  private policyRunEnded(exit: MachineExit): void {
    const policy = this.policed?.policy;
    if (policy === undefined) return;
    const final = exit.reason === 'exit' || exit.reason === 'reset' || exit.reason === 'halted' || (exit.reason === 'policy' && exit.action === 'stop');
    policy.lifecycle(final ? 'stopped' : 'paused', exit.reason === 'policy' ? `${exit.action}: ${exit.event.kind}` : exit.reason);
  }

  /**
   * The CPU cap and budgets: how many of `budget` instructions the next slice may run. 0 means wait
   * (`idleUntil` is set); -1 means the instruction or wall-time budget is spent.
   */
  private policySlice(budget: number): number {
    const limiter = this.policed?.limiter;
    if (limiter === undefined) return budget;
    const now = hostNs();
    const n = limiter.sliceBudget(now, budget);
    if (n > 0) return n;
    const wait = limiter.waitTime(now);
    if (wait === Infinity) return -1;
    this.idleUntil = Math.max(wait / 1e6, 0.05);
    return 0;
  }

  private policyCharge(instructions: number, startedNs: number): void {
    const limiter = this.policed?.limiter;
    if (limiter === undefined) return;
    const now = hostNs();
    limiter.charge(instructions, now - startedNs, now);
  }

  /** Instructions executed since the machine was built (across resets). */
  get instructions(): number {
    return this.retiredBeforeReset + this.cpu.instructions;
  }

  /** COM1 is `serial(0)`. */
  serial(index: number): Uart16550 {
    const uart = this.board.uarts[index];
    if (uart === undefined) throw new VmmError('InvalidArgument', `serial port COM${index + 1} is not configured (the machine has ${this.board.uarts.length})`);
    return uart;
  }

  /** Where bytes written to the debug console (port 0xE9) go. */
  setDebugConsoleSink(sink: ((byte: number) => void) | undefined): void {
    this.debugConsoleSink = sink;
  }

  /** Asks a running `run()` to return `{ reason: 'stopped' }` soon. */
  stop(): void {
    this.stopRequested = true;
    this.cpu.requestStop();
    this.wake();
  }

  /** Host input arrived (e.g. serial bytes): end an idle wait so the guest sees it now. */
  wake(): void {
    const w = this.waker;
    this.waker = null;
    w?.();
  }

  /** A guest-visible reset: every device, the CPU, and the boot loader again (a Linux or Multiboot kernel is reloaded). */
  reset(): void {
    this.policed?.policy.lifecycle('reset', this.pendingReset ?? 'host');
    this.retiredBeforeReset += this.cpu.instructions;
    this.resets++;
    this.board.reset();
    this.cpu.reset();
    this.boot();
  }

  private boot(): void {
    const boot = this.config.boot;
    let state: CpuStatePatch | null = null;
    if (boot.kind === 'linux') state = loadLinux(this.memory, this.config.memory, boot).cpuState;
    else if (boot.kind === 'multiboot') state = loadMultiboot(this.memory, this.config.memory, boot).cpuState;
    if (state !== null) {
      this.board.initLikeFirmware();
      this.cpu.setState(state);
    }
    this.pendingExit = -1;
    this.pendingReset = null;
  }

  private setA20(enabled: boolean): void {
    if (this.cpu.model.generation === 0) return;
    if (this.cpu.getState().a20 !== enabled) this.cpu.setState({ a20: enabled });
  }

  /**
   * Runs the guest until it ends, the host stops it or the budget is spent. Yields to the event loop
   * every few milliseconds so host I/O keeps flowing; an idle guest costs no host CPU in real-time mode.
   */
  async run(options: RunOptions = {}): Promise<MachineExit> {
    if (this.running) throw new VmmError('Busy', 'Machine.run() called while the machine is already running');
    const max = options.maxInstructions ?? Infinity;
    if (!(max >= 0)) throw new VmmError('InvalidArgument', `maxInstructions must be a non-negative number, got ${max}`);
    this.running = true;
    this.stopRequested = false;
    const limit = this.instructions + max;
    this.policyRunStarted();
    this.everRun = true;
    try {
      for (;;) {
        const exit = this.runSlices(limit);
        if (exit !== null) {
          this.policyRunEnded(exit);
          return exit;
        }
        if (this.idleUntil > 0) await this.idle(this.idleUntil);
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
      this.waker = null;
    }
  }

  /** Set by `runSlices` when the CPU is halted: wait on the host for this many ms (Infinity: until `wake()`). */
  private idleUntil = 0;

  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.waker = null;
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      this.waker = done;
    });
  }

  /** The synchronous part of the loop: CPU slices and timers for about YIELD_EVERY_MS of host time. */
  private runSlices(limit: number): MachineExit | null {
    const { cpu, time } = this;
    const clock = this.board.clock;
    const deterministic = time.mode === 'deterministic';
    const started = performance.now();
    this.idleUntil = 0;
    let haltedSince = -1;
    for (;;) {
      const done = this.instructions;
      const now = time.now(done);
      clock.advanceTo(now);
      const ended = this.takeEvent();
      if (ended !== null) return ended;
      if (done >= limit) return { reason: 'budget' };
      const next = clock.nextDeadline();
      let budget: number;
      if (deterministic) {
        budget = next === Infinity ? MAX_SLICE : Math.ceil((next - now) / this.config.nsPerInstruction);
      } else {
        budget = next === Infinity ? REALTIME_SLICE : Math.floor((next - now) / REALTIME_NS_PER_INSN_GUESS);
        budget = Math.max(REALTIME_MIN_SLICE, budget);
      }
      budget = Math.max(1, Math.min(budget, MAX_SLICE, limit - done));
      let sliceStarted = 0;
      if (this.policed?.limiter !== undefined) {
        budget = this.policySlice(budget);
        if (budget < 0) {
          this.policed.policy.guestEvent('budget-exhausted');
          this.pendingAction = null;
          return { reason: 'budget' };
        }
        if (budget === 0) return null;
        sliceStarted = hostNs();
      }
      this.inCpu = true;
      const reason = cpu.run(this.tracing ? Math.min(budget, TRACED_SLICE) : budget);
      this.inCpu = false;
      if (sliceStarted !== 0) this.policyCharge(this.instructions - done, sliceStarted);
      if (reason === 'breakpoint') {
        const address = this.debugger.hit;
        if ((this.onBreakpoint?.(address, cpu) ?? 'stop') === 'stop') return { reason: 'breakpoint', address };
      } else if (reason === 'shutdown') {
        // The machine's usual way is a reset; a policy's 'stop' or 'pause' replaces it.
        const before = this.pendingReset;
        this.pendingReset ??= 'triple-fault';
        const action = this.policed?.policy.guestEvent('triple-fault');
        if (action === 'stop' || action === 'pause') this.pendingReset = before;
      } else if (reason === 'halt' && this.pendingExit < 0 && this.pendingReset === null && !this.stopRequested) {
        if ((cpu.flags & IF) === 0) {
          const action = this.policed?.policy.guestEvent('halt-interrupts-disabled');
          if (action === 'reset' || action === 'pause') continue;
          this.takePolicySnapshot();
          return { reason: 'halted' };
        }
        const wakeAt = clock.nextDeadline();
        if (wakeAt === Infinity) {
          if (!this.waitForInput) return { reason: 'halted' };
          this.idleUntil = Infinity;
          return null;
        }
        if (deterministic) {
          const halted = time.now(this.instructions);
          if (haltedSince < 0 || this.instructions !== done) haltedSince = halted;
          else if (!this.waitForInput && halted - haltedSince > IDLE_GIVE_UP_NS) return { reason: 'halted' };
          time.skipTo(wakeAt, this.instructions);
        } else {
          this.idleUntil = (wakeAt - time.now(this.instructions)) / 1e6;
          if (this.idleUntil > 0) return null;
          this.idleUntil = 0;
        }
      }
      if (performance.now() - started >= YIELD_EVERY_MS) {
        const late = this.takeEvent();
        return late;
      }
    }
  }

  /** A pending exit, reset or stop, handled in that order; a reset without `noReboot` reboots and goes on. */
  private takeEvent(): MachineExit | null {
    if (this.pendingSnapshot !== null) this.takePolicySnapshot();
    if (this.pendingAction !== null) {
      const { action, event } = this.pendingAction;
      this.pendingAction = null;
      return { reason: 'policy', action, event };
    }
    if (this.pendingExit >= 0) {
      const status = this.pendingExit;
      this.pendingExit = -1;
      return { reason: 'exit', status };
    }
    if (this.pendingReset !== null) {
      const source = this.pendingReset;
      if (this.config.noReboot) {
        this.pendingReset = null;
        return { reason: 'reset', source };
      }
      this.reset();
    }
    if (this.stopRequested) {
      this.stopRequested = false;
      return { reason: 'stopped' };
    }
    return null;
  }
}
