import {
  CODE_CPU_FEATURE,
  CODE_FLAGS_CLEARED,
  CODE_FLAGS_READ,
  CODE_FLAGS_SET,
  CODE_FLAGS_UNDEFINED,
  CODE_FLAGS_WRITTEN,
  CODE_MNEMONIC,
} from './generated/code.js';
import {
  ATTR,
  CTX,
  DEF_ATTR,
  DEF_BCST_MEM_SIZE,
  DEF_CODE,
  DEF_EVEX,
  DEF_MASK,
  DEF_MEM_SIZE,
  DEF_OP_COUNT,
  DEF_OP_SIZE,
  DEF_VALUE,
  EVEX_ATTR,
  OPCODE_HAS_MODRM,
} from './generated/opcode-table.js';
import { DecodeError } from './decode-error.js';
import { Mnemonic } from './generated/mnemonic.js';
import type { Instruction } from './instruction.js';
import { decodeOperands } from './operands.js';
import { Eflags, Prefix } from './prefix.js';
import { RegClass } from './register.js';
import { type DecodeState, STATE, readByte } from './state.js';
import { parseEvex } from './evex.js';
import { OpKind } from './op-kind.js';
import { buildSlotTable } from './slot-match.js';
import { parseVex } from './vex.js';

const MAX_LENGTH = 15;

// What each byte is when it appears before the opcode.
const PK_NONE = 0;
const PK_SEG = 1;
const PK_OPSIZE = 2;
const PK_ADDRSIZE = 3;
const PK_LOCK = 4;
const PK_REP = 5;
const PK_REX = 6;
const PREFIX_KIND = new Uint8Array(256);
for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]) PREFIX_KIND[b] = PK_SEG;
PREFIX_KIND[0x66] = PK_OPSIZE;
PREFIX_KIND[0x67] = PK_ADDRSIZE;
PREFIX_KIND[0xf0] = PK_LOCK;
PREFIX_KIND[0xf2] = PK_REP;
PREFIX_KIND[0xf3] = PK_REP;
for (let b = 0x40; b < 0x50; b++) PREFIX_KIND[b] = PK_REX;

/** Segment register (Register value) of each segment-override prefix byte. */
const SEG_OF_PREFIX = new Uint16Array(256);
SEG_OF_PREFIX[0x26] = (RegClass.Segment << 5) | 0;
SEG_OF_PREFIX[0x2e] = (RegClass.Segment << 5) | 1;
SEG_OF_PREFIX[0x36] = (RegClass.Segment << 5) | 2;
SEG_OF_PREFIX[0x3e] = (RegClass.Segment << 5) | 3;
SEG_OF_PREFIX[0x64] = (RegClass.Segment << 5) | 4;
SEG_OF_PREFIX[0x65] = (RegClass.Segment << 5) | 5;

const MP_MASK = 3 << CTX.MP_SHIFT;
const MN_XOR = Mnemonic.Xor;
const MN_SUB = Mnemonic.Sub;
const MN_RCL = Mnemonic.Rcl;
const MN_RCR = Mnemonic.Rcr;

// Per-entry facts the hot path would otherwise recompute: bit 0 the entry names a mandatory prefix
// (so F3/F2 are not REP prefixes), bit 1 XOR/SUB (the zeroing idiom may apply), bit 2 a shift by an
// immediate (the count refines the flags).
const POST_MP = 1;
const POST_ZERO_IDIOM = 2;
const POST_SHIFT_IMM = 4;
/** Slot lists per mode (16, 32, 64-bit), see slot-match.ts. */
const SLOTS_16 = buildSlotTable(0);
const SLOTS_32 = buildSlotTable(1);
const SLOTS_64 = buildSlotTable(2);

/**
 * Per-entry facts packed side by side so one decode touches one cache line of them: code, opSize |
 * opCount << 8 | post-processing bits << 16, memory size, attributes.
 */
const DEF_STRIDE = 4;
/** Per-code facts side by side: mnemonic, CPU feature, flags read / written / undefined / cleared / set. */
const CODE_STRIDE = 8;

