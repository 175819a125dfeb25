import type { Cpu } from './interpreter.js';

/** An instruction's semantics: reads what it needs from the decoded record, updates the CPU. */
export type Handler = (cpu: Cpu, op: Op) => void;

/**
 * One decoded instruction as the interpreter caches it: the handler chosen at decode time (register
 * or memory form, operand size) and the operand fields it reads. Built once per cache miss from the
 * decoder's record; never allocated while executing.
 */
export class Op {
  handler: Handler;
  /** Decoder `Code` of the instruction (for tracing and errors). */
  code = 0;
  /** Length in bytes. */
  len = 0;
  /** Sign-bit index of the operand size: 7, 15 or 31. */
  msb = 15;
  /** Register operand: register number (a byte offset into `r8` for 8-bit operands). */
  r = 0;
  /** Register form of r/m: register number (byte offset for 8-bit). */
  m = 0;
  /** Memory operand: segment, base and index registers (8 = none), scale shift, displacement. */
  seg = 3;
  base = 8;
  index = 8;
  scale = 0;
  disp = 0;
  /** 0xFFFF for 16-bit addressing, -1 for 32-bit. */
  amask = 0xffff;
  imm = 0;
  imm2 = 0;
  /** Branch displacement from the next instruction, or a far target's offset. */
  rel = 0;
  /** Handler-specific: ALU operation, condition code, segment register, far selector, ... */
  ext = 0;
  /** 0 none, 1 REP/REPE, 2 REPNE. */
  rep = 0;
  /** 1 when the cache may keep this op (not spanning a wrap of the code segment). */
  cacheable = 1;

  constructor(handler: Handler) {
    this.handler = handler;
  }
}

/** The effective address (offset within the segment) of a memory operand. */
export function ea(cpu: Cpu, op: Op): number {
  return (cpu.regs[op.base] + (cpu.regs[op.index] << op.scale) + op.disp) & op.amask;
}
