import type { CpuCore as Cpu } from './cpu.js';

/** EFLAGS bits (Intel SDM vol. 1, 3.4.3). */
export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL = 3 << 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
/** Virtual interrupt flag and virtual interrupt pending (CR4.VME and CR4.PVI; SDM vol. 3A, 20.3). */
export const VIF = 1 << 19;
export const VIP = 1 << 20;
export const ID = 1 << 21;
/** The six arithmetic flags, the ones kept lazily. */
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** Operand sizes as the lazy state stores them: the index of the sign bit. */
export const MSB8 = 7;
export const MSB16 = 15;
export const MSB32 = 31;

/** PF: 1 when the low byte of the result has an even number of set bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b !== 0; b >>= 1) bits += b & 1;
  PARITY[i] = (bits & 1) === 0 ? 1 : 0;
}

/*
 * Lazy flags, Bochs-style: a flag-setting operation stores its result (masked to the operand size),
 * the index of the sign bit, and a carry-out vector (bit i = the carry or borrow out of bit i).
 * CF is the carry out of the sign bit, AF the carry out of bit 3, OF the carry out of the sign bit
 * XOR the carry into it (the carry out of the bit below); ZF, SF and PF come from the result.
 * Operations with other CF/OF/AF rules (shifts, multiplies) store a synthesised vector.
 */

/** Records an addition `a + b (+ carry) = r` (a, b, r unmasked integers) of size `msb`. */
export function lazyAdd(cpu: Cpu, a: number, b: number, r: number, msb: number): void {
  cpu.lfRes = r & SIZE_MASK[msb];
  cpu.lfCv = (a & b) | ((a | b) & ~r);
  cpu.lfMsb = msb;
  cpu.lazy = 1;
}

/** Records a subtraction `a - b (- borrow) = r`: the vector holds the borrows. */
export function lazySub(cpu: Cpu, a: number, b: number, r: number, msb: number): void {
  cpu.lfRes = r & SIZE_MASK[msb];
  cpu.lfCv = (~a & b) | ((~a | b) & r);
  cpu.lfMsb = msb;
  cpu.lazy = 1;
}

/** Records a result whose CF, OF and AF are given (logic ops: all 0; shifts: computed). */
export function lazyResult(cpu: Cpu, r: number, msb: number, cf: number, of: number, af: number): void {
  cpu.lfRes = r & SIZE_MASK[msb];
  cpu.lfCv = (cf << msb) | ((cf ^ of) << (msb - 1)) | (af << 3);
  cpu.lfMsb = msb;
  cpu.lazy = 1;
}

/** `SIZE_MASK[msb]`: the operand mask for a sign-bit index 7, 15 or 31. */
export const SIZE_MASK: Int32Array = (() => {
  const m = new Int32Array(32);
  m[7] = 0xff;
  m[15] = 0xffff;
  m[31] = -1;
  return m;
})();

export function getCF(cpu: Cpu): number {
  return cpu.lazy !== 0 ? (cpu.lfCv >>> cpu.lfMsb) & 1 : cpu.flags & CF;
}
export function getZF(cpu: Cpu): number {
  return cpu.lazy !== 0 ? (cpu.lfRes === 0 ? 1 : 0) : (cpu.flags >>> 6) & 1;
}
export function getSF(cpu: Cpu): number {
  return cpu.lazy !== 0 ? (cpu.lfRes >>> cpu.lfMsb) & 1 : (cpu.flags >>> 7) & 1;
}
export function getOF(cpu: Cpu): number {
  return cpu.lazy !== 0 ? ((cpu.lfCv >>> cpu.lfMsb) ^ (cpu.lfCv >>> (cpu.lfMsb - 1))) & 1 : (cpu.flags >>> 11) & 1;
}
export function getPF(cpu: Cpu): number {
  return cpu.lazy !== 0 ? PARITY[cpu.lfRes & 0xff] : (cpu.flags >>> 2) & 1;
}
export function getAF(cpu: Cpu): number {
  return cpu.lazy !== 0 ? (cpu.lfCv >>> 3) & 1 : (cpu.flags >>> 4) & 1;
}

/** The full EFLAGS value (lazy flags evaluated). */
export function readFlags(cpu: Cpu): number {
  if (cpu.lazy === 0) return cpu.flags;
  return (
    (cpu.flags & ~ARITH) |
    getCF(cpu) |
    (getPF(cpu) << 2) |
    (getAF(cpu) << 4) |
    (getZF(cpu) << 6) |
    (getSF(cpu) << 7) |
    (getOF(cpu) << 11)
  );
}

/** Evaluates the lazy flags into `cpu.flags` so individual bits can be changed directly. */
export function materializeFlags(cpu: Cpu): void {
  if (cpu.lazy !== 0) {
    cpu.flags = readFlags(cpu);
    cpu.lazy = 0;
  }
}

/**
 * Writes EFLAGS bits under `mask` (the caller narrows it to what the instruction and mode may
 * change); the model's fixed-one bits stay set.
 */
export function writeFlags(cpu: Cpu, value: number, mask: number): void {
  const old = readFlags(cpu);
  cpu.flags = (old & ~mask) | (value & mask) | cpu.model.flagsFixedOne;
  cpu.lazy = 0;
}

/** Condition codes 0-15 in encoding order (O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L, GE, LE, G). */
export function condition(cpu: Cpu, cc: number): boolean {
  let r: number;
  switch (cc >>> 1) {
    case 0: r = getOF(cpu); break;
    case 1: r = getCF(cpu); break;
    case 2: r = getZF(cpu); break;
    case 3: r = getCF(cpu) | getZF(cpu); break;
    case 4: r = getSF(cpu); break;
    case 5: r = getPF(cpu); break;
    case 6: r = getSF(cpu) ^ getOF(cpu); break;
    default: r = getZF(cpu) | (getSF(cpu) ^ getOF(cpu)); break;
  }
  return (r ^ (cc & 1)) !== 0;
}