const DEF_POST: Uint8Array = (() => {
  const out = new Uint8Array(DEF_CODE.length);
  for (let d = 0; d < out.length; d++) {
    let f = 0;
    if (((DEF_MASK[d] ?? 0) & MP_MASK) !== 0 && ((DEF_VALUE[d] ?? 0) & MP_MASK) !== 0) f |= POST_MP;
    const mn = CODE_MNEMONIC[DEF_CODE[d] ?? 0] ?? 0;
    if (mn === MN_XOR || mn === MN_SUB) f |= POST_ZERO_IDIOM;
    if (((DEF_ATTR[d] ?? 0) & ATTR.SHIFT_IMM) !== 0) f |= POST_SHIFT_IMM;
    out[d] = f;
  }
  return out;
})();

const DEF_PACK: Int32Array = (() => {
  const out = new Int32Array(DEF_CODE.length * DEF_STRIDE);
  for (let d = 0; d < DEF_CODE.length; d++) {
    out[d * DEF_STRIDE] = DEF_CODE[d] ?? 0;
    out[d * DEF_STRIDE + 1] = (DEF_OP_SIZE[d] ?? 0) | ((DEF_OP_COUNT[d] ?? 0) << 8) | ((DEF_POST[d] ?? 0) << 16);
    out[d * DEF_STRIDE + 2] = DEF_MEM_SIZE[d] ?? 0;
    out[d * DEF_STRIDE + 3] = DEF_ATTR[d] ?? 0;
  }
  return out;
})();

const CODE_PACK: Int32Array = (() => {
  const out = new Int32Array(CODE_MNEMONIC.length * CODE_STRIDE);
  for (let c = 0; c < CODE_MNEMONIC.length; c++) {
    const o = c * CODE_STRIDE;
    out[o] = CODE_MNEMONIC[c] ?? 0;
    out[o + 1] = CODE_CPU_FEATURE[c] ?? 0;
    out[o + 2] = CODE_FLAGS_READ[c] ?? 0;
    out[o + 3] = CODE_FLAGS_WRITTEN[c] ?? 0;
    out[o + 4] = CODE_FLAGS_UNDEFINED[c] ?? 0;
    out[o + 5] = CODE_FLAGS_CLEARED[c] ?? 0;
    out[o + 6] = CODE_FLAGS_SET[c] ?? 0;
  }
  return out;
})();

/**
 * Decode the instruction at `bytes[offset]` into `into`, which is overwritten. Never throws and never
 * allocates: bad or truncated input gives `Code.INVALID` (0) with `into.error` saying why.
 *
 * @param ip the address of `bytes[offset]` (used for branch targets and RIP-relative memory); up to 2^53.
 * @param bitness 16, 32 or 64.
 */
export function decode(bytes: Uint8Array, offset: number, ip: number, bitness: number, into: Instruction): void {
  const hi = ip > 0xffffffff ? Math.floor(ip / 4294967296) >>> 0 : 0;
  decode64(bytes, offset, ip >>> 0, hi, bitness, into);
}

