import { ATTR, DEF_OPS, FIXED_SPEC_BASE, SPEC, SPEC_GROUP } from './generated/opcode-table.js';
import { DecodeError } from './decode-error.js';
import type { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { RegClass } from './register.js';
import { type DecodeState, readByte, readI32, readU16 } from './state.js';

const SPEC_IMM8 = SPEC.Imm8;
const SPEC_IMM8TO32 = SPEC.Imm8to32;
const GPR8 = RegClass.Gpr8 << 5;
const GPR16 = RegClass.Gpr16 << 5;
const GPR32 = RegClass.Gpr32 << 5;
const GPR64 = RegClass.Gpr64 << 5;
const SEG = RegClass.Segment << 5;
const ES = SEG | 0;
const SS = SEG | 2;
const DS = SEG | 3;
const EIP = (RegClass.Ip << 5) | 0;
const RIP = (RegClass.Ip << 5) | 1;

/** 16-bit addressing (ModR/M.rm): base and index registers, 0 for none. SDM vol. 2, table 2-1. */
const RM16_BASE = new Uint16Array([GPR16 | 3, GPR16 | 3, GPR16 | 5, GPR16 | 5, GPR16 | 6, GPR16 | 7, GPR16 | 5, GPR16 | 3]);
const RM16_INDEX = new Uint16Array([GPR16 | 6, GPR16 | 7, GPR16 | 6, GPR16 | 7, 0, 0, 0, 0]);

/** Register number of an 8-bit GPR: with any REX prefix, 4-7 mean SPL BPL SIL DIL (numbered 16-19). */
function gpr8(s: DecodeState, n: number): number {
  return s.rex !== 0 && n >= 4 && n < 8 ? GPR8 | (n + 12) : GPR8 | n;
}

/** A register of class `cls` numbered `n` (REX/EVEX extension bits already in `n`), or -1 if the class has no such register. */
function classReg(s: DecodeState, cls: number, n: number): number {
  switch (cls) {
    case RegClass.Gpr8:
      return gpr8(s, n);
    case RegClass.Segment:
      return (n & 7) > 5 ? -1 : SEG | (n & 7);
    case RegClass.St:
    case RegClass.Mm:
    case RegClass.Test:
    case RegClass.K:
    case RegClass.Tmm:
      return (cls << 5) | (n & 7);
    case RegClass.Control:
      // CR0, CR2, CR3, CR4 and CR8 exist; the other numbers are invalid encodings.
      return n === 0 || n === 2 || n === 3 || n === 4 || n === 8 ? (cls << 5) | n : -1;
    case RegClass.Bnd:
      return (n & 7) > 3 ? -1 : (cls << 5) | (n & 7);
    default:
      return (cls << 5) | n;
  }
}

function setReg(into: Instruction, k: number, reg: number): void {
  into.opKind[k] = OpKind.Register;
  into.opRegister[k] = reg;
}

/** Default segment for a base register: SS for (E/R)BP and (E/R)SP bases, else DS. */
function defaultSeg(base: number): number {
  const n = base & 31;
  return base !== 0 && base >> 5 !== RegClass.Ip && (n === 4 || n === 5) ? SS : DS;
}

/**
 * Decode the memory form of ModR/M (+SIB, displacement) into the record. `vsib` is 0, or the vector
 * register class SIB.index selects (VSIB: a SIB byte is required, there is no "no index").
 * False on truncation or an invalid VSIB form.
 */
function decodeModrmMemory(s: DecodeState, into: Instruction, vsib: number): boolean {
  const mod = s.mod;
  const rm = s.rm;
  s.memUsed = true;
  into.memScale = 1;
  if (vsib !== 0 && (s.asz === 0 || rm !== 4)) return invalid(s);
  if (s.asz === 0) {
    let base = RM16_BASE[rm] ?? 0;
    const index = RM16_INDEX[rm] ?? 0;
    if (mod === 0 && rm === 6) {
      base = 0;
      const d = readU16(s);
      if (d < 0) return false;
      into.memDisp = d;
      into.memDispSize = 2;
    } else if (mod === 1) {
      const d = readByte(s);
      if (d < 0) return false;
      into.memDisp = (((d << 24) >> 24) * s.disp8N) & 0xffff;
      into.memDispSize = 1;
    } else if (mod === 2) {
      const d = readU16(s);
      if (d < 0) return false;
      into.memDisp = d;
      into.memDispSize = 2;
    }
    into.memBase = base;
    into.memIndex = index;
    into.memSegment = s.segOverride !== 0 ? s.segOverride : base === (GPR16 | 5) ? SS : DS;
    return true;
  }
  const wide = s.asz === 2;
  const gpr = wide ? GPR64 : GPR32;
  let base: number;
  let index = 0;
  if (rm === 4) {
    const sib = readByte(s);
    if (sib < 0) return false;
    const ss = sib >> 6;
    const idx = ((sib >> 3) & 7) | (s.rexX << 3);
    const b = sib & 7;
    index = vsib !== 0 ? (vsib << 5) | idx | (s.evexV2 << 4) : idx === 4 ? 0 : gpr | idx;
    into.memScale = 1 << ss;
    if (b === 5 && mod === 0) {
      base = 0;
      const d = readI32(s);
      if (s.error !== 0) return false;
      setDisp32(into, d, wide);
    } else {
      base = gpr | (b | (s.rexB << 3));
    }
  } else if (rm === 5 && mod === 0) {
    const d = readI32(s);
    if (s.error !== 0) return false;
    if (s.mode === 2) {
      base = wide ? RIP : EIP;
      into.memDisp = d >>> 0;
      into.memDispSize = 4;
      s.ripRelative = true;
    } else {
      base = 0;
      setDisp32(into, d, wide);
    }
  } else {
    base = gpr | (rm | (s.rexB << 3));
  }
  if (mod === 1) {
    const d = readByte(s);
    if (d < 0) return false;
    const v = ((d << 24) >> 24) * s.disp8N;
    into.memDisp = v >>> 0;
    into.memDispHi = wide && v < 0 ? 0xffffffff : 0;
    into.memDispSize = 1;
  } else if (mod === 2) {
    const d = readI32(s);
    if (s.error !== 0) return false;
    setDisp32(into, d, wide);
  }
  into.memBase = base;
  into.memIndex = index;
  into.memSegment = s.segOverride !== 0 ? s.segOverride : defaultSeg(base);
  return true;
}

function setDisp32(into: Instruction, d: number, wide: boolean): void {
  into.memDisp = d >>> 0;
  into.memDispHi = wide && d < 0 ? 0xffffffff : 0;
  into.memDispSize = 4;
}

function setImm(into: Instruction, k: number, kind: number, lo: number, hi: number): void {
  into.opKind[k] = kind;
  into.imm = lo >>> 0;
  into.immHi = hi >>> 0;
}

/**
 * Decode the operands of table entry `def` (specs at DEF_OPS[base..base+count)). False when the
 * input ends early or a register field names no register.
 */
export function decodeOperands(s: DecodeState, into: Instruction, base: number, count: number): boolean {
  let is4Op = -1;
  let is4Class = 0;
  for (let k = 0; k < count; k++) {
    const spec = DEF_OPS[base + k] ?? 0;
    if (spec >= FIXED_SPEC_BASE) {
      setReg(into, k, spec - FIXED_SPEC_BASE);
      continue;
    }
    const group = spec >> 8;
    const cls = spec & 0xff;
    switch (group) {
      case SPEC_GROUP.Reg: {
        // Only k0-k7 exist: an opmask in ModR/M.reg with R or R' set is invalid.
        if (cls === RegClass.K && (s.rexR | s.evexRp) !== 0) return invalid(s);
        let n = s.reg;
        if (cls !== RegClass.Mm && cls !== RegClass.St && cls !== RegClass.Test) n |= s.rexR << 3;
        if (cls === RegClass.Xmm || cls === RegClass.Ymm || cls === RegClass.Zmm) n |= s.evexRp << 4;
        const r = classReg(s, cls, n);
        if (r < 0) return invalid(s);
        setReg(into, k, r);
        break;
      }
      case SPEC_GROUP.Rm: {
        if (s.mod === 3 || (s.attrs & ATTR.MOD_IGNORED) !== 0) {
          let n = s.rm;
          if (cls !== RegClass.Mm && cls !== RegClass.St && cls !== RegClass.Test) n |= s.rexB << 3;
          if (cls === RegClass.Xmm || cls === RegClass.Ymm || cls === RegClass.Zmm) n |= s.evexX << 4;
          const r = classReg(s, cls, n);
          if (r < 0) return invalid(s);
          setReg(into, k, r);
        } else {
          if (!decodeModrmMemory(s, into, 0)) return false;
          into.opKind[k] = OpKind.Memory;
        }
        break;
      }
      case SPEC_GROUP.Vsib:
        if (!decodeModrmMemory(s, into, cls)) return false;
        into.opKind[k] = OpKind.Memory;
        break;
      case SPEC_GROUP.OpReg: {
        const n = (s.opcode & 7) | (s.rexB << 3);
        setReg(into, k, classReg(s, cls, n));
        break;
      }
      case SPEC_GROUP.Vvvv: {
        if (cls === RegClass.K && s.vvvv > 7) return invalid(s);
        const r = classReg(s, cls, cls === RegClass.Xmm || cls === RegClass.Ymm || cls === RegClass.Zmm ? s.vvvv | (s.evexV2 << 4) : s.vvvv);
        if (r < 0) return invalid(s);
        setReg(into, k, r);
        break;
      }
      case SPEC_GROUP.Is4:
        // The register byte follows the whole ModR/M operand, which may come later in Intel order.
        is4Op = k;
        is4Class = cls;
        break;
      default:
        // The most common immediates are read here; the rest in decodeSpecial.
        if (spec === SPEC_IMM8) {
          const b = readByte(s);
          if (b < 0) return false;
          into.opKind[k] = OpKind.Immediate8;
          into.imm = b;
          into.immHi = 0;
        } else if (spec === SPEC_IMM8TO32) {
          const b = readByte(s);
          if (b < 0) return false;
          into.opKind[k] = OpKind.Immediate8to32;
          into.imm = ((b << 24) >> 24) >>> 0;
          into.immHi = 0;
        } else if (!decodeSpecial(s, into, k, spec)) {
          return false;
        }
    }
  }
  if (is4Op >= 0) {
    const b = readByte(s);
    if (b < 0) return false;
    setReg(into, is4Op, classReg(s, is4Class, s.mode === 2 ? b >> 4 : (b >> 4) & 7));
  }
  return true;
}

function invalid(s: DecodeState): false {
  if (s.error === 0) s.error = DecodeError.InvalidInstruction;
  return false;
}

function decodeSpecial(s: DecodeState, into: Instruction, k: number, spec: number): boolean {
  switch (spec) {
    case SPEC.Mem:
      if (!decodeModrmMemory(s, into, 0)) return false;
      into.opKind[k] = OpKind.Memory;
      return true;
    case SPEC.Imm8: {
      const b = readByte(s);
      if (b < 0) return false;
      setImm(into, k, OpKind.Immediate8, b, 0);
      return true;
    }
    case SPEC.Imm16: {
      const v = readU16(s);
      if (v < 0) return false;
      setImm(into, k, OpKind.Immediate16, v, 0);
      return true;
    }
    case SPEC.Imm32: {
      const v = readI32(s);
      if (s.error !== 0) return false;
      setImm(into, k, OpKind.Immediate32, v, 0);
      return true;
    }
    case SPEC.Imm64: {
      const lo = readI32(s);
      const hi = readI32(s);
      if (s.error !== 0) return false;
      setImm(into, k, OpKind.Immediate64, lo, hi);
      return true;
    }
    case SPEC.Imm8to16:
    case SPEC.Imm8to32:
    case SPEC.Imm8to64: {
      const b = readByte(s);
      if (b < 0) return false;
      const v = (b << 24) >> 24;
      if (spec === SPEC.Imm8to16) setImm(into, k, OpKind.Immediate8to16, v & 0xffff, 0);
      else if (spec === SPEC.Imm8to32) setImm(into, k, OpKind.Immediate8to32, v, 0);
      else setImm(into, k, OpKind.Immediate8to64, v, v < 0 ? -1 : 0);
      return true;
    }
    case SPEC.Imm32to64: {
      const v = readI32(s);
      if (s.error !== 0) return false;
      setImm(into, k, OpKind.Immediate32to64, v, v < 0 ? -1 : 0);
      return true;
    }
    case SPEC.Imm8Second: {
      const b = readByte(s);
      if (b < 0) return false;
      into.opKind[k] = OpKind.Immediate8_2nd;
      into.imm2 = b;
      return true;
    }
    case SPEC.ImmOne:
      setImm(into, k, OpKind.Immediate8, 1, 0);
      return true;
    case SPEC.Rel8:
    case SPEC.Rel16:
    case SPEC.Rel32:
    case SPEC.XbeginRel16:
    case SPEC.XbeginRel32: {
      let rel: number;
      if (spec === SPEC.Rel8) {
        const b = readByte(s);
        if (b < 0) return false;
        rel = (b << 24) >> 24;
      } else if (spec === SPEC.Rel16 || spec === SPEC.XbeginRel16) {
        const v = readU16(s);
        if (v < 0) return false;
        rel = (v << 16) >> 16;
      } else {
        rel = readI32(s);
        if (s.error !== 0) return false;
      }
      let size = into.opSize === 16 || into.opSize === 32 ? into.opSize : s.mode === 2 ? 64 : 16 << s.mode;
      if (spec === SPEC.XbeginRel16 || spec === SPEC.XbeginRel32) size = s.mode === 2 ? 64 : 32;
      into.opKind[k] = size === 16 ? OpKind.NearBranch16 : size === 32 ? OpKind.NearBranch32 : OpKind.NearBranch64;
      s.relPending = true;
      s.relValue = rel;
      s.relSize = size;
      return true;
    }
    case SPEC.Ptr1616:
    case SPEC.Ptr1632: {
      let off: number;
      if (spec === SPEC.Ptr1616) off = readU16(s);
      else off = readI32(s) >>> 0;
      const sel = readU16(s);
      if (s.error !== 0) return false;
      into.farOffset = off;
      into.farSelector = sel;
      into.opKind[k] = spec === SPEC.Ptr1616 ? OpKind.FarBranch16 : OpKind.FarBranch32;
      return true;
    }
    case SPEC.Moffs: {
      if (s.asz === 0) {
        const v = readU16(s);
        if (v < 0) return false;
        into.memDisp = v;
        into.memDispSize = 2;
      } else if (s.asz === 1) {
        const v = readI32(s);
        if (s.error !== 0) return false;
        into.memDisp = v >>> 0;
        into.memDispSize = 4;
      } else {
        const lo = readI32(s);
        const hi = readI32(s);
        if (s.error !== 0) return false;
        into.memDisp = lo >>> 0;
        into.memDispHi = hi >>> 0;
        into.memDispSize = 8;
      }
      into.memSegment = s.segOverride !== 0 ? s.segOverride : DS;
      into.opKind[k] = OpKind.Memory;
      s.memUsed = true;
      return true;
    }
    case SPEC.StrSrc:
      into.opKind[k] = s.asz === 0 ? OpKind.MemorySegSI : s.asz === 1 ? OpKind.MemorySegESI : OpKind.MemorySegRSI;
      into.memSegment = s.segOverride !== 0 ? s.segOverride : DS;
      s.memUsed = true;
      return true;
    case SPEC.StrDst:
      into.opKind[k] = s.asz === 0 ? OpKind.MemoryESDI : s.asz === 1 ? OpKind.MemoryESEDI : OpKind.MemoryESRDI;
      if (into.memSegment === 0) into.memSegment = ES;
      s.memUsed = true;
      return true;
    case SPEC.Xlat:
      into.opKind[k] = OpKind.Memory;
      into.memBase = s.asz === 0 ? GPR16 | 3 : s.asz === 1 ? GPR32 | 3 : GPR64 | 3;
      into.memIndex = GPR8 | 0;
      into.memSegment = s.segOverride !== 0 ? s.segOverride : DS;
      s.memUsed = true;
      return true;
    default:
      return invalid(s);
  }
}
