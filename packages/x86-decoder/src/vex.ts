import { CTX } from './generated/opcode-table.js';
import { DecodeError } from './decode-error.js';
import { type DecodeState, readByte } from './state.js';

/**
 * Parse a 2-byte (C5) or 3-byte (C4) VEX prefix, or an AMD XOP prefix (8F, same layout as C4, maps 8,
 * 9 and A), whose first byte was just read (SDM vol. 2, 2.3; AMD APM vol. 4, 1.1). Fills the state's
 * REX-like bits and vvvv, returns the table's opcode map (4 = 0F, 5 = 0F38, 6 = 0F3A; 11-13 = XOP
 * maps 8-A) and updates `s.ctx`; -1 with `s.error` set when the prefix is invalid or cut short.
 */
export function parseVex(s: DecodeState, first: number, ctxIn: number): number {
  let ctx = ctxIn & ~((3 << CTX.MP_SHIFT) | (3 << CTX.OSZ_SHIFT) | (3 << CTX.OSZD_SHIFT) | CTX.W | CTX.REX | CTX.REX_B);
  const p1 = readByte(s);
  if (p1 < 0) return -1;
  let map = 1;
  let w = 0;
  let p2 = p1;
  const xop = first === 0x8f;
  if (first === 0xc4 || xop) {
    map = p1 & 0x1f;
    s.rexX = (~p1 >> 6) & 1;
    s.rexB = (~p1 >> 5) & 1;
    p2 = readByte(s);
    if (p2 < 0) return -1;
    w = p2 >> 7;
    if (xop ? map < 8 || map > 10 : map < 1 || map > 3) {
      // The opcode byte still belongs to the (invalid) XOP instruction.
      if (xop) readByte(s);
      if (s.error === 0) s.error = DecodeError.InvalidInstruction;
      return -1;
    }
  } else {
    s.rexX = 0;
    s.rexB = 0;
  }
  s.rexR = (~p1 >> 7) & 1;
  s.rexW = w;
  let vvvv = (~p2 >> 3) & 15;
  if (s.mode !== 2) {
    // Outside 64-bit mode only eight registers exist: the high bits of R, X, B and vvvv are ignored.
    s.rexR = 0;
    s.rexX = 0;
    s.rexB = 0;
    vvvv &= 7;
  }
  s.vvvv = vvvv;
  s.rex = 0;
  const pp = p2 & 3;
  const l = (p2 >> 2) & 1;
  const osz = s.mode === 2 && w !== 0 ? 2 : 1;
  ctx |= pp << CTX.MP_SHIFT;
  ctx |= (osz << CTX.OSZ_SHIFT) | (osz << CTX.OSZD_SHIFT);
  ctx |= ((xop ? 3 : 1) << CTX.ENC_SHIFT) | (l << CTX.L_SHIFT);
  if (w !== 0) ctx |= CTX.W;
  if (vvvv !== 0) ctx |= CTX.VVVV_USED;
  s.vectorLength = l !== 0 ? 256 : 128;
  s.ctx = ctx;
  return map + 3; // VEX 1-3 -> 4-6, XOP 8-A -> 11-13
}
