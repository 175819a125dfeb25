import { RegClass, registerByName } from '@tsvm/x86-decoder/register';
import { ATTR, CTX, EVEX_ATTR } from './context.js';
import { FIXED_SPEC_BASE, OPERAND_SPEC_GROUPS as G, SPECIAL_SPECS as S } from './operand-spec.js';
import { memorySizeBytes } from './memory-size.js';
import { type FlagFacts, type ParsedTable, type TableLine, TableError, parseFlagWords } from './table-parser.js';

/** One entry of the decoder's tables: an encoding with its match condition and operands. */
export interface Def {
  line: TableLine;
  /** 0 legacy one-byte, 1 0F, 2 0F38, 3 0F3A (+ 4 per encoding later) */
  map: number;
  opcode: number;
  hasModrm: boolean;
  /** ModR/M.reg the entry is limited to, or -1 for any. */
  reg: number;
  mask: number;
  value: number;
  code: number;
  ops: number[];
  memSize: number;
  attrs: number;
  opSize: number;
  /** Matched only when no other entry of its slot does. */
  fallback: boolean;
  /** EVEX facts (EVEX_ATTR bits, disp8 scale, broadcast element size). */
  evex: number;
  /** MemorySize of the memory operand when EVEX.b broadcasts one element (0: no broadcast). */
  bcstMemSize: number;
}

export interface CompiledTable {
  defs: Def[];
  codes: string[];
  codeMnemonic: number[];
  codeCpu: number[];
  codeOpSize: number[];
  codeFlags: FlagFacts[];
  mnemonics: string[];
  memorySizes: string[];
  cpuFeatures: string[];
  /** 1 when a formatter must print the memory operand's size (`dword ptr`) because the other operands do not tell it. */
  codeShowMemSize: number[];
}

const OF = 1 << 11;

const SIZE_BITS: Readonly<Record<string, number>> = { '16': 0, '32': 1, '64': 2 };
const GPR_CLASS: Readonly<Record<string, number>> = { '8': RegClass.Gpr8, '16': RegClass.Gpr16, '32': RegClass.Gpr32, '64': RegClass.Gpr64 };
const VEC_CLASS: Readonly<Record<string, number>> = {
  mm: RegClass.Mm, xmm: RegClass.Xmm, ymm: RegClass.Ymm, zmm: RegClass.Zmm, k: RegClass.K, bnd: RegClass.Bnd,
  tmm: RegClass.Tmm, Sreg: RegClass.Segment, cr: RegClass.Control, dr: RegClass.Debug, tr: RegClass.Test, sti: RegClass.St,
  r8: RegClass.Gpr8, r16: RegClass.Gpr16, r32: RegClass.Gpr32, r64: RegClass.Gpr64,
};
const ATTR_WORDS: Readonly<Record<string, number>> = {
  lock: ATTR.LOCK, rep: ATTR.REP, repe: ATTR.REPE, hle: ATTR.HLE, xrelease: ATTR.XRELEASE_NOLOCK, hlemem: ATTR.HLE_MEM,
  shiftimm: ATTR.SHIFT_IMM, lockreg: ATTR.LOCK_REG, modignored: ATTR.MOD_IGNORED,
};
const SPECIAL_WORDS: Readonly<Record<string, number>> = {
  i8: S.Imm8, i16: S.Imm16, i32: S.Imm32, i64: S.Imm64, i8x16: S.Imm8to16, i8x32: S.Imm8to32, i8x64: S.Imm8to64,
  i32x64: S.Imm32to64, i8b: S.Imm8Second, '1': S.ImmOne, rel8: S.Rel8, rel16: S.Rel16, rel32: S.Rel32, xrel16: S.XbeginRel16, xrel32: S.XbeginRel32,
  'ptr16:16': S.Ptr1616, 'ptr16:32': S.Ptr1632, xlat: S.Xlat,
};

