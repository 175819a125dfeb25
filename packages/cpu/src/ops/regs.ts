import type { Cpu } from '../interpreter.js';

/** Reads general register `i` at operand size `msb` (for 8-bit, `i` is a byte offset, see BYTE_REG). */
export function getReg(cpu: Cpu, i: number, msb: number): number {
  return msb === 7 ? cpu.r8[i] : msb === 15 ? cpu.r16[i << 1] : cpu.regs[i];
}

/** Writes general register `i` at operand size `msb`; 8/16-bit writes keep the other bits. */
export function setReg(cpu: Cpu, i: number, v: number, msb: number): void {
  if (msb === 7) cpu.r8[i] = v;
  else if (msb === 15) cpu.r16[i << 1] = v;
  else cpu.regs[i] = v;
}
