import { getAF, getCF, lazyResult } from '../flags.js';
import { AH } from '../cpu.js';
import type { Cpu } from '../interpreter.js';
import type { Op } from '../op.js';

/**
 * The high-digit threshold of DAA/DAS. Intel documents AL > 99h; the 8086 compares with 9Fh when AF
 * was set on entry (its low-digit adjust has already run), as the 8086 vectors show.
 */
function highLimit(cpu: Cpu, oldAf: number): number {
  return cpu.model.generation === 0 && oldAf !== 0 ? 0x9f : 0x99;
}

/** DAA (Intel SDM vol. 2A, DAA): decimal adjust AL after addition. OF is left 0 (undefined). */
export function daa(cpu: Cpu): void {
  const old = cpu.r8[0];
  const oldCf = getCF(cpu);
  const oldAf = getAF(cpu);
  let al = old;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || oldAf !== 0) {
    al += 6;
    cf = oldCf | (al > 0xff ? 1 : 0);
    af = 1;
  }
  if (old > highLimit(cpu, oldAf) || oldCf !== 0) {
    al += 0x60;
    cf = 1;
  }
  cpu.r8[0] = al;
  lazyResult(cpu, al & 0xff, 7, cf, 0, af);
}

/** DAS: decimal adjust AL after subtraction. The 8086 does not carry the low digit's borrow into CF. */
export function das(cpu: Cpu): void {
  const old = cpu.r8[0];
  const oldCf = getCF(cpu);
  const oldAf = getAF(cpu);
  let al = old;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || oldAf !== 0) {
    al -= 6;
    cf = oldCf | (al < 0 && cpu.model.generation !== 0 ? 1 : 0);
    af = 1;
  }
  if (old > highLimit(cpu, oldAf) || oldCf !== 0) {
    al -= 0x60;
    cf = 1;
  }
  cpu.r8[0] = al;
  lazyResult(cpu, al & 0xff, 7, cf, 0, af);
}

/**
 * AAA / AAS (`ext` 0 / 1): ASCII adjust. The 8086 adjusts AL alone and then AH by one; the 286 and
 * later add or subtract 0x106 on AX as a whole (a carry out of AL reaches AH).
 */
export function aaaAas(cpu: Cpu, op: Op): void {
  const sub = op.ext !== 0;
  let cf = 0;
  if ((cpu.r8[0] & 0x0f) > 9 || getAF(cpu) !== 0) {
    if (cpu.model.generation === 0) {
      cpu.r8[0] = sub ? cpu.r8[0] - 6 : cpu.r8[0] + 6;
      cpu.r8[AH] = sub ? cpu.r8[AH] - 1 : cpu.r8[AH] + 1;
    } else {
      cpu.r16[0] = sub ? cpu.r16[0] - 6 : cpu.r16[0] + 6;
      cpu.r8[AH] = sub ? cpu.r8[AH] - 1 : cpu.r8[AH] + 1;
    }
    cf = 1;
  }
  cpu.r8[0] = cpu.r8[0] & 0x0f;
  lazyResult(cpu, cpu.r8[0], 7, cf, 0, cf);
}

/** AAM imm8: AH = AL / imm, AL = AL % imm; a zero base is #DE (the 8086 first sets SZP as for 0). */
export function aam(cpu: Cpu, op: Op): void {
  const base = op.imm & 0xff;
  if (base === 0) {
    if (cpu.model.generation === 0) lazyResult(cpu, 0, 7, 0, 0, 0);
    cpu.divideError();
    return;
  }
  const al = cpu.r8[0];
  cpu.r8[AH] = Math.floor(al / base);
  cpu.r8[0] = al % base;
  lazyResult(cpu, cpu.r8[0], 7, 0, 0, 0);
}

/** AAD imm8: AL = AL + AH * imm, AH = 0. */
export function aad(cpu: Cpu, op: Op): void {
  const al = (cpu.r8[0] + cpu.r8[AH] * (op.imm & 0xff)) & 0xff;
  cpu.r16[0] = al;
  lazyResult(cpu, al, 7, 0, 0, 0);
}
