import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CODE_NAMES } from '../src/generated/code.js';
import { MEMORY_SIZE_NAMES } from '../src/generated/memory-size.js';
import { MNEMONIC_NAMES } from '../src/generated/mnemonic.js';
import { DECODE_ERROR_NAMES } from '../src/decode-error.js';
import type { Instruction } from '../src/instruction.js';
import { OpKind } from '../src/op-kind.js';
import { Prefix } from '../src/prefix.js';
import { REGISTER_NAMES } from '../src/register.js';
import { decode64 } from '../src/decoder.js';

/** The shared test data, beside the repository: `<repo>/../shared/testdata`. */
export const TESTDATA = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'testdata');
export const ICED_DECODER_DIR = resolve(TESTDATA, 'iced-x86', 'Decoder');

/** The IP the upstream vectors were made with, per bitness (low and high 32 bits). */
export const VECTOR_IP: Readonly<Record<number, readonly [number, number]>> = {
  16: [0x7ff0, 0],
  32: [0x7ffffff0, 0],
  64: [0xfffffff0, 0x7fffffff],
};

export interface VectorLine {
  lineNo: number;
  bytes: Uint8Array;
  code: string;
  mnemonic: string;
  opCount: number;
  ops: string[];
  extras: string[];
}

export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lines of a DecoderTest*.txt file (comments and blank lines dropped). */
export function readVectorFile(name: string): VectorLine[] {
  const text = readFileSync(resolve(ICED_DECODER_DIR, name), 'utf8');
  const out: VectorLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(', ');
    const [hex = '', code = '', mnemonic = '', count = '0', rest = ''] = [parts[0], parts[1], parts[2], parts[3], parts.slice(4).join(', ')];
    const words = rest.split(' ').filter((w) => w !== '');
    out.push({
      lineNo: i + 1,
      bytes: parseHex(hex),
      code,
      mnemonic,
      opCount: Number(count.replace(/,$/, '')),
      ops: words.filter((w) => /^op\d=/.test(w)),
      extras: words.filter((w) => !/^op\d=/.test(w)),
    });
  });
  return out;
}

