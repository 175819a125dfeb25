import { EAX, EBX, ECX, EDX } from '../cpu.js';
import { getZF, materializeFlags, ZF } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { alu, ALU_ADD, ALU_CMP } from './arith.js';
import { getReg, setReg } from './regs.js';

/** XADD r/m, reg (486): reg = old r/m, r/m = sum. */
export function xaddR(cpu: Cpu, op: Op): void {
  const d = getReg(cpu, op.m, op.msb);
  const s = getReg(cpu, op.r, op.msb);
  const r = alu(cpu, ALU_ADD, d, s, op.msb);
  setReg(cpu, op.r, d, op.msb);
  setReg(cpu, op.m, r, op.msb);
}
export function xaddM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const d = cpu.rd(op.seg, off, op.msb);
  const r = alu(cpu, ALU_ADD, d, getReg(cpu, op.r, op.msb), op.msb);
  cpu.wr(op.seg, off, r, op.msb);
  setReg(cpu, op.r, d, op.msb);
}

/** CMPXCHG r/m, reg (486): compare accumulator with r/m; equal: r/m = reg, else accumulator = r/m. */
export function cmpxchgR(cpu: Cpu, op: Op): void {
  const d = getReg(cpu, op.m, op.msb);
  alu(cpu, ALU_CMP, getReg(cpu, 0, op.msb), d, op.msb);
  if (getZF(cpu) !== 0) setReg(cpu, op.m, getReg(cpu, op.r, op.msb), op.msb);
  else setReg(cpu, 0, d, op.msb);
}
export function cmpxchgM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const d = cpu.rd(op.seg, off, op.msb);
  alu(cpu, ALU_CMP, getReg(cpu, 0, op.msb), d, op.msb);
  if (getZF(cpu) !== 0) {
    cpu.wr(op.seg, off, getReg(cpu, op.r, op.msb), op.msb);
  } else {
    cpu.wr(op.seg, off, d, op.msb); // the processor always writes (SDM: "a write is always performed")
    setReg(cpu, 0, d, op.msb);
  }
}

/** CMPXCHG8B m64 (Pentium): compare EDX:EAX with m64; equal: m64 = ECX:EBX, else EDX:EAX = m64. */
export function cmpxchg8b(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const lo = cpu.rd32(op.seg, off);
  const hi = cpu.rd32(op.seg, (off + 4) & op.amask);
  materializeFlags(cpu);
  if (lo === cpu.regs[EAX] && hi === cpu.regs[EDX]) {
    cpu.wr32(op.seg, off, cpu.regs[EBX]);
    cpu.wr32(op.seg, (off + 4) & op.amask, cpu.regs[ECX]);
    cpu.flags |= ZF;
  } else {
    cpu.wr32(op.seg, off, lo);
    cpu.wr32(op.seg, (off + 4) & op.amask, hi);
    cpu.regs[EAX] = lo;
    cpu.regs[EDX] = hi;
    cpu.flags &= ~ZF;
  }
}
