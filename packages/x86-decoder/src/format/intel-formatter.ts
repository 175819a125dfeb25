import { CODE_MNEMONIC, CODE_NAMES, CODE_SHOW_MEM_SIZE } from '../generated/code.js';
import { MEMORY_SIZE_BYTES, MEMORY_SIZE_NAMES } from '../generated/memory-size.js';
import { MNEMONIC_NAMES } from '../generated/mnemonic.js';
import type { Instruction } from '../instruction.js';
import { OpKind } from '../op-kind.js';
import { Prefix } from '../prefix.js';
import { RegClass, REGISTER_NAMES } from '../register.js';
import { formatHex, formatTarget } from './numbers.js';

/**
 * Intel-syntax text of a decoded instruction, in the style of Intel's XED and iced-x86's Intel
 * formatter with default options: `add esi,ecx`, `mov eax,ds:[ebp-4]`, `fld st,qword ptr [eax]`,
 * `jmp short 00401000h`. Invalid instructions give `(bad)`.
 */
export function formatIntel(ins: Instruction): string {
  const code = ins.code;
  if (code === 0) return '(bad)';
  const info = CODE_INFO[code] ?? 0;
  const nop = CODE_NAMES[code] ?? '';
  if (((ins.prefixes & Prefix.OperandSize) !== 0 || nop === 'Nopq') && /^Nop[wdq]$/.test(nop)) {
    const r = ins.opSize === 16 ? 'ax' : ins.opSize === 64 ? 'rax' : 'eax';
    return prefixText(ins, info) + `xchg ${r},${r}`;
  }
  let text = prefixText(ins, info);
  text += mnemonicText(code, info);
  const ops = operandTexts(ins, info);
  return ops.length === 0 ? text : text + ' ' + ops.join(',');
}

// Per-code formatting facts, derived once from the code and mnemonic names.
const STRING_REP = 1;
const STRING_REPE = 2;
const SHORT_BRANCH = 4;
const NEAR_BRANCH = 8;
const FAR = 16;
const X87_LOAD = 32;
const X87_STORE = 64;
const X87_COLLAPSE_ST1 = 128;
const INDIRECT_BRANCH = 256;
const LOOP = 512;
const X87_STI_FIRST = 1024;
const X87_STI_SECOND = 2048;
const XLAT = 4096;
const JCC = 8192;
const RET_NEAR = 16384;
const JCXZ = 32768;
const STACK_OR_BRANCH = 65536;
const SOURCE_R16 = 131072;
const GPR64_AS_32 = 262144;
const FPU_ENV = 524288;

const X87_LOADS = new Set(['Fld', 'Fild', 'Fbld', 'Fadd', 'Fmul', 'Fcom', 'Fcomp', 'Fsub', 'Fsubr', 'Fdiv', 'Fdivr', 'Fiadd', 'Fimul', 'Ficom', 'Ficomp', 'Fisub', 'Fisubr', 'Fidiv', 'Fidivr']);
const X87_STORES = new Set(['Fst', 'Fstp', 'Fist', 'Fistp', 'Fisttp', 'Fbstp']);
const X87_COLLAPSE = new Set(['Fcom', 'Fcomp', 'Fxch', 'Fucom', 'Fucomp', 'Faddp', 'Fmulp', 'Fsubp', 'Fsubrp', 'Fdivp', 'Fdivrp']);
const JCC_NAMES = new Set(['Jo', 'Jno', 'Jb', 'Jae', 'Je', 'Jne', 'Jbe', 'Ja', 'Js', 'Jns', 'Jp', 'Jnp', 'Jl', 'Jge', 'Jle', 'Jg']);
/** Mnemonics whose text is not simply the lower-case name. */
const MNEMONIC_TEXT: Readonly<Record<string, string>> = { Xlatb: 'xlat', Sal: 'shl', Wait: 'fwait', Retf: 'ret far', Reservednop: 'nop' };
/** Codes whose text is not their mnemonic's. */
const CODE_TEXT: Readonly<Record<string, string>> = {
  Prefetch_m8: 'prefetch_exclusive', Prefetchreserved4_m8: 'prefetch_reserved', Prefetchreserved5_m8: 'prefetch_reserved',
  Prefetchreserved6_m8: 'prefetch_reserved', Prefetchreserved7_m8: 'prefetch_reserved',
};

