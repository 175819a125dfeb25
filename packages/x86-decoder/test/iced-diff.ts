import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';
import { CODE_NAMES } from '../src/generated/code.js';
import { decode64 } from '../src/decoder.js';
import { formatIntel } from '../src/format/intel-formatter.js';
import { Instruction } from '../src/instruction.js';
import { OP_KIND_NAMES } from '../src/op-kind.js';
import { REGISTER_NAMES } from '../src/register.js';

// iced-x86 ships CommonJS + WebAssembly; load it the way Node loads it.
const require = createRequire(import.meta.url);
export const iced = require('iced-x86') as typeof Iced;

export type DiffKind = 'length' | 'code' | 'operands' | 'text';

export interface Difference {
  kind: DiffKind;
  bytes: string;
  ours: string;
  theirs: string;
  code: string;
}

const ICED_CODE_NAMES = iced.Code as unknown as Record<number, string>;
const ICED_REG_NAMES = iced.Register as unknown as Record<number, string>;
const ICED_OPKIND_NAMES = iced.OpKind as unknown as Record<number, string>;

function hex(bytes: Uint8Array, from: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (bytes[from + i] ?? 0).toString(16).padStart(2, '0').toUpperCase();
  return s;
}

/**
 * Decode `bytes` from the start with both decoders, instruction after instruction, and collect what
 * differs (at most `limit` differences are kept in full; `counts` gets them all).
 */
export function diffStream(
  bytes: Uint8Array,
  bitness: number,
  counts: Record<DiffKind | 'total', number>,
  found: Difference[],
  limit: number,
): void {
  const decoder = new iced.Decoder(bitness, bytes, iced.DecoderOptions.None);
  const formatter = new iced.Formatter(iced.FormatterSyntax.Intel);
  const theirs = new iced.Instruction();
  const ours = new Instruction();
  decoder.ip = 0n;
  try {
    while (decoder.canDecode) {
      const pos = decoder.position;
      decoder.decodeOut(theirs);
      decode64(bytes, pos, pos, 0, bitness, ours);
      counts.total++;
      const theirCode = ICED_CODE_NAMES[theirs.code] ?? '?';
      const ourCode = CODE_NAMES[ours.code] ?? '?';
      let kind: DiffKind | undefined;
      let a = '';
      let b = '';
      if (ours.length !== theirs.length) {
        kind = 'length';
        a = `${ourCode} len ${ours.length}`;
        b = `${theirCode} len ${theirs.length}`;
      } else if (ourCode !== theirCode) {
        kind = 'code';
        a = ourCode;
        b = theirCode;
      } else {
        a = operandsOf(ours);
        b = icedOperandsOf(theirs);
        if (a !== b) kind = 'operands';
        else {
          a = formatIntel(ours);
          b = formatter.format(theirs);
          if (a !== b) kind = 'text';
        }
      }
      if (kind !== undefined) {
        counts[kind]++;
        if (found.length < limit) found.push({ kind, bytes: hex(bytes, pos, Math.max(theirs.length, 1)), ours: a, theirs: b, code: theirCode });
      }
      if (decoder.position !== pos + theirs.length) decoder.position = pos + Math.max(theirs.length, 1);
    }
  } finally {
    theirs.free();
    formatter.free();
    decoder.free();
  }
}

function operandsOf(ins: Instruction): string {
  const parts: string[] = [];
  for (let k = 0; k < ins.opCount; k++) {
    const kind = OP_KIND_NAMES[ins.opKind[k] ?? 0] ?? '?';
    parts.push(kind === 'Register' ? (REGISTER_NAMES[ins.opRegister[k] ?? 0] ?? '?') : kind);
  }
  return parts.join(',');
}

function icedOperandsOf(ins: Iced.Instruction): string {
  const parts: string[] = [];
  for (let k = 0; k < ins.opCount; k++) {
    const kind = ICED_OPKIND_NAMES[ins.opKind(k)] ?? '?';
    parts.push(kind === 'Register' ? (ICED_REG_NAMES[ins.opRegister(k)] ?? '?').toLowerCase() : kind);
  }
  return parts.join(',');
}

/** Deterministic pseudo-random bytes (xorshift32), so every run checks the same sample. */
export function randomBytes(count: number, seed: number): Uint8Array {
  const out = new Uint8Array(count);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
