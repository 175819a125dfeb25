import { CF, lazyResult, materializeFlags, ZF } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';

/** BT/BTS/BTR/BTC by ModR/M reg 4-7 (0F BA) and 0F A3/AB/B3/BB. `ext`: 0 BT, 1 BTS, 2 BTR, 3 BTC. */
function apply(kind: number, v: number, bit: number): number {
  switch (kind) {
    case 1: return v | (1 << bit);
    case 2: return v & ~(1 << bit);
    case 3: return v ^ (1 << bit);
    default: return v;
  }
}

function setCarry(cpu: Cpu, cf: number): void {
  materializeFlags(cpu);
  cpu.flags = (cpu.flags & ~CF) | cf;
}

/** Register destination: the bit offset is taken modulo the operand size. `imm2` 1 = offset is `imm`. */
export function btR(cpu: Cpu, op: Op): void {
  const bits = op.msb + 1;
  const bit = (op.imm2 !== 0 ? op.imm : getReg(cpu, op.r, op.msb)) & (bits - 1);
  const v = getReg(cpu, op.m, op.msb);
  setCarry(cpu, (v >>> bit) & 1);
  if (op.ext !== 0) setReg(cpu, op.m, apply(op.ext, v, bit), op.msb);
}

/**
 * Memory destination: a register bit offset is signed and may address any byte around the operand
 * (Intel SDM, BT); an immediate offset is taken modulo the operand size.
 */
export function btM(cpu: Cpu, op: Op): void {
  const bits = op.msb + 1;
  let off = ea(cpu, op);
  let bit: number;
  if (op.imm2 !== 0) {
    bit = op.imm & (bits - 1);
  } else {
    const sh = 31 - op.msb;
    const o = (getReg(cpu, op.r, op.msb) << sh) >> sh;
    bit = o & (bits - 1);
    off = (off + (o >> (op.msb === 31 ? 5 : 4)) * (bits >>> 3)) & op.amask;
  }
  const v = cpu.rd(op.seg, off, op.msb);
  setCarry(cpu, (v >>> bit) & 1);
  if (op.ext !== 0) cpu.wr(op.seg, off, apply(op.ext, v, bit), op.msb);
}

/** BSF (`ext` 0) / BSR (`ext` 1): ZF = source is zero (destination unchanged then). */
function scan(cpu: Cpu, op: Op, v: number): void {
  const mask = op.msb === 31 ? -1 : 0xffff;
  v &= mask;
  if (v === 0) {
    materializeFlags(cpu);
    cpu.flags |= ZF;
    return;
  }
  const idx = op.ext === 0 ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
  setReg(cpu, op.r, idx, op.msb);
  lazyResult(cpu, 1, op.msb, 0, 0, 0); // ZF = 0; the other flags are undefined
}
export function bsfR(cpu: Cpu, op: Op): void {
  scan(cpu, op, getReg(cpu, op.m, op.msb));
}
export function bsfM(cpu: Cpu, op: Op): void {
  scan(cpu, op, cpu.rd(op.seg, ea(cpu, op), op.msb));
}