const CODE_INFO: Uint32Array = (() => {
  const out = new Uint32Array(CODE_NAMES.length);
  for (let c = 1; c < CODE_NAMES.length; c++) {
    const name = CODE_NAMES[c] ?? '';
    const mn = MNEMONIC_NAMES[CODE_MNEMONIC[c] ?? 0] ?? '';
    let f = 0;
    if (/^(Movs[bwdq]|Stos|Lods|Ins[bwd]|Outs)/.test(name) && /_m\d/.test(name)) f |= STRING_REP;
    if (/^(Cmps[bwdq]|Scas)/.test(name) && /_m\d/.test(name)) f |= STRING_REPE;
    if (/_rel8_/.test(name) && (JCC_NAMES.has(mn) || mn === 'Jmp')) f |= SHORT_BRANCH;
    if (/_rel(8|16|32)/.test(name) && (JCC_NAMES.has(mn) || mn === 'Jmp' || mn === 'Call')) f |= NEAR_BRANCH;
    if (JCC_NAMES.has(mn)) f |= JCC;
    if (/_(ptr16|m16)(16|32|64)$/.test(name) && (mn === 'Jmp' || mn === 'Call')) f |= FAR;
    if (/^(Call|Jmp)_rm(16|32|64)$/.test(name)) f |= INDIRECT_BRANCH;
    if (mn.startsWith('Loop')) f |= LOOP;
    if (/_m\d/.test(name) || /_m(\d+)(fp|int|bcd)/.test(name)) {
      if (X87_LOADS.has(mn) && name.startsWith('F')) f |= X87_LOAD;
      if (X87_STORES.has(mn) && name.startsWith('F')) f |= X87_STORE;
    }
    if (/_sti(_[0-9A-F]{4})?$/.test(name) && !/_st0_sti/.test(name) && (mn === 'Fld')) f |= X87_STI_SECOND;
    if (/^(Fst|Fstp|Fstpnce)_sti/.test(name)) f |= X87_STI_FIRST;
    if (X87_COLLAPSE.has(mn) && /_st(0_sti|i_st0)/.test(name)) f |= X87_COLLAPSE_ST1;
    if (mn === 'Xlatb') f |= XLAT;
    if (/^Retn/.test(name)) f |= RET_NEAR;
    if (/^J[er]?cxz/.test(name)) f |= JCXZ;
    if (/^(Push|Pop|Call|Jmp|Ret|Retf|Enter|Leave|Loop|Loope|Loopne|Jcxz|Jecxz|Jrcxz)$/.test(mn) || JCC_NAMES.has(mn)) f |= STACK_OR_BRANCH;
    if (/^(Lldt|Ltr|Verr|Verw|Lmsw|Mov_Sreg|Arpl)_.*r(32|64)m16/.test(name)) f |= SOURCE_R16;
    if (/^(Movmskp[sd]|Pmovmskb|Pextrw)_r64_|^Pinsrw_.*_r64m16|^(Pextrb|Pextrw|Extractps)_r64m|^Pinsrb_xmm_r64m8/.test(name)) f |= GPR64_AS_32;
    if (/^Fldenv|^Fnstenv|^Frstor|^Fnsave/.test(name)) f |= FPU_ENV;
    out[c] = f;
  }
  return out;
})();