/** `decode` with the IP as two unsigned 32-bit halves, for 64-bit addresses above 2^53. */
export function decode64(bytes: Uint8Array, offset: number, ipLo: number, ipHi: number, bitness: number, into: Instruction): void {
  const s = STATE;
  clearOperandFields(into);
  into.error = 0;
  into.bitness = bitness;
  into.ipLo = ipLo >>> 0;
  into.ipHi = bitness === 64 ? ipHi >>> 0 : 0;
  const start = offset | 0;
  s.bytes = bytes;
  s.start = start;
  s.pos = start;
  const avail = bytes.length - start;
  s.limit = avail > MAX_LENGTH ? start + MAX_LENGTH : bytes.length;
  s.tooLongPossible = avail > MAX_LENGTH;
  s.error = 0;
  s.memUsed = false;
  s.relPending = false;
  s.ripRelative = false;
  s.lastSegByte = 0;
  s.enc = 0;
  s.evexRp = 0;
  s.evexX = 0;
  s.evexV2 = 0;
  s.disp8N = 1;
  s.d3now = false;
  const mode = bitness === 64 ? 2 : bitness === 32 ? 1 : 0;
  s.mode = mode;

  // Prefixes.
  let has66 = 0;
  let has67 = 0;
  let lock = 0;
  let lastRep = 0;
  let seg = 0;
  let rex = 0;
  let prefixes = 0;
  let b: number;
  const limit = s.limit;
  for (;;) {
    const p = s.pos;
    if (p >= limit) {
      readByte(s); // sets the error
      return finishInvalid(s, into);
    }
    b = bytes[p] ?? 0;
    s.pos = p + 1;
    const kind = PREFIX_KIND[b] ?? 0;
    if (kind === PK_NONE) break;
    if (kind === PK_REX) {
      if (mode !== 2) break;
      rex = b;
      continue;
    }
    rex = 0;
    if (kind === PK_SEG) {
      // In 64-bit mode the CPU ignores ES/CS/SS/DS overrides for addressing; the record still shows them.
      // and a later one of them does not replace an FS/GS override.
      if (mode !== 2 || b >= 0x64 || seg < ((RegClass.Segment << 5) | 4)) seg = SEG_OF_PREFIX[b] ?? 0;
      s.lastSegByte = b;
      prefixes |= Prefix.Segment;
    } else if (kind === PK_OPSIZE) {
      has66 = 1;
      prefixes |= Prefix.OperandSize;
    } else if (kind === PK_ADDRSIZE) {
      has67 = 1;
      prefixes |= Prefix.AddressSize;
    } else if (kind === PK_LOCK) {
      lock = 1;
    } else {
      lastRep = b;
    }
  }
  if (rex !== 0) prefixes |= Prefix.Rex;
  s.rex = rex;
  s.rexW = (rex >> 3) & 1;
  s.rexR = (rex >> 2) & 1;
  s.rexX = (rex >> 1) & 1;
  s.rexB = rex & 1;
  s.segOverride = seg;
  s.has66 = has66;
  s.lock = lock;
  s.lastRep = lastRep;

  const osz = mode === 2 ? (s.rexW !== 0 ? 2 : has66 !== 0 ? 0 : 1) : (mode ^ has66) & 1;
  const oszD = mode === 2 ? (s.rexW !== 0 ? 2 : has66 !== 0 ? 0 : 2) : osz;
  const asz = mode === 2 ? (has67 !== 0 ? 1 : 2) : (mode ^ has67) & 1;
  s.asz = asz;
  const mp = lastRep === 0xf3 ? 2 : lastRep === 0xf2 ? 3 : has66;
  let ctx = mp | (osz << CTX.OSZ_SHIFT) | (oszD << CTX.OSZD_SHIFT) | (asz << CTX.ASZ_SHIFT) | (mode << CTX.MODE_SHIFT);
  if (s.rexW !== 0) ctx |= CTX.W;
  if (s.rexB !== 0) ctx |= CTX.REX_B;
  if (rex !== 0) ctx |= CTX.REX;

  // Opcode: b is the first opcode byte.
  let map = 0;
  s.vvvv = 0;
  s.vectorLength = 0;
  if ((b === 0xc4 || b === 0xc5 || b === 0x62) && (mode === 2 || ((bytes[s.pos] ?? 0) >= 0xc0 && s.pos < s.limit))) {
    // VEX/EVEX: in 16/32-bit mode C4/C5/62 with a register-form next byte; LES/LDS/BOUND otherwise.
    if (has66 !== 0 || lastRep !== 0 || rex !== 0 || lock !== 0) {
      s.error = DecodeError.InvalidInstruction;
      readByte(s);
      return finishInvalid(s, into);
    }
    if (b === 0x62) {
      map = parseEvex(s, ctx);
    } else {
      map = parseVex(s, b, ctx);
      s.enc = 1;
    }
    if (map < 0) return finishInvalid(s, into);
    ctx = s.ctx;
    b = readByte(s);
    if (b < 0) return finishInvalid(s, into);
  } else if (b === 0x8f && s.pos < s.limit && ((bytes[s.pos] ?? 0) & 0x1f) >= 8) {
    // XOP (AMD): 8F whose next byte has map bits of 8 or more (POP r/m has ModR/M.reg = 0 there).
    if (has66 !== 0 || lastRep !== 0 || rex !== 0 || lock !== 0) {
      s.error = DecodeError.InvalidInstruction;
      readByte(s);
      return finishInvalid(s, into);
    }
    map = parseVex(s, b, ctx);
    s.enc = 3;
    if (map < 0) return finishInvalid(s, into);
    ctx = s.ctx;
    b = readByte(s);
    if (b < 0) return finishInvalid(s, into);
  } else if (b === 0x0f) {
    b = readByte(s);
    if (b < 0) return finishInvalid(s, into);
    map = 1;
    if (b === 0x38 || b === 0x3a) {
      map = b === 0x38 ? 2 : 3;
      b = readByte(s);
      if (b < 0) return finishInvalid(s, into);
    } else if (b === 0x0f) {
      // 3DNow!: 0F 0F ModR/M [SIB] [disp] opcode. The opcode byte comes last; find it, then decode as usual.
      b = peek3dnowOpcode(s);
      if (b < 0) return finishInvalid(s, into);
      map = MAP_3DNOW;
    }
  }

  const op = (map << 8) | b;
  const hasModrm = OPCODE_HAS_MODRM[op] ?? -1;
  if (hasModrm < 0) {
    // Every VEX/EVEX opcode has a ModR/M byte, so it is part of the instruction even when the opcode is unknown.
    if (s.enc !== 0) readByte(s);
    if (s.error === 0) s.error = DecodeError.InvalidInstruction;
    return finishInvalid(s, into);
  }
  let reg = 0;
  if (hasModrm === 1) {
    const m = readByte(s);
    if (m < 0) return finishInvalid(s, into);
    s.modrm = m;
    s.mod = m >> 6;
    reg = (m >> 3) & 7;
    s.reg = reg;
    s.rm = m & 7;
    if (s.mod === 3) {
      ctx |= CTX.MOD3;
      // EVEX.b on a register form: L'L is a rounding mode and the vector length is 512 bits.
      if (s.enc === 2 && s.evexB !== 0) {
        ctx = (ctx & ~(3 << CTX.L_SHIFT)) | (2 << CTX.L_SHIFT);
        s.vectorLength = 512;
      }
    }
    ctx |= s.rm << CTX.RM_SHIFT;
  } else {
    s.modrm = -1;
    s.mod = 0;
    s.reg = 0;
    s.rm = 0;
  }
  s.opcode = b;

  const slot = (op << 3) | reg;
  const table = mode === 1 ? SLOTS_32 : mode === 2 ? SLOTS_64 : SLOTS_16;
  const slotStart = table.start;
  const match = table.match;
  const end = (slotStart[slot + 1] ?? 0) * 3;
  let def = -1;
  for (let i = (slotStart[slot] ?? 0) * 3; i < end; i += 3) {
    if ((ctx & (match[i] ?? 0)) === (match[i + 1] ?? 0)) {
      def = match[i + 2] ?? 0;
      break;
    }
  }
  if (def < 0) {
    // Read what the encoding would still need so truncation is reported as such.
    if (hasModrm === 1 && s.mod !== 3 && s.enc === 0) skipModrmMemory(s);
    if (s.d3now) readByte(s);
    if (s.error === 0) s.error = DecodeError.InvalidInstruction;
    return finishInvalid(s, into);
  }
  finishValid(s, into, def, ctx, prefixes);
}