function big(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function num(text: string): bigint {
  return BigInt(text === '' ? 0 : text);
}

const regName = (r: number): string => REGISTER_NAMES[r] ?? `?${r}`;

function checkMemory(ins: Instruction, f: string[]): string {
  const [seg = '', base = '', index = '', scale = '', disp = '', dsize = '', msize = ''] = f;
  if (regName(ins.memSegment) !== seg) return `segment ${regName(ins.memSegment)} != ${seg}`;
  if ((ins.memBase === 0 ? '' : regName(ins.memBase)) !== base) return `base ${regName(ins.memBase)} != ${base}`;
  if ((ins.memIndex === 0 ? '' : regName(ins.memIndex)) !== index) return `index ${regName(ins.memIndex)} != ${index}`;
  if (String(ins.memScale) !== scale) return `scale ${ins.memScale} != ${scale}`;
  if (big(ins.memDisp, ins.memDispHi) !== num(disp)) return `disp ${big(ins.memDisp, ins.memDispHi).toString(16)} != ${disp}`;
  // The reference counts a 32-bit displacement of 64-bit addressing as 8 bytes (it is sign-extended).
  const size = ins.memDispSize === 4 && ins.addrSize === 64 ? 8 : ins.memDispSize;
  if (String(size) !== dsize) return `disp size ${size} != ${dsize}`;
  if (MEMORY_SIZE_NAMES[ins.memSize] !== msize) return `memory size ${MEMORY_SIZE_NAMES[ins.memSize]} != ${msize}`;
  return '';
}

const IMM_KINDS: Readonly<Record<string, number>> = {
  i8: OpKind.Immediate8, i16: OpKind.Immediate16, i32: OpKind.Immediate32, i64: OpKind.Immediate64,
  i8to16: OpKind.Immediate8to16, i8to32: OpKind.Immediate8to32, i8to64: OpKind.Immediate8to64, i32to64: OpKind.Immediate32to64,
};
const STR_KINDS: Readonly<Record<string, number>> = {
  segsi: OpKind.MemorySegSI, segesi: OpKind.MemorySegESI, segrsi: OpKind.MemorySegRSI,
  segdi: OpKind.MemorySegDI, segedi: OpKind.MemorySegEDI, segrdi: OpKind.MemorySegRDI,
  esdi: OpKind.MemoryESDI, esedi: OpKind.MemoryESEDI, esrdi: OpKind.MemoryESRDI,
};

function checkOperand(ins: Instruction, k: number, text: string): string {
  const [kind = '', ...f] = text.split(';');
  const actual = ins.opKind[k] ?? -1;
  const want = (kinds: number, what: string): string => (actual === kinds ? '' : `op${k} kind ${actual} != ${what}`);
  if (kind === 'r') return want(OpKind.Register, 'r') || (regName(ins.opRegister[k] ?? 0) === f[0] ? '' : `op${k} ${regName(ins.opRegister[k] ?? 0)} != ${f[0]}`);
  if (kind === 'm') return want(OpKind.Memory, 'm') || checkMemory(ins, f);
  const imm = IMM_KINDS[kind];
  if (imm !== undefined) return want(imm, kind) || (big(ins.imm, ins.immHi) === num(f[0] ?? '') ? '' : `op${k} imm ${big(ins.imm, ins.immHi).toString(16)} != ${f[0]}`);
  if (kind === 'i8_2nd') return want(OpKind.Immediate8_2nd, kind) || (BigInt(ins.imm2) === num(f[0] ?? '') ? '' : `op${k} imm2 ${ins.imm2} != ${f[0]}`);
  if (kind === 'nb16' || kind === 'nb32' || kind === 'nb64') {
    const nb = kind === 'nb16' ? OpKind.NearBranch16 : kind === 'nb32' ? OpKind.NearBranch32 : OpKind.NearBranch64;
    return want(nb, kind) || (big(ins.targetLo, ins.targetHi) === num(f[0] ?? '') ? '' : `op${k} target ${big(ins.targetLo, ins.targetHi).toString(16)} != ${f[0]}`);
  }
  if (kind === 'fb16' || kind === 'fb32') {
    return want(kind === 'fb16' ? OpKind.FarBranch16 : OpKind.FarBranch32, kind) ||
      (BigInt(ins.farSelector) === num(f[0] ?? '') && BigInt(ins.farOffset) === num(f[1] ?? '') ? '' : `op${k} far ${ins.farSelector}:${ins.farOffset} != ${f.join(':')}`);
  }
  const str = STR_KINDS[kind];
  if (str !== undefined) {
    const err = want(str, kind);
    if (err !== '') return err;
    const msize = kind.startsWith('seg') ? f[1] : f[0];
    if (kind.startsWith('seg') && regName(ins.memSegment) !== f[0]) return `op${k} segment ${regName(ins.memSegment)} != ${f[0]}`;
    return MEMORY_SIZE_NAMES[ins.memSize] === msize ? '' : `op${k} memory size ${MEMORY_SIZE_NAMES[ins.memSize]} != ${msize}`;
  }
  return `op${k}: unsupported vector operand '${text}'`;
}

const PREFIX_WORDS: Readonly<Record<string, number>> = {
  lock: Prefix.Lock, xacquire: Prefix.Xacquire, xrelease: Prefix.Xrelease, rep: Prefix.Rep, repe: Prefix.Rep,
  repne: Prefix.Repne,
};
const CHECKED_PREFIXES = Prefix.Lock | Prefix.Xacquire | Prefix.Xrelease | Prefix.Rep | Prefix.Repne;

/** Words of a vector line that need a decoder option this decoder does not have. */
export function neededOption(v: VectorLine): string | undefined {
  const opt = v.extras.find((e) => e.startsWith('decopt='));
  return opt === undefined ? undefined : opt.slice(7);
}

/** '' when decoding `v` gives what the line says, else what differs. */
export function checkVector(v: VectorLine, bitness: number, ins: Instruction): string {
  let [lo, hi] = VECTOR_IP[bitness] ?? [0, 0];
  const ipWord = v.extras.find((e) => e.startsWith('ip='));
  if (ipWord !== undefined) {
    const ip = BigInt(ipWord.slice(3));
    lo = Number(ip & 0xffffffffn);
    hi = Number(ip >> 32n);
  }
  decode64(v.bytes, 0, lo, hi, bitness, ins);
  const code = CODE_NAMES[ins.code] ?? '?';
  if (v.code === 'INVALID') {
    if (ins.code !== 0) return `decoded ${code}, expected INVALID`;
    const err = v.extras.find((e) => e.startsWith('err='));
    if (err !== undefined && DECODE_ERROR_NAMES[ins.error] !== err.slice(4)) return `error ${DECODE_ERROR_NAMES[ins.error]} != ${err.slice(4)}`;
    return '';
  }
  if (code !== v.code) return `code ${code} != ${v.code}${ins.code === 0 ? ` (${DECODE_ERROR_NAMES[ins.error]})` : ''}`;
  if (MNEMONIC_NAMES[ins.mnemonic] !== v.mnemonic) return `mnemonic ${MNEMONIC_NAMES[ins.mnemonic]} != ${v.mnemonic}`;
  if (ins.length !== v.bytes.length) return `length ${ins.length} != ${v.bytes.length}`;
  if (ins.opCount !== v.opCount) return `operand count ${ins.opCount} != ${v.opCount}`;
  for (const op of v.ops) {
    const k = Number(op[2]);
    const err = checkOperand(ins, k, op.slice(4));
    if (err !== '') return err;
  }
  let prefixes = 0;
  let seg = 'none';
  for (const e of v.extras) {
    const p = PREFIX_WORDS[e];
    if (p !== undefined) prefixes |= p;
    else if (/^[a-z]s:$/.test(e)) seg = e.slice(0, 2);
  }
  if ((ins.prefixes & CHECKED_PREFIXES) !== prefixes) return `prefixes ${(ins.prefixes & CHECKED_PREFIXES).toString(2)} != ${prefixes.toString(2)}`;
  if (regName(ins.segmentPrefix) !== seg) return `segment prefix ${regName(ins.segmentPrefix)} != ${seg}`;
  return checkEvexExtras(v, ins);
}

const ROUNDING_WORDS: Readonly<Record<string, number>> = { 'rc-rn': 1, 'rc-rd': 2, 'rc-ru': 3, 'rc-rz': 4 };

/** Opmask, zeroing, broadcast, rounding and SAE as the line's words give them. */
function checkEvexExtras(v: VectorLine, ins: Instruction): string {
  const mask = v.extras.find((e) => /^k[1-7]$/.test(e)) ?? '';
  const actualMask = ins.opMask === 0 ? '' : regName(ins.opMask);
  if (actualMask !== mask) return `opmask '${actualMask}' != '${mask}'`;
  if (ins.zeroingMasking !== v.extras.includes('zmsk')) return `zeroing-masking ${ins.zeroingMasking}`;
  if (ins.broadcast !== v.extras.includes('bcst')) return `broadcast ${ins.broadcast}`;
  if (ins.suppressAllExceptions !== v.extras.includes('sae')) return `sae ${ins.suppressAllExceptions}`;
  const rc = v.extras.map((e) => ROUNDING_WORDS[e] ?? 0).find((r) => r !== 0) ?? 0;
  if (ins.roundingControl !== rc) return `rounding ${ins.roundingControl} != ${rc}`;
  return '';
}