function prefixText(ins: Instruction, info: number): string {
  const p = ins.prefixes;
  let t = '';
  if ((p & Prefix.Xacquire) !== 0) t += 'xacquire ';
  if ((p & Prefix.Xrelease) !== 0) t += 'xrelease ';
  if ((p & Prefix.Lock) !== 0) t += 'lock ';
  if ((info & (STRING_REP | STRING_REPE)) !== 0) {
    if ((p & Prefix.Rep) !== 0) t += (info & STRING_REPE) !== 0 ? 'repe ' : 'rep ';
    else if ((p & Prefix.Repne) !== 0) t += 'repne ';
  }
  // Size prefixes whose effect the operands do not show are written out (XED style).
  if ((p & Prefix.OperandSize) !== 0 && (info & STACK_OR_BRANCH) !== 0 && operandSizeHidden(ins)) {
    t += ins.opSize === 16 ? 'data16 ' : ins.opSize === 32 ? 'data32 ' : '';
  }
  if ((p & Prefix.Rex) !== 0 && ins.opSize === 64 && (CODE_NAMES[ins.code] ?? '').startsWith('Retfq')) t += 'data64 ';
  if ((info & RET_NEAR) !== 0 && ins.opCount === 0 && (p & Prefix.Rep) !== 0) t += 'rep ';
  if ((p & Prefix.AddressSize) !== 0 && addressSizeHidden(ins, info)) {
    t += ins.addrSize === 16 ? 'addr16 ' : ins.addrSize === 32 ? 'addr32 ' : '';
  }
  if ((info & JCC) !== 0 && ins.segmentPrefix !== 0) {
    const seg = ins.segmentPrefix & 31;
    if (seg === 1) t += 'hint-not-taken ';
    else if (seg === 3) t += 'hint-taken ';
  }
  if ((info & INDIRECT_BRANCH) !== 0 && ins.segmentPrefix === ((RegClass.Segment << 5) | 3)) t += 'notrack ';
  if ((info & (NEAR_BRANCH | INDIRECT_BRANCH | RET_NEAR)) !== 0 && ((info & SHORT_BRANCH) === 0 || (info & JCC) !== 0) && (p & Prefix.Repne) !== 0) t += 'bnd ';
  return t;
}

/** No operand shows the operand size: no GPR operand and no memory size written out. */
function operandSizeHidden(ins: Instruction): boolean {
  if (ins.opSize !== 16 && ins.opSize !== 32) return false;
  const name = MNEMONIC_NAMES[ins.mnemonic] ?? '';
  if (/^(Pushad|Popad|Pushfd|Popfd|Pushfq|Popfq|Iretd|Iretq|Cbw|Cwde|Cdqe|Cwd|Cdq|Cqo|Movs[wdq]|Cmps[wdq]|Stos[wdq]|Lods[wdq]|Scas[wdq]|Ins[wd]|Outs[wd]|Nop)$/.test(name)) return false;
  for (let k = 0; k < ins.opCount; k++) {
    const kind = ins.opKind[k] ?? 0;
    if (kind === OpKind.Register) {
      const cls = (ins.opRegister[k] ?? 0) >> 5;
      if (cls >= RegClass.Gpr8 && cls <= RegClass.Gpr64) return false;
    } else if (kind === OpKind.Memory && (CODE_SHOW_MEM_SIZE[ins.code] ?? 0) !== 0) {
      return false;
    }
  }
  return true;
}

/** No operand shows the address size: no memory operand with a base or index register (and no string operand). */
function addressSizeHidden(ins: Instruction, info: number): boolean {
  if ((info & JCXZ) !== 0) return false;
  if ((info & LOOP) !== 0 || (CODE_NAMES[ins.code] ?? '').startsWith('Monitor')) return true;
  if (!(CODE_NAMES[ins.code] ?? '').includes('moffs')) return false;
  let absolute = false;
  for (let k = 0; k < ins.opCount; k++) {
    const kind = ins.opKind[k] ?? 0;
    if (kind >= OpKind.MemorySegSI && kind <= OpKind.MemoryESRDI) return false;
    if (kind === OpKind.Memory) {
      if (ins.memBase !== 0 || ins.memIndex !== 0) return false;
      absolute = true;
    }
  }
  return absolute;
}

