import { DecodeError } from './decode-error.js';

/**
 * Scratch state of one decode, kept in a single reused object so decoding allocates nothing. Only
 * the decoder's own modules touch it.
 */
export class DecodeState {
  bytes: Uint8Array = new Uint8Array(0);
  start = 0;
  pos = 0;
  /** First offset that may not be read (15-byte limit or end of data). */
  limit = 0;
  /** The data goes on past `limit`: running into it means the instruction is too long. */
  tooLongPossible = false;
  error = 0;
  /** 0 = 16-bit, 1 = 32-bit, 2 = 64-bit */
  mode = 0;
  /** Address size: 0 = 16, 1 = 32, 2 = 64 */
  asz = 0;
  rex = 0;
  rexW = 0;
  rexR = 0;
  rexX = 0;
  rexB = 0;
  has66 = 0;
  lock = 0;
  lastRep = 0;
  lastSegByte = 0;
  /** Segment override register, 0 for none. */
  segOverride = 0;
  opcode = 0;
  modrm = -1;
  mod = 0;
  reg = 0;
  rm = 0;
  def = 0;
  attrs = 0;
  /** A memory operand was decoded (LOCK and XRELEASE need one). */
  memUsed = false;
  /** A relative branch waits for the final length to compute its target. */
  relPending = false;
  relValue = 0;
  relSize = 0;
  /** The memory operand is RIP/EIP-relative: its displacement becomes absolute once the length is known. */
  ripRelative = false;
  /** VEX/EVEX/XOP fields (vvvv already inverted). */
  vvvv = 0;
  evexRp = 0;
  evexV2 = 0;
  /** Context word built by the prefix parsers. */
  ctx = 0;
  /** 128 or 256 for VEX encodings, 0 for legacy ones. */
  vectorLength = 0;
  /** EVEX.X: bit 4 of a vector register in ModR/M.rm (0 outside EVEX). */
  evexX = 0;
  /** Encoding: 0 legacy, 1 VEX, 2 EVEX, 3 XOP. */
  enc = 0;
  /** EVEX.z, EVEX.b, EVEX.aaa and EVEX.L'L as encoded. */
  evexZ = 0;
  evexB = 0;
  evexAaa = 0;
  evexLL = 0;
  /** Scale of an 8-bit displacement: 1, or EVEX's N (compressed disp8). */
  disp8N = 1;
  /** A 3DNow! instruction: its opcode byte follows the operands and is consumed after them. */
  d3now = false;
}

export const STATE = new DecodeState();

/** Next byte, or -1 with `error` set when the input or the 15-byte limit ends. */
export function readByte(s: DecodeState): number {
  const p = s.pos;
  if (p >= s.limit) {
    if (s.error === 0) s.error = s.tooLongPossible ? DecodeError.TooLong : DecodeError.NoMoreBytes;
    return -1;
  }
  s.pos = p + 1;
  return s.bytes[p] ?? 0;
}

/** Little-endian 16-bit value, or -1. */
export function readU16(s: DecodeState): number {
  const p = s.pos;
  if (p + 2 > s.limit) {
    s.pos = s.limit;
    if (s.error === 0) s.error = s.tooLongPossible ? DecodeError.TooLong : DecodeError.NoMoreBytes;
    return -1;
  }
  s.pos = p + 2;
  const b = s.bytes;
  return (b[p] ?? 0) | ((b[p + 1] ?? 0) << 8);
}

/** Little-endian 32-bit value as a signed int; check `s.error` afterwards (-1 is a valid value). */
export function readI32(s: DecodeState): number {
  const p = s.pos;
  if (p + 4 > s.limit) {
    s.pos = s.limit;
    if (s.error === 0) s.error = s.tooLongPossible ? DecodeError.TooLong : DecodeError.NoMoreBytes;
    return 0;
  }
  s.pos = p + 4;
  const b = s.bytes;
  return (b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 24);
}
