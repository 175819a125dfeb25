import { ECX, EDI, EDX, ES, ESI } from '../cpu.js';
import { DF, getZF } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import type { Op } from '../op.js';
import { checkIoAccess } from '../io-permission.js';
import { alu, ALU_CMP } from './arith.js';
import { getReg, setReg } from './regs.js';

/** Iterations one execution of a REP string instruction may run before yielding (it restarts itself). */
export const REP_CHUNK = 4096;

function idx(cpu: Cpu, r: number, amask: number): number {
  return cpu.regs[r] & amask;
}
function setIdx(cpu: Cpu, r: number, v: number, amask: number): void {
  if (amask === 0xffff) cpu.r16[r << 1] = v;
  else cpu.regs[r] = v;
}
function step(cpu: Cpu, op: Op): number {
  const size = (op.msb + 1) >>> 3;
  return (cpu.flags & DF) !== 0 ? -size : size;
}

/** One iteration of each string operation; returns nothing, updates SI/DI. */
function movsOnce(cpu: Cpu, op: Op, d: number): void {
  const si = idx(cpu, ESI, op.amask);
  const di = idx(cpu, EDI, op.amask);
  cpu.wr(ES, di, cpu.rd(op.seg, si, op.msb), op.msb);
  setIdx(cpu, ESI, si + d, op.amask);
  setIdx(cpu, EDI, di + d, op.amask);
}
function stosOnce(cpu: Cpu, op: Op, d: number): void {
  const di = idx(cpu, EDI, op.amask);
  cpu.wr(ES, di, getReg(cpu, 0, op.msb), op.msb);
  setIdx(cpu, EDI, di + d, op.amask);
}
function lodsOnce(cpu: Cpu, op: Op, d: number): void {
  const si = idx(cpu, ESI, op.amask);
  setReg(cpu, 0, cpu.rd(op.seg, si, op.msb), op.msb);
  setIdx(cpu, ESI, si + d, op.amask);
}
function cmpsOnce(cpu: Cpu, op: Op, d: number): void {
  const si = idx(cpu, ESI, op.amask);
  const di = idx(cpu, EDI, op.amask);
  const a = cpu.rd(op.seg, si, op.msb);
  const b = cpu.rd(ES, di, op.msb);
  alu(cpu, ALU_CMP, a, b, op.msb);
  setIdx(cpu, ESI, si + d, op.amask);
  setIdx(cpu, EDI, di + d, op.amask);
}
function scasOnce(cpu: Cpu, op: Op, d: number): void {
  const di = idx(cpu, EDI, op.amask);
  alu(cpu, ALU_CMP, getReg(cpu, 0, op.msb), cpu.rd(ES, di, op.msb), op.msb);
  setIdx(cpu, EDI, di + d, op.amask);
}
function insOnce(cpu: Cpu, op: Op, d: number): void {
  const di = idx(cpu, EDI, op.amask);
  const port = cpu.r16[EDX << 1];
  const v = op.msb === 7 ? cpu.io.in8(port) : op.msb === 15 ? cpu.io.in16(port) : cpu.io.in32(port);
  cpu.wr(ES, di, v, op.msb);
  setIdx(cpu, EDI, di + d, op.amask);
}
function outsOnce(cpu: Cpu, op: Op, d: number): void {
  const si = idx(cpu, ESI, op.amask);
  const port = cpu.r16[EDX << 1];
  const v = cpu.rd(op.seg, si, op.msb);
  if (op.msb === 7) cpu.io.out8(port, v);
  else if (op.msb === 15) cpu.io.out16(port, v);
  else cpu.io.out32(port, v >>> 0);
  setIdx(cpu, ESI, si + d, op.amask);
}

type Once = (cpu: Cpu, op: Op, d: number) => void;

/**
 * Runs a string operation with its REP prefix: the count register (CX or ECX by address size) is
 * tested before each iteration; REPE/REPNE also stop on ZF for CMPS and SCAS. After REP_CHUNK
 * iterations the instruction yields and restarts itself, so interrupts and budgets are honoured.
 */
function repeat(cpu: Cpu, op: Op, once: Once, compares: boolean): void {
  const d = step(cpu, op);
  if (op.rep === 0) {
    once(cpu, op, d);
    return;
  }
  const wide = op.amask !== 0xffff;
  for (let n = 0; n < REP_CHUNK; n++) {
    const count = wide ? cpu.regs[ECX] : cpu.r16[ECX << 1];
    if (count === 0) return;
    once(cpu, op, d);
    if (wide) cpu.regs[ECX] = (count - 1) | 0;
    else cpu.r16[ECX << 1] = count - 1;
    if (compares && (op.rep === 1 ? getZF(cpu) === 0 : getZF(cpu) !== 0)) return;
  }
  if ((wide ? cpu.regs[ECX] : cpu.r16[ECX << 1]) !== 0) {
    cpu.eip = cpu.opEip;
    cpu.repYield = true;
  }
}

export function movs(cpu: Cpu, op: Op): void {
  repeat(cpu, op, movsOnce, false);
}
export function stos(cpu: Cpu, op: Op): void {
  repeat(cpu, op, stosOnce, false);
}
export function lods(cpu: Cpu, op: Op): void {
  repeat(cpu, op, lodsOnce, false);
}
export function cmps(cpu: Cpu, op: Op): void {
  repeat(cpu, op, cmpsOnce, true);
}
export function scas(cpu: Cpu, op: Op): void {
  repeat(cpu, op, scasOnce, true);
}
export function ins(cpu: Cpu, op: Op): void {
  checkIoAccess(cpu, cpu.r16[EDX << 1], (op.msb + 1) >>> 3);
  repeat(cpu, op, insOnce, false);
}
export function outs(cpu: Cpu, op: Op): void {
  checkIoAccess(cpu, cpu.r16[EDX << 1], (op.msb + 1) >>> 3);
  repeat(cpu, op, outsOnce, false);
}