function mnemonicText(code: number, info: number): string {
  const name = MNEMONIC_NAMES[CODE_MNEMONIC[code] ?? 0] ?? '';
  let t = CODE_TEXT[CODE_NAMES[code] ?? ''] ?? MNEMONIC_TEXT[name] ?? name.toLowerCase();
  if ((info & FAR) !== 0) t += ' far';
  if ((info & SHORT_BRANCH) !== 0) t += ' short';
  return t;
}

function registerText(reg: number): string {
  const cls = reg >> 5;
  const n = reg & 31;
  if (cls === RegClass.Gpr8 && n >= 8 && n < 16) return `r${n}b`;
  if (cls === RegClass.St) return `st(${n})`;
  return REGISTER_NAMES[reg] ?? '?';
}

/** Memory sizes with a name of their own in `... ptr`. */
const MEM_SIZE_NAMED: Readonly<Record<string, string>> = {
  FpuEnv14: 'fpuenv14', FpuEnv28: 'fpuenv28', FpuState94: 'fpustate94', FpuState108: 'fpustate108',
};

const MEM_SIZE_WORDS: Readonly<Record<number, string>> = {
  1: 'byte', 2: 'word', 4: 'dword', 6: 'fword', 8: 'qword', 10: 'tbyte', 16: 'xmmword', 32: 'ymmword', 64: 'zmmword',
};

function defaultSegment(ins: Instruction): number {
  const b = ins.memBase & 31;
  const cls = ins.memBase >> 5;
  const ss = cls !== RegClass.Ip && ins.memBase !== 0 && (b === 4 || b === 5);
  return (RegClass.Segment << 5) | (ss ? 2 : 3);
}

function memoryText(ins: Instruction, kind: number, code: number): string {
  let t = '';
  const fpuEnv = ((CODE_INFO[code] ?? 0) & FPU_ENV) !== 0 && (ins.prefixes & Prefix.OperandSize) !== 0 && ins.opSize !== 64;
  if ((CODE_SHOW_MEM_SIZE[code] ?? 0) !== 0 || fpuEnv) {
    const word = MEM_SIZE_NAMED[MEMORY_SIZE_NAMES[ins.memSize] ?? ''] ?? MEM_SIZE_WORDS[MEMORY_SIZE_BYTES[ins.memSize] ?? 0];
    if (word !== undefined) t += word + ' ptr ';
  }
  // In 64-bit mode ES, CS, SS and DS overrides have no effect and are not shown.
  const seg = ins.bitness === 64 && (ins.segmentPrefix & 31) < 4 ? 0 : ins.segmentPrefix;
  if (kind === OpKind.Memory) {
    // LEA computes an offset: a segment override changes nothing and is not shown.
    const lea = (MNEMONIC_NAMES[ins.mnemonic] ?? '') === 'Lea';
    if (seg !== 0 && seg !== defaultSegment(ins) && !lea) t += REGISTER_NAMES[seg] + ':';
    return t + '[' + addressText(ins, code) + ']';
  }
  // String operands: DS:rSI (overridable) and ES:rDI; both get their segment once any override is present.
  const src = kind >= OpKind.MemorySegSI && kind <= OpKind.MemorySegRDI;
  if (seg !== 0 && seg !== ((RegClass.Segment << 5) | 3)) t += src ? REGISTER_NAMES[seg] + ':' : 'es:';
  const size = ins.addrSize;
  const rsi = size === 16 ? 'si' : size === 32 ? 'esi' : 'rsi';
  const rdi = size === 16 ? 'di' : size === 32 ? 'edi' : 'rdi';
  return t + '[' + (kind === OpKind.MemorySegSI || kind === OpKind.MemorySegESI || kind === OpKind.MemorySegRSI ? rsi : rdi) + ']';
}