/** Table map of 3DNow! encodings, indexed by their trailing opcode byte. */
const MAP_3DNOW = 10;

/**
 * The opcode byte of a 3DNow! instruction, after its ModR/M operand: read ahead to it and come back to
 * the ModR/M byte. -1 with `s.error` set when the input ends first.
 */
function peek3dnowOpcode(s: DecodeState): number {
  const modrmAt = s.pos;
  const m = readByte(s);
  if (m < 0) return -1;
  s.mod = m >> 6;
  s.rm = m & 7;
  if (s.mod !== 3) skipModrmMemory(s);
  const op = readByte(s);
  if (op < 0) return -1;
  s.pos = modrmAt;
  s.d3now = true;
  return op;
}

/** Consume SIB and displacement bytes of a ModR/M memory form whose instruction turned out invalid. */
function skipModrmMemory(s: DecodeState): void {
  const mod = s.mod;
  const rm = s.rm;
  let n: number;
  if (s.asz === 0) {
    n = mod === 1 ? 1 : mod === 2 || (mod === 0 && rm === 6) ? 2 : 0;
  } else {
    let base = rm;
    if (rm === 4) {
      const sib = readByte(s);
      if (sib < 0) return;
      base = sib & 7;
    }
    n = mod === 1 ? 1 : mod === 2 || (mod === 0 && base === 5) ? 4 : 0;
  }
  for (let i = 0; i < n; i++) if (readByte(s) < 0) return;
}