/**
 * EVEX attribute words: opmask allowed (`k`), opmask with zeroing (`kz`), opmask required (`kreq`),
 * rounding (`er`), suppress-all-exceptions (`sae`), destination distinct from the sources (`dstunique`).
 */
const EVEX_WORDS: Readonly<Record<string, number>> = {
  dstunique: EVEX_ATTR.DST_UNIQUE, k: EVEX_ATTR.K, kz: EVEX_ATTR.K | EVEX_ATTR.Z, kreq: EVEX_ATTR.K | EVEX_ATTR.KREQ, er: EVEX_ATTR.ER, sae: EVEX_ATTR.SAE,
};

/** Bytes of one broadcast element (`Float32` 4, `2xInt16` 4, `Float16` 2); 0 if unknown. */
function broadcastElementBytes(elem: string): number {
  const m = /^(?:(\d+)x)?(?:U?Int|Float|BFloat)(\d+)$/.exec(elem);
  if (m === null) return 0;
  // UInt52 (IFMA) elements sit in 64-bit lanes.
  const bits = m[2] === '52' ? 64 : Number(m[2]);
  return (Number(m[1] ?? '1') * bits) / 8;
}

class Interner {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  constructor(first: readonly string[]) {
    for (const n of first) this.get(n);
  }
  get(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

export function compileTable(table: ParsedTable, fileName: string): CompiledTable {
  const codes = new Interner(['INVALID']);
  const mnemonics = new Interner(['INVALID']);
  const memorySizes = new Interner(['Unknown']);
  const cpus = new Interner(['INVALID']);
  const codeMnemonic: number[] = [0];
  const codeCpu: number[] = [0];
  const codeOpSize: number[] = [0];
  const codeFlags: FlagFacts[] = [{ read: 0, written: 0, undefined: 0, cleared: 0, set: 0 }];
  const defs: Def[] = [];
  const codeShowOverride: number[] = [-1];

  for (const line of table.lines) {
    const where = `${fileName}:${line.lineNo} (${line.code})`;
    let mask = 0;
    let value = 0;
    let opSize = 0;
    const limit = (shift: number, bits: number, v: number): void => {
      const m = ((1 << bits) - 1) << shift;
      if ((mask & m) !== 0 && (value & m) !== v << shift) throw new TableError('Semantics', `${where}: conflicting constraints`);
      mask |= m;
      value = (value & ~m) | (v << shift);
    };
    const bytes: number[] = [];
    let plusR = false;
    let vex = false;
    let evex = false;
    let xopMap = 0;
    let evexMap = 0;
    let d3now = false;
    let modrm: string | undefined;
    for (const tok of line.encoding) {
      let m: RegExpExecArray | null;
      if ((m = /^([oda])(16|32|64)$/.exec(tok)) !== null) {
        const kind = m[1] ?? 'o';
        const sz = SIZE_BITS[m[2] ?? ''] ?? 0;
        limit(kind === 'o' ? CTX.OSZ_SHIFT : kind === 'd' ? CTX.OSZD_SHIFT : CTX.ASZ_SHIFT, 2, sz);
        if (kind !== 'a') opSize = 16 << sz;
      } else if (tok === 'NP' && bytes.length === 0) {
        limit(CTX.MP_SHIFT, 2, 0);
      } else if ((tok === '66' || tok === 'F3' || tok === 'F2') && bytes.length === 0 && line.encoding.slice(line.encoding.indexOf(tok) + 1).some((t) => /^[0-9A-F]{2}(\+r)?$/.test(t))) {
        limit(CTX.MP_SHIFT, 2, tok === '66' ? 1 : tok === 'F3' ? 2 : 3);
      } else if (tok === 'no64') {
        limit(CTX.MODE_SHIFT + 1, 1, 0);
      } else if (tok === 'only64') {
        limit(CTX.MODE_SHIFT + 1, 1, 1);
      } else if (tok === 'W0' || tok === 'W1') {
        limit(10, 1, tok === 'W1' ? 1 : 0);
      } else if (tok === 'V') {
        vex = true;
        limit(CTX.ENC_SHIFT, 2, 1);
      } else if (tok === 'XOP8' || tok === 'XOP9' || tok === 'XOPA') {
        xopMap = tok === 'XOP8' ? 11 : tok === 'XOP9' ? 12 : 13;
        limit(CTX.ENC_SHIFT, 2, 3);
        limit(CTX.MP_SHIFT, 2, 0);
      } else if (tok === 'MAP5' || tok === 'MAP6') {
        evexMap = tok === 'MAP5' ? 14 : 15;
      } else if (tok === '3DNOW') {
        d3now = true;
      } else if (tok === 'E') {
        evex = true;
        limit(CTX.ENC_SHIFT, 2, 2);
      } else if (tok === 'L0' || tok === 'L1' || tok === 'L2') {
        limit(CTX.L_SHIFT, 2, Number(tok[1]));
      } else if (tok === 'rexb0') {
        limit(20, 1, 0);
      } else if (tok.startsWith('/')) {
        modrm = tok.slice(1);
      } else if ((m = /^([0-9A-F]{2})(\+r)?$/.exec(tok)) !== null) {
        if (modrm !== undefined) throw new TableError('Syntax', `${where}: opcode byte after ModR/M`);
        bytes.push(parseInt(m[1] ?? '0', 16));
        if (m[2] !== undefined) plusR = true;
      } else {
        throw new TableError('Syntax', `${where}: unknown encoding word '${tok}'`);
      }
    }
    let map = 0;
    if (bytes[0] === 0x0f && bytes.length > 1) {
      map = 1;
      bytes.shift();
      const second: number = bytes[0] ?? 0;
      if ((second === 0x38 || second === 0x3a) && bytes.length > 1) {
        map = second === 0x38 ? 2 : 3;
        bytes.shift();
      }
    }
    if (bytes.length !== 1) throw new TableError('Syntax', `${where}: expected one opcode byte after the escape bytes, got ${bytes.length}`);
    if (evexMap !== 0) {
      if (!evex || map !== 0) throw new TableError('Syntax', `${where}: MAP5/MAP6 are EVEX maps and take no 0F escape`);
      map = evexMap;
    } else if (vex || evex) {
      if (map === 0) throw new TableError('Syntax', `${where}: a VEX/EVEX encoding needs the 0F, 0F 38 or 0F 3A map`);
      map += vex ? 3 : 6;
    } else if (xopMap !== 0 || d3now) {
      if (map !== 0) throw new TableError('Syntax', `${where}: XOP and 3DNow! lines name their map with XOP8/XOP9/XOPA or 3DNOW, not 0F`);
      map = d3now ? 10 : xopMap;
    }
    const opcode = bytes[0] ?? 0;
    let reg = -1;
    const hasModrm = modrm !== undefined;
    if (modrm !== undefined) {
      const [form = '', only] = modrm.split(':');
      if (/^[0-7]$/.test(form)) reg = Number(form);
      else if (/^[0-9A-F]{2}$/.test(form)) {
        const b = parseInt(form, 16);
        if (b < 0xc0) throw new TableError('Syntax', `${where}: exact ModR/M byte must have mod = 3`);
        reg = (b >> 3) & 7;
        limit(11, 1, 1);
        limit(CTX.RM_SHIFT, 3, b & 7);
      } else if (form !== 'r') throw new TableError('Syntax', `${where}: bad ModR/M form '/${modrm}'`);
      if (only === 'm') limit(11, 1, 0);
      else if (only === 'r') limit(11, 1, 1);
      else if (only !== undefined) throw new TableError('Syntax', `${where}: bad ModR/M restriction ':${only}'`);
    }

    let memSize = -1;
    let attrs = 0;
    const setMem = (name: string): void => {
      const id = memorySizes.get(name);
      if (memSize >= 0 && memSize !== id) throw new TableError('Semantics', `${where}: two different memory sizes`);
      memSize = id;
    };
    const ops: number[] = [];
    let hasGpr8 = false;
    for (const opTok of line.operands) {
      const [name = '', sizeName] = opTok.split(':');
      let m: RegExpExecArray | null;
      let spec: number;
      if (opTok.startsWith('ptr16:')) {
        spec = SPECIAL_WORDS[opTok] ?? -1;
      } else if ((m = /^rm(8|16|32|64)$/.exec(name)) !== null) {
        spec = (G.Rm << 8) | (GPR_CLASS[m[1] ?? ''] ?? 0);
        setMem(sizeName ?? `UInt${m[1] ?? ''}`);
        if (m[1] === '8') hasGpr8 = true;
      } else if ((m = /^r(16|32|64)m(8|16|32|64)$/.exec(name)) !== null) {
        spec = (G.Rm << 8) | (GPR_CLASS[m[1] ?? ''] ?? 0);
        setMem(sizeName ?? `UInt${m[2] ?? ''}`);
      } else if (name === 'm') {
        spec = S.Mem;
        setMem(sizeName ?? 'Unknown');
        limit(11, 1, 0);
      } else if (name === 'moffs' || name === 'X' || name === 'Y' || name === 'xlat') {
        spec = name === 'moffs' ? S.Moffs : name === 'X' ? S.StrSrc : name === 'Y' ? S.StrDst : S.Xlat;
        setMem(sizeName ?? (name === 'xlat' ? 'UInt8' : 'Unknown'));
      } else if ((m = /^\+(r8|r16|r32|r64)$/.exec(name)) !== null) {
        spec = (G.OpReg << 8) | (VEC_CLASS[m[1] ?? ''] ?? 0);
        if (m[1] === 'r8') hasGpr8 = true;
      } else if ((m = /^vm(32|64)(x|y|z)$/.exec(name)) !== null) {
        spec = (G.Vsib << 8) | (VEC_CLASS[`${m[2] ?? 'x'}mm`] ?? 0);
        setMem(sizeName ?? 'Unknown');
        limit(11, 1, 0);
      } else if ((m = /^(mm|xmm|ymm|zmm|k|bnd|tmm)\/m$/.exec(name)) !== null) {
        spec = (G.Rm << 8) | (VEC_CLASS[m[1] ?? ''] ?? 0);
        setMem(sizeName ?? 'Unknown');
      } else if ((m = /^(mm|xmm|ymm|zmm|k|bnd|tmm|r8|r16|r32|r64|sti)\.rm$/.exec(name)) !== null || name === 'sti') {
        spec = (G.Rm << 8) | (VEC_CLASS[m?.[1] ?? 'sti'] ?? 0);
        // MOV to/from control and debug registers ignore mod: the operand is a register either way.
        if (!line.attrs.includes('modignored')) limit(11, 1, 1);
      } else if ((m = /^Is4(xmm|ymm)$/.exec(name)) !== null) {
        spec = (G.Is4 << 8) | (VEC_CLASS[m[1] ?? ''] ?? 0);
      } else if ((m = /^V(mm|xmm|ymm|zmm|k|r32|r64)$/.exec(name)) !== null) {
        spec = (G.Vvvv << 8) | (VEC_CLASS[m[1] ?? ''] ?? 0);
      } else if (VEC_CLASS[name] !== undefined && name !== 'sti') {
        spec = (G.Reg << 8) | (VEC_CLASS[name] ?? 0);
        if (name === 'r8') hasGpr8 = true;
      } else if (SPECIAL_WORDS[name] !== undefined) {
        spec = SPECIAL_WORDS[name] ?? -1;
      } else if (/^[A-Z][A-Z0-9]*$/.test(name) && registerByName(name) > 0) {
        spec = FIXED_SPEC_BASE + registerByName(name);
        if (registerByName(name) >> 5 === RegClass.Gpr8) hasGpr8 = true;
      } else {
        throw new TableError('Syntax', `${where}: unknown operand '${opTok}'`);
      }
      if (spec < 0) throw new TableError('Syntax', `${where}: unknown operand '${opTok}'`);
      ops.push(spec);
    }
    if (ops.length > 5) throw new TableError('Semantics', `${where}: more than 5 operands`);
    // VEX.vvvv must be 1111b when no operand uses it.
    if ((vex || evex || xopMap !== 0) && !ops.some((o) => o >> 8 === G.Vvvv)) limit(22, 1, 0);
    if (opSize === 0 && hasGpr8) opSize = 8;

    const flags: FlagFacts = { ...(table.flags.get(line.mnemonic) ?? { read: 0, written: 0, undefined: 0, cleared: 0, set: 0 }) };
    let cpu = line.cpu;
    let showOverride = -1;
    let fallback = false;
    let shiftByCl = false;
    const flagWords: string[] = [];
    let evexAttrs = 0;
    let disp8N = -1;
    let bcst = false;
    let bcstElem = '';
    for (const a of line.attrs) {
      const bit = ATTR_WORDS[a];
      const ebit = EVEX_WORDS[a];
      if (bit !== undefined) attrs |= bit;
      else if (ebit !== undefined && evex) evexAttrs |= ebit;
      else if (a === 'bcst' && evex) bcst = true;
      else if (a.startsWith('bcst=') && evex) {
        bcst = true;
        bcstElem = a.slice(5);
      }
      else if (/^n=(1|2|4|8|16|32|64)$/.test(a) && evex) disp8N = Number(a.slice(2));
      else if (a === 'showmem' || a === 'hidemem') showOverride = a === 'showmem' ? 1 : 0;
      else if (a === 'fallback') fallback = true;
      else if (a === '-') continue;
      else if (a === 'shiftcl') shiftByCl = true;
      else if (a.startsWith('cpu=')) cpu = a.slice(4);
      else if (/^f[rwucs]=/.test(a)) flagWords.push(a);
      else throw new TableError('Syntax', `${where}: unknown attribute '${a}'`);
    }
    parseFlagWords(flagWords, where, flags);
    // A shift by CL may shift by more than 1, which leaves OF undefined.
    if (shiftByCl && (flags.written & OF) !== 0) {
      flags.written &= ~OF;
      flags.undefined |= OF;
    }

    let bcstMemSize = 0;
    let evexWord = 0;
    if (evex) {
      const memName = memorySizes.names[Math.max(memSize, 0)] ?? 'Unknown';
      if (bcst) {
        const pm = /^Packed(\d+)_(.+)$/.exec(memName);
        const elemName = bcstElem !== '' ? bcstElem : pm?.[2] ?? '';
        const elem = broadcastElementBytes(elemName);
        if (pm === null || elem === 0) throw new TableError('Semantics', `${where}: bcst needs a Packed<bits>_<element> memory size, got '${memName}'`);
        bcstMemSize = memorySizes.get(`Broadcast${pm[1] ?? ''}_${elemName}`);
        evexAttrs |= EVEX_ATTR.BCST | (Math.log2(elem) << EVEX_ATTR.BCST_LOG2_SHIFT);
      }
      if (disp8N < 0) disp8N = Math.max(1, memorySizeBytes(memName));
      if (ops.some((o) => o >> 8 === G.Vvvv || o >> 8 === G.Vsib)) evexAttrs |= EVEX_ATTR.V2_USED;
      evexWord = evexAttrs | Math.log2(disp8N);
      if (!Number.isInteger(Math.log2(disp8N))) throw new TableError('Semantics', `${where}: disp8 scale ${disp8N} is not a power of two`);
    } else if (evexAttrs !== 0 || bcst || disp8N >= 0) {
      throw new TableError('Semantics', `${where}: EVEX attributes on a non-EVEX line`);
    }

    const known = codes.names.length;
    const code = codes.get(line.code);
    if (code === known) {
      codeMnemonic.push(mnemonics.get(line.mnemonic));
      codeCpu.push(cpus.get(cpu));
      codeOpSize.push(opSize);
      codeFlags.push(flags);
      codeShowOverride.push(showOverride);
    } else if (codeMnemonic[code] !== mnemonics.get(line.mnemonic)) {
      throw new TableError('Semantics', `${where}: code '${line.code}' given again with another mnemonic`);
    }
    const count = plusR ? 8 : 1;
    for (let k = 0; k < count; k++) {
      defs.push({ line, map, opcode: opcode + k, hasModrm, reg, mask, value, code, ops, memSize: Math.max(memSize, 0), attrs, opSize, fallback, evex: evexWord, bcstMemSize });
    }
  }
  return {
    defs,
    codeShowMemSize: showMemSize(defs, codes.names.length, codeMnemonic, memorySizes.names, codeShowOverride),
    codes: codes.names,
    codeMnemonic,
    codeCpu,
    codeOpSize,
    codeFlags,
    mnemonics: mnemonics.names,
    memorySizes: memorySizes.names,
    cpuFeatures: cpus.names,
  };
}

const MEMORY_SPECS = new Set<number>([S.Mem, S.Moffs, S.Xlat]);

/**
 * A formatter shows a memory operand's size only when the instruction would be ambiguous without it:
 * another encoding has the same mnemonic, the same other operands, a mode in common and a memory
 * operand of another size (`inc [eax]` could be a byte, word or dword). Lines can force it either way
 * with `showmem` / `hidemem`.
 */
function showMemSize(defs: readonly Def[], codeCount: number, mnemonic: readonly number[], memNames: readonly string[], override: readonly number[]): number[] {
  interface Shape { key: string; modes: number; bytes: number; hasMem: boolean }
  const shapes: (Shape | undefined)[] = new Array<Shape | undefined>(codeCount);
  for (const d of defs) {
    if (shapes[d.code] !== undefined) {
      const sh = shapes[d.code];
      if (sh !== undefined) sh.modes |= modesOf(d);
      continue;
    }
    let hasMem = false;
    const parts: string[] = [];
    for (const op of d.ops) {
      const group = op >> 8;
      if (group === G.Rm && (op & 0xff) !== RegClass.St) {
        hasMem = true;
        parts.push('m');
      } else if (MEMORY_SPECS.has(op)) {
        hasMem = true;
        parts.push('m');
      } else if (op >= S.Imm8 && op <= S.ImmOne) {
        parts.push('imm');
      } else {
        parts.push(String(op));
      }
    }
    shapes[d.code] = { key: `${mnemonic[d.code] ?? 0}:${parts.join(',')}`, modes: modesOf(d), bytes: memorySizeBytes(memNames[d.memSize] ?? ''), hasMem };
  }
  const byKey = new Map<string, Shape[]>();
  for (const sh of shapes) {
    if (sh === undefined || !sh.hasMem) continue;
    const list = byKey.get(sh.key) ?? [];
    list.push(sh);
    byKey.set(sh.key, list);
  }
  return Array.from({ length: codeCount }, (_, code) => {
    const sh = shapes[code];
    const forced = override[code] ?? -1;
    if (forced >= 0) return forced;
    if (sh === undefined || !sh.hasMem || sh.bytes === 0) return 0;
    const others = byKey.get(sh.key) ?? [];
    return others.some((o) => o !== sh && (o.modes & sh.modes) !== 0 && o.bytes !== sh.bytes && o.bytes !== 0) ? 1 : 0;
  });
}

/** Bit 0: valid outside 64-bit mode, bit 1: valid in 64-bit mode. */
function modesOf(d: Def): number {
  const bit = 1 << (CTX.MODE_SHIFT + 1);
  if ((d.mask & bit) === 0) return 3;
  return (d.value & bit) !== 0 ? 2 : 1;
}
