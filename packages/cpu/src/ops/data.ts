import { condition, readFlags, writeFlags, CF, PF, AF, ZF, SF } from '../flags.js';
import { AH, CS, DS, EAX, EDX, SS, UD } from '../cpu.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';
import { getReg, setReg } from './regs.js';

/** MOV r/m, reg. */
export function movRmRegR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, getReg(cpu, op.r, op.msb), op.msb);
}
export function movRmRegM(cpu: Cpu, op: Op): void {
  cpu.wr(op.seg, ea(cpu, op), getReg(cpu, op.r, op.msb), op.msb);
}
/** MOV reg, r/m. */
export function movRegRmR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.r, getReg(cpu, op.m, op.msb), op.msb);
}
export function movRegRmM(cpu: Cpu, op: Op): void {
  setReg(cpu, op.r, cpu.rd(op.seg, ea(cpu, op), op.msb), op.msb);
}
/** MOV r/m, imm and MOV reg, imm (register form with m = the register). */
export function movRmImmR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.m, op.imm, op.msb);
}
export function movRmImmM(cpu: Cpu, op: Op): void {
  cpu.wr(op.seg, ea(cpu, op), op.imm, op.msb);
}

/** Loads a segment register (`ext`) the way the current mode does; MOV SS/POP SS start an interrupt shadow. */
export function loadSeg(cpu: Cpu, seg: number, sel: number): void {
  cpu.loadSeg(seg, sel);
  if (seg === SS) {
    cpu.shadow = true;
    cpu.ssShadow = true;
  }
}

/** MOV r/m16, Sreg (`ext` = segment). A register destination takes the zero-extended selector at 32 bits. */
export function movRmSregR(cpu: Cpu, op: Op): void {
  if (op.ext > DS && !cpu.model.has32) {
    cpu.exception(UD);
    return;
  }
  setReg(cpu, op.m, cpu.segSel[op.ext], op.msb);
}
export function movRmSregM(cpu: Cpu, op: Op): void {
  if (op.ext > DS && !cpu.model.has32) {
    cpu.exception(UD);
    return;
  }
  cpu.wr16(op.seg, ea(cpu, op), cpu.segSel[op.ext]);
}
/** MOV CS exists only on the 8086; FS and GS from the 386 on. */
function badSreg(cpu: Cpu, seg: number): boolean {
  return (seg === CS && cpu.model.generation !== 0) || (seg > DS && !cpu.model.has32);
}

/** MOV Sreg, r/m16. */
export function movSregRmR(cpu: Cpu, op: Op): void {
  if (badSreg(cpu, op.ext)) {
    cpu.exception(UD);
    return;
  }
  loadSeg(cpu, op.ext, cpu.r16[op.m << 1]);
}
export function movSregRmM(cpu: Cpu, op: Op): void {
  if (badSreg(cpu, op.ext)) {
    cpu.exception(UD);
    return;
  }
  loadSeg(cpu, op.ext, cpu.rd16(op.seg, ea(cpu, op)));
}

/** LEA reg, m: the offset, truncated or zero-extended to the operand size. */
export function lea(cpu: Cpu, op: Op): void {
  setReg(cpu, op.r, ea(cpu, op), op.msb);
}

/** XCHG reg, r/m (and the 90+r forms with m = the register). */
export function xchgR(cpu: Cpu, op: Op): void {
  const a = getReg(cpu, op.r, op.msb);
  setReg(cpu, op.r, getReg(cpu, op.m, op.msb), op.msb);
  setReg(cpu, op.m, a, op.msb);
}
export function xchgM(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const v = cpu.rd(op.seg, off, op.msb);
  cpu.wr(op.seg, off, getReg(cpu, op.r, op.msb), op.msb);
  setReg(cpu, op.r, v, op.msb);
}

/** XLAT: AL = [seg:(E)BX + AL]. */
export function xlat(cpu: Cpu, op: Op): void {
  cpu.r8[0] = cpu.rd8(op.seg, (cpu.regs[3] + cpu.r8[0]) & op.amask);
}

/** LDS/LES/LFS/LGS/LSS reg, m16:16/32 (`ext` = segment). */
export function loadFarPointer(cpu: Cpu, op: Op): void {
  const off = ea(cpu, op);
  const value = cpu.rd(op.seg, off, op.msb);
  const sel = cpu.rd16(op.seg, (off + (op.msb === 31 ? 4 : 2)) & op.amask);
  loadSeg(cpu, op.ext, sel);
  setReg(cpu, op.r, value, op.msb);
}

/** MOVZX/MOVSX reg, r/m8/16: `ext` bit 0 = sign-extend, `imm2` = source msb. */
function extend(v: number, signed: boolean, srcMsb: number): number {
  const sh = 31 - srcMsb;
  return signed ? (v << sh) >> sh : v;
}
export function movxR(cpu: Cpu, op: Op): void {
  setReg(cpu, op.r, extend(getReg(cpu, op.m, op.imm2), (op.ext & 1) !== 0, op.imm2), op.msb);
}
export function movxM(cpu: Cpu, op: Op): void {
  setReg(cpu, op.r, extend(cpu.rd(op.seg, ea(cpu, op), op.imm2), (op.ext & 1) !== 0, op.imm2), op.msb);
}

/** CBW / CWDE. */
export function cbw(cpu: Cpu, op: Op): void {
  if (op.msb === 15) cpu.r16[0] = (cpu.r8[0] << 24) >> 24;
  else cpu.regs[EAX] = (cpu.r16[0] << 16) >> 16;
}
/** CWD / CDQ. */
export function cwd(cpu: Cpu, op: Op): void {
  if (op.msb === 15) cpu.r16[EDX << 1] = (cpu.r16[0] & 0x8000) !== 0 ? 0xffff : 0;
  else cpu.regs[EDX] = cpu.regs[EAX] >> 31;
}

/** LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. */
export function lahf(cpu: Cpu): void {
  cpu.r8[AH] = (readFlags(cpu) & 0xd5) | 2;
}
/** SAHF: SF, ZF, AF, PF, CF from AH. */
export function sahf(cpu: Cpu): void {
  writeFlags(cpu, cpu.r8[AH], SF | ZF | AF | PF | CF);
}

/** BSWAP r32 (486). */
export function bswap(cpu: Cpu, op: Op): void {
  const v = cpu.regs[op.m];
  cpu.regs[op.m] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** CMOVcc reg, r/m (P6): `ext` = condition. The source is read (and may fault) even when not moved. */
export function cmovR(cpu: Cpu, op: Op): void {
  if (condition(cpu, op.ext)) setReg(cpu, op.r, getReg(cpu, op.m, op.msb), op.msb);
}
export function cmovM(cpu: Cpu, op: Op): void {
  const v = cpu.rd(op.seg, ea(cpu, op), op.msb);
  if (condition(cpu, op.ext)) setReg(cpu, op.r, v, op.msb);
}

/** SETcc r/m8: `ext` = condition. */
export function setccR(cpu: Cpu, op: Op): void {
  cpu.r8[op.m] = condition(cpu, op.ext) ? 1 : 0;
}
export function setccM(cpu: Cpu, op: Op): void {
  cpu.wr8(op.seg, ea(cpu, op), condition(cpu, op.ext) ? 1 : 0);
}

/** SALC (undocumented D6): AL = CF ? 0xFF : 0. */
export function salc(cpu: Cpu): void {
  cpu.r8[0] = (readFlags(cpu) & CF) !== 0 ? 0xff : 0;
}