function finishValid(s: DecodeState, into: Instruction, def: number, ctx: number, prefixesIn: number): void {
  let prefixes = prefixesIn;
  const d = def * DEF_STRIDE;
  const code = DEF_PACK[d] ?? 0;
  const info = DEF_PACK[d + 1] ?? 0;
  const attrs = DEF_PACK[d + 3] ?? 0;
  s.def = def;
  s.attrs = attrs;
  into.opSize = info & 0xff;
  into.vectorLength = s.vectorLength;
  into.addrSize = 16 << s.asz;
  into.memSize = DEF_PACK[d + 2] ?? 0;
  into.segmentPrefix = s.segOverride;
  const count = (info >> 8) & 7;
  // Operand slots past this instruction's count are cleared only where the previous one used them.
  const prevCount = into.opCount;
  into.opCount = count;
  if (s.enc === 2 && !evexBeforeOperands(s, into, def)) return finishInvalid(s, into);
  if (!decodeOperands(s, into, def * 5, count)) return finishInvalid(s, into);
  if (s.d3now) s.pos++; // the 3DNow! opcode byte, already read by peek3dnowOpcode
  if (s.enc === 2 && !evexAfterOperands(s, into, def)) return finishInvalid(s, into);
  for (let k = count; k < prevCount; k++) {
    into.opKind[k] = 0;
    into.opRegister[k] = 0;
  }

  // Prefix rules.
  const post = info >> 16;
  if (s.lock !== 0) {
    if ((attrs & ATTR.LOCK) === 0 || (!s.memUsed && (attrs & ATTR.LOCK_REG) === 0)) {
      s.error = DecodeError.InvalidInstruction;
      return finishInvalid(s, into);
    }
    prefixes |= Prefix.Lock;
  }
  const rep = s.lastRep;
  if (rep !== 0) prefixes = repPrefixes(s, prefixes, attrs, (post & POST_MP) !== 0 && (ctx & MP_MASK) >= 2);
  into.prefixes = prefixes;

  const len = s.pos - s.start;
  into.length = len;
  const lo = (into.ipLo + len) >>> 0;
  into.nextIpLo = lo;
  into.nextIpHi = s.mode === 2 ? (into.ipHi + (lo < into.ipLo ? 1 : 0)) >>> 0 : 0;
  if (s.relPending) resolveRelative(s, into);
  if (s.ripRelative) resolveRipRelative(s, into);

  const c = code * CODE_STRIDE;
  into.code = code;
  into.mnemonic = CODE_PACK[c] ?? 0;
  into.cpuFeature = CODE_PACK[c + 1] ?? 0;
  into.flagsRead = CODE_PACK[c + 2] ?? 0;
  into.flagsWritten = CODE_PACK[c + 3] ?? 0;
  into.flagsUndefined = CODE_PACK[c + 4] ?? 0;
  into.flagsCleared = CODE_PACK[c + 5] ?? 0;
  into.flagsSet = CODE_PACK[c + 6] ?? 0;
  if ((post & POST_SHIFT_IMM) !== 0) refineShiftFlags(into);
  else if ((post & POST_ZERO_IDIOM) !== 0 && into.opKind[0] === 0 && into.opKind[1] === 0 && into.opRegister[0] === into.opRegister[1]) {
    // XOR/SUB of a register with itself: the result is 0, so every flag is known.
    into.flagsWritten = 0;
    into.flagsCleared = Eflags.OF | Eflags.SF | Eflags.CF | (into.mnemonic === MN_SUB ? Eflags.AF : 0);
    into.flagsSet = Eflags.ZF | Eflags.PF;
  }
}

