import { CS, EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP } from './cpu.js';
import { CpuError } from './errors.js';
import { readFlags } from './flags.js';
import type { Cpu, StopReason } from './interpreter.js';

const PAGE_SHIFT = 12;
const MAX_LINEAR = 0xffffffff;
/** The page table before the first breakpoint (checked by length, never indexed). */
const NO_PAGES = new Uint16Array(0);

/**
 * The CPU just before one instruction executes, as the trace sees it. One object is reused for every
 * record: copy what you keep.
 */
export interface TraceRecord {
  /** Linear address of the instruction (CS.base + EIP). */
  linear: number;
  cs: number;
  eip: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
  esp: number;
  eflags: number;
  cpl: number;
  /** Instructions retired since reset. */
  instructions: number;
}

/** What the CPU's loop asks before each instruction while a debugger is armed (interpreter.ts). */
export interface InstructionWatch {
  /** True to stop before the instruction at CS:EIP (`run` returns 'breakpoint'). */
  beforeInstruction(cpu: Cpu): boolean;
}

/**
 * Breakpoints on linear addresses, single steps and an instruction trace for one CPU.
 *
 * The CPU's loop reads one field per `run` call to know whether a debugger is armed, so a CPU with
 * no breakpoint and no trace pays nothing per instruction. While armed, each instruction costs one
 * look-up in a per-page table; only instructions on a linear page holding a breakpoint look the
 * address up. `run` stops *before* the instruction at a breakpoint and returns 'breakpoint'
 * (`hit` holds the address); the next `run` or `step` executes it rather than stopping again.
 */
export class Debugger implements InstructionWatch {
  /** Breakpoints per linear 4 KiB page (allocated with the first breakpoint). */
  private pageCounts = NO_PAGES;
  private readonly points = new Set<number>();
  private traceSink: ((record: TraceRecord) => void) | null = null;
  private readonly record: TraceRecord = {
    linear: 0,
    cs: 0,
    eip: 0,
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: 0,
    esi: 0,
    edi: 0,
    ebp: 0,
    esp: 0,
    eflags: 0,
    cpl: 0,
    instructions: 0,
  };
  /** The breakpoint the last `run` stopped at (linear), or -1. */
  hit = -1;
  /** Where the CPU last stopped, and its instruction count then: that stop is not repeated. */
  private resumeLinear = -1;
  private resumeCount = -1;

  constructor(private readonly cpu: Cpu) {}

  /** Adds a breakpoint at a linear address (an integer in 0..0xFFFFFFFF). */
  addBreakpoint(linear: number): void {
    const a = checkAddress(linear);
    if (this.points.has(a)) return;
    if (this.pageCounts === NO_PAGES) this.pageCounts = new Uint16Array(1 << (32 - PAGE_SHIFT));
    this.points.add(a);
    this.pageCounts[a >>> PAGE_SHIFT]++;
    this.arm();
  }

  /** Removes a breakpoint; false when there was none at `linear`. */
  removeBreakpoint(linear: number): boolean {
    const a = checkAddress(linear);
    if (!this.points.delete(a)) return false;
    this.pageCounts[a >>> PAGE_SHIFT]--;
    this.arm();
    return true;
  }

  /** The breakpoints, in ascending order. */
  breakpoints(): number[] {
    return [...this.points].sort((x, y) => x - y);
  }

  clearBreakpoints(): void {
    for (const a of this.points) this.pageCounts[a >>> PAGE_SHIFT] = 0;
    this.points.clear();
    this.arm();
  }

  /**
   * Calls `sink` before every instruction with the registers then (slow: for debugging); `null`
   * stops the trace. A breakpoint stop is not traced; the instruction is, when it runs.
   */
  setTrace(sink: ((record: TraceRecord) => void) | null): void {
    if (sink !== null && typeof sink !== 'function') throw new CpuError('InvalidArgument', 'the trace sink must be a function or null');
    this.traceSink = sink;
    this.arm();
  }

  /** Runs up to `budget` instructions; stops before a breakpoint ('breakpoint') or as `Cpu.run` does. */
  run(budget: number): StopReason {
    this.hit = -1;
    return this.cpu.run(budget);
  }

  /** Executes exactly one instruction, even one at a breakpoint (after a pending interrupt, its handler's first). */
  step(): StopReason {
    this.hit = -1;
    this.resumeLinear = linearEip(this.cpu);
    this.resumeCount = this.cpu.instructions;
    return this.cpu.run(1);
  }

  /** Detaches from the CPU (breakpoints and trace stay configured but are not checked). */
  detach(): void {
    if (this.cpu.watch === this) this.cpu.watch = null;
  }

  /** Attaches to the CPU while there is something to check, so an idle debugger costs nothing. */
  private arm(): void {
    if (this.points.size > 0 || this.traceSink !== null) this.cpu.watch = this;
    else this.detach();
  }

  beforeInstruction(cpu: Cpu): boolean {
    const linear = linearEip(cpu);
    const counts = this.pageCounts;
    if (counts.length !== 0 && counts[linear >>> PAGE_SHIFT] !== 0 && this.points.has(linear)) {
      if (linear !== this.resumeLinear || cpu.instructions !== this.resumeCount) {
        this.hit = linear;
        this.resumeLinear = linear;
        this.resumeCount = cpu.instructions;
        return true;
      }
    }
    const sink = this.traceSink;
    if (sink !== null) {
      const r = this.record;
      const regs = cpu.regs;
      r.linear = linear;
      r.cs = cpu.segSel[CS];
      r.eip = cpu.eip >>> 0;
      r.eax = regs[EAX] >>> 0;
      r.ebx = regs[EBX] >>> 0;
      r.ecx = regs[ECX] >>> 0;
      r.edx = regs[EDX] >>> 0;
      r.esi = regs[ESI] >>> 0;
      r.edi = regs[EDI] >>> 0;
      r.ebp = regs[EBP] >>> 0;
      r.esp = regs[ESP] >>> 0;
      r.eflags = readFlags(cpu) >>> 0;
      r.cpl = cpu.cpl;
      r.instructions = cpu.instructions;
      sink(r);
    }
    return false;
  }
}

function linearEip(cpu: Cpu): number {
  return (cpu.segBase[CS] + cpu.eip) >>> 0;
}

function checkAddress(linear: number): number {
  if (typeof linear !== 'number' || !Number.isInteger(linear) || linear < 0 || linear > MAX_LINEAR) {
    throw new CpuError('InvalidArgument', `a breakpoint address must be an integer in 0..0xFFFFFFFF, got ${String(linear)}`);
  }
  return linear;
}