function addressText(ins: Instruction, code: number): string {
  const base = ins.memBase;
  const index = (CODE_INFO[code] ?? 0) & XLAT ? 0 : ins.memIndex;
  let t = '';
  if (base !== 0 && base >> 5 !== RegClass.Ip) t = registerText(base);
  if (index !== 0) {
    // An index without a base always shows its scale (`[rcx*1+10h]`), so it cannot be read as a base.
    const showScale = ins.memScale !== 1 || t === '';
    t += (t === '' ? '' : '+') + registerText(index);
    if (showScale) t += '*' + String(ins.memScale);
  }
  const lo = ins.memDisp >>> 0;
  const hi = ins.memDispHi >>> 0;
  if (t === '') {
    // Absolute address (also RIP-relative, whose displacement is already the target).
    const bits = ins.addrSize;
    return formatHex(bits === 16 ? lo & 0xffff : lo, bits === 64 ? hi : 0);
  }
  if (ins.memDispSize === 0 || (lo === 0 && hi === 0)) return t;
  const bits = ins.addrSize;
  let negative: boolean;
  if (bits === 16) negative = (lo & 0x8000) !== 0;
  else if (bits === 32) negative = (lo & 0x80000000) !== 0;
  else negative = (hi & 0x80000000) !== 0;
  if (!negative) return t + '+' + formatHex(lo, bits === 64 ? hi : 0);
  if (bits === 16) return t + '-' + formatHex((0x10000 - lo) & 0xffff, 0);
  if (bits === 32) return t + '-' + formatHex((0x100000000 - lo) >>> 0, 0);
  // 64-bit two's complement negation on two halves.
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return t + '-' + formatHex(nlo, nhi);
}

function immediateText(ins: Instruction, kind: number): string {
  switch (kind) {
    case OpKind.Immediate8:
      return formatHex(ins.imm & 0xff, 0);
    case OpKind.Immediate8_2nd:
      return formatHex(ins.imm2 & 0xff, 0);
    case OpKind.Immediate16:
    case OpKind.Immediate8to16:
      return formatHex(ins.imm & 0xffff, 0);
    case OpKind.Immediate32:
    case OpKind.Immediate8to32:
      return formatHex(ins.imm, 0);
    default:
      return formatHex(ins.imm, ins.immHi);
  }
}

function operandText(ins: Instruction, k: number, code: number): string {
  const kind = ins.opKind[k] ?? 0;
  switch (kind) {
    case OpKind.Register: {
      const r = ins.opRegister[k] ?? 0;
      // Instructions that read 16 bits from an r32/r64 operand (LLDT, MOV Sreg, ARPL...) write it as the 16-bit register.
      const cinfo = CODE_INFO[code] ?? 0;
      const arpl = (CODE_NAMES[code] ?? '').startsWith('Arpl');
      if ((cinfo & SOURCE_R16) !== 0 && r >> 5 >= RegClass.Gpr32 && r >> 5 <= RegClass.Gpr64 && (arpl || k === ins.opCount - 1)) {
        return registerText((RegClass.Gpr16 << 5) | (r & 31));
      }
      // Encodings that ignore REX.W write their GPR as the 32-bit register.
      if ((cinfo & GPR64_AS_32) !== 0 && r >> 5 === RegClass.Gpr64) return registerText((RegClass.Gpr32 << 5) | (r & 31));
      return registerText(r);
    }
    case OpKind.NearBranch16:
      return formatTarget(ins.targetLo, 0, 16);
    case OpKind.NearBranch32:
      return formatTarget(ins.targetLo, 0, 32);
    case OpKind.NearBranch64:
      return formatTarget(ins.targetLo, ins.targetHi, 64);
    case OpKind.FarBranch16:
      return formatTarget(ins.farOffset, 0, 16) + ',' + formatTarget(ins.farSelector, 0, 16);
    case OpKind.FarBranch32:
      return formatTarget(ins.farOffset, 0, 32) + ',' + formatTarget(ins.farSelector, 0, 16);
    default:
      if (kind >= OpKind.MemorySegSI) return memoryText(ins, kind, code);
      return immediateText(ins, kind);
  }
}