/** F3/F2 that are not a mandatory prefix: REP/REPNE, or XACQUIRE/XRELEASE where the entry allows them. */
function repPrefixes(s: DecodeState, prefixesIn: number, attrs: number, mandatory: boolean): number {
  if (mandatory) return prefixesIn;
  const rep = s.lastRep;
  const memForm = s.memUsed;
  let prefixes = prefixesIn | (rep === 0xf3 ? Prefix.Rep : Prefix.Repne);
  if (((attrs & ATTR.HLE) !== 0 && s.lock !== 0) || ((attrs & ATTR.HLE_MEM) !== 0 && memForm)) {
    prefixes |= rep === 0xf3 ? Prefix.Xrelease : Prefix.Xacquire;
  } else if ((attrs & ATTR.XRELEASE_NOLOCK) !== 0 && rep === 0xf3 && memForm) {
    prefixes |= Prefix.Xrelease;
  }
  return prefixes;
}

/**
 * EVEX rules of one entry (SDM vol. 2, 2.7): opmask and zeroing only where allowed, EVEX.b as
 * broadcast (memory) or rounding/SAE (register), and the disp8 scale N. False when the encoding is
 * invalid for the entry.
 */
function evexBeforeOperands(s: DecodeState, into: Instruction, def: number): boolean {
  const ev = DEF_EVEX[def] ?? 0;
  const aaa = s.evexAaa;
  // L'L = 3 is reserved unless it is a rounding mode.
  if (s.evexLL === 3 && (s.evexB === 0 || s.mod !== 3)) return evexInvalid(s);
  if (s.evexV2 !== 0 && (ev & EVEX_ATTR.V2_USED) === 0) return evexInvalid(s);
  if (aaa !== 0) {
    if ((ev & EVEX_ATTR.K) === 0) return evexInvalid(s);
    into.opMask = (RegClass.K << 5) | aaa;
  } else if ((ev & EVEX_ATTR.KREQ) !== 0) {
    return evexInvalid(s);
  }
  if (s.evexZ !== 0) {
    if ((ev & EVEX_ATTR.Z) === 0) return evexInvalid(s);
    into.zeroingMasking = true;
  }
  s.disp8N = 1 << (ev & EVEX_ATTR.N_MASK);
  if (s.evexB !== 0) {
    if (s.mod !== 3) {
      if ((ev & EVEX_ATTR.BCST) === 0) return evexInvalid(s);
      into.broadcast = true;
      into.memSize = DEF_BCST_MEM_SIZE[def] ?? 0;
      s.disp8N = 1 << ((ev >> EVEX_ATTR.BCST_LOG2_SHIFT) & 3);
    } else if ((ev & EVEX_ATTR.ER) !== 0) {
      into.roundingControl = s.evexLL + 1;
    } else if ((ev & EVEX_ATTR.SAE) !== 0) {
      into.suppressAllExceptions = true;
    } else {
      return evexInvalid(s);
    }
  }
  return true;
}

/** EVEX rules that need the decoded operands: no zeroing into memory, a destination distinct from the sources where required. */
function evexAfterOperands(s: DecodeState, into: Instruction, def: number): boolean {
  if (s.evexZ !== 0 && into.opKind[0] === OpKind.Memory) return evexInvalid(s);
  if (((DEF_EVEX[def] ?? 0) & EVEX_ATTR.DST_UNIQUE) !== 0) {
    const dst = into.opRegister[0] ?? 0;
    for (let k = 1; k < into.opCount; k++) {
      if (into.opKind[k] === OpKind.Register && into.opRegister[k] === dst) return evexInvalid(s);
    }
  }
  return true;
}

function evexInvalid(s: DecodeState): false {
  s.error = DecodeError.InvalidInstruction;
  return false;
}

/** Shifts by an immediate: the masked count decides the flags (SDM vol. 2, SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR). */
function refineShiftFlags(into: Instruction): void {
  let count = into.imm & (into.opSize === 64 ? 63 : 31);
  // RCL/RCR rotate through CF: 9 or 17 positions for 8- and 16-bit operands.
  if (into.mnemonic === MN_RCL || into.mnemonic === MN_RCR) {
    if (into.opSize === 8) count %= 9;
    else if (into.opSize === 16) count %= 17;
  }
  if (count === 0) {
    into.flagsRead = 0;
    into.flagsWritten = 0;
    into.flagsUndefined = 0;
  } else if (count > 1 && (into.flagsWritten & Eflags.OF) !== 0) {
    into.flagsWritten &= ~Eflags.OF;
    into.flagsUndefined |= Eflags.OF;
  }
}

/** Near branch target = next IP + displacement, wrapped to the branch's operand size. */
function resolveRelative(s: DecodeState, into: Instruction): void {
  const rel = s.relValue | 0;
  const size = s.relSize;
  if (size === 16) {
    into.targetLo = (into.nextIpLo + rel) & 0xffff;
    into.targetHi = 0;
  } else if (size === 32) {
    into.targetLo = (into.nextIpLo + rel) >>> 0;
    into.targetHi = 0;
  } else {
    const sum = into.nextIpLo + rel;
    into.targetLo = sum >>> 0;
    const carry = Math.floor(sum / 4294967296);
    into.targetHi = (into.nextIpHi + carry) >>> 0;
  }
}

/** RIP/EIP-relative memory: the record holds the absolute address as the displacement. */
function resolveRipRelative(s: DecodeState, into: Instruction): void {
  const disp = into.memDisp | 0;
  const sum = into.nextIpLo + disp;
  into.memDisp = sum >>> 0;
  into.memDispHi = s.asz === 2 ? (into.nextIpHi + Math.floor(sum / 4294967296)) >>> 0 : 0;
}

function finishInvalid(s: DecodeState, into: Instruction): void {
  const len = s.pos - s.start;
  const error = s.error === 0 ? DecodeError.InvalidInstruction : s.error;
  resetInstruction(into);
  into.error = error;
  into.length = len;
  into.bitness = s.mode === 2 ? 64 : s.mode === 1 ? 32 : 16;
}

/** Clear the fields a valid decode does not always write (memory operand, immediates, branch targets, vector extras). */
function clearOperandFields(into: Instruction): void {
  into.memSegment = 0;
  into.memBase = 0;
  into.memIndex = 0;
  into.memScale = 1;
  into.memDisp = 0;
  into.memDispHi = 0;
  into.memDispSize = 0;
  into.imm = 0;
  into.immHi = 0;
  into.imm2 = 0;
  into.targetLo = 0;
  into.targetHi = 0;
  into.farSelector = 0;
  into.farOffset = 0;
  into.vectorLength = 0;
  into.opMask = 0;
  into.zeroingMasking = false;
  into.broadcast = false;
  into.roundingControl = 0;
  into.suppressAllExceptions = false;
}

/** Clear every field of the record (keeps its arrays). */
export function resetInstruction(into: Instruction): void {
  const ipLo = into.ipLo;
  const ipHi = into.ipHi;
  into.code = 0;
  into.mnemonic = 0;
  into.error = 0;
  into.length = 0;
  into.opSize = 0;
  into.addrSize = 0;
  into.nextIpLo = ipLo;
  into.nextIpHi = ipHi;
  into.prefixes = 0;
  into.segmentPrefix = 0;
  into.opCount = 0;
  const k = into.opKind;
  const r = into.opRegister;
  k[0] = 0; k[1] = 0; k[2] = 0; k[3] = 0; k[4] = 0;
  r[0] = 0; r[1] = 0; r[2] = 0; r[3] = 0; r[4] = 0;
  into.memSegment = 0;
  into.memBase = 0;
  into.memIndex = 0;
  into.memScale = 1;
  into.memDisp = 0;
  into.memDispHi = 0;
  into.memDispSize = 0;
  into.memSize = 0;
  into.imm = 0;
  into.immHi = 0;
  into.imm2 = 0;
  into.targetLo = 0;
  into.targetHi = 0;
  into.farSelector = 0;
  into.farOffset = 0;
  into.flagsRead = 0;
  into.flagsWritten = 0;
  into.flagsUndefined = 0;
  into.flagsCleared = 0;
  into.flagsSet = 0;
  into.cpuFeature = 0;
  into.vectorLength = 0;
  into.opMask = 0;
  into.zeroingMasking = false;
  into.broadcast = false;
  into.roundingControl = 0;
  into.suppressAllExceptions = false;
}