function operandTexts(ins: Instruction, info: number): string[] {
  const code = ins.code;
  const out: string[] = [];
  const count = ins.opCount;
  const name = CODE_NAMES[code] ?? '';
  const fixedFirst = name.includes('_st0_sti');
  const x87Pair = fixedFirst || name.includes('_sti_st0');
  // `fxch st,st(1)`, `faddp st(1),st`... are written without operands.
  if ((info & X87_COLLAPSE_ST1) !== 0 && count === 2 && ((ins.opRegister[fixedFirst ? 1 : 0] ?? 0) & 31) === 1) return out;
  if ((info & X87_LOAD) !== 0) out.push('st');
  if ((info & X87_STI_SECOND) !== 0) out.push('st');
  const stringOp = (info & (STRING_REP | STRING_REPE)) !== 0;
  // `imul bx,bx,5` is written `imul bx,5`.
  const imul3 = count === 3 && name.startsWith('Imul_r') && ins.opKind[1] === OpKind.Register && ins.opRegister[0] === ins.opRegister[1];
  for (let k = 0; k < count; k++) {
    const kind = ins.opKind[k] ?? 0;
    if (imul3 && k === 1) continue;
    // String instructions name their accumulator in the mnemonic (lodsb, stosd, scasw).
    if (stringOp && kind === OpKind.Register && (ins.opRegister[k] ?? 0) !== ((RegClass.Gpr16 << 5) | 2)) continue;
    if (x87Pair && kind === OpKind.Register && (ins.opRegister[k] ?? 0) >> 5 === RegClass.St) {
      // In `st0, sti` pairs the fixed ST0 is `st`, the ModR/M one `st(i)`.
      const isFixed = fixedFirst ? k === 0 : k === 1;
      out.push(isFixed ? 'st' : registerText(ins.opRegister[k] ?? 0));
      continue;
    }
    let t = operandText(ins, k, code);
    if (k === 0) t += evexDecorations(ins);
    else if (ins.broadcast && kind === OpKind.Memory) t += `{1to${BROADCAST_COUNT[ins.memSize] ?? 0}}`;
    out.push(t);
  }
  if ((info & (X87_STORE | X87_STI_FIRST)) !== 0) out.push('st');
  return out;
}

const ROUNDING_TEXT: readonly string[] = ['', '{rne-sae}', '{rd-sae}', '{ru-sae}', '{rz-sae}'];

/** `{k1}{z}{rd-sae}` after the first operand: opmask, zeroing-masking, rounding or SAE. */
function evexDecorations(ins: Instruction): string {
  let t = '';
  if (ins.opMask !== 0) t += '{' + (REGISTER_NAMES[ins.opMask] ?? '') + '}';
  if (ins.zeroingMasking) t += '{z}';
  if (ins.roundingControl !== 0) t += ROUNDING_TEXT[ins.roundingControl] ?? '';
  else if (ins.suppressAllExceptions) t += '{sae}';
  return t;
}

/** Elements of each broadcast memory size (`Broadcast512_Float32`: 16, `Broadcast128_2xUInt32`: 2). */
const BROADCAST_COUNT: Uint8Array = (() => {
  const out = new Uint8Array(MEMORY_SIZE_NAMES.length);
  MEMORY_SIZE_NAMES.forEach((name, i) => {
    const m = /^Broadcast(\d+)_(?:(\d+)x)?[A-Za-z]+?(\d+)$/.exec(name);
    if (m !== null) out[i] = Number(m[1]) / (Number(m[2] ?? '1') * (m[3] === '52' ? 64 : Number(m[3])));
  });
  return out;
})();
