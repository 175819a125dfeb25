import { CTX } from './generated/opcode-table.js';
import { DecodeError } from './decode-error.js';
import { type DecodeState, readByte } from './state.js';

/**
 * Parse the three payload bytes of an EVEX prefix (62 P0 P1 P2, SDM vol. 2, 2.7.1). Fills the
 * state's register-extension bits, vvvv/V', z, b, aaa and L'L, returns the opcode map (7 = 0F, 8 =
 * 0F38, 9 = 0F3A, 14 = map 5, 15 = map 6: the table's EVEX maps) and updates `s.ctx`; -1 with `s.error` set when the prefix
 * is invalid or cut short.
 */
export function parseEvex(s: DecodeState, ctxIn: number): number {
  let ctx = ctxIn & ~((3 << CTX.MP_SHIFT) | (3 << CTX.OSZ_SHIFT) | (3 << CTX.OSZD_SHIFT) | CTX.W | CTX.REX | CTX.REX_B);
  const p0 = readByte(s);
  if (p0 < 0) return -1;
  const p1 = readByte(s);
  if (p1 < 0) return -1;
  const p2 = readByte(s);
  if (p2 < 0) return -1;
  const map = p0 & 7;
  // P0 bit 3 is reserved (0) and P1 bit 2 is fixed (1); maps 1-3, 5 and 6 (AVX512-FP16) exist.
  if ((p0 & 0x08) !== 0 || (p1 & 4) === 0 || map === 0 || map === 4 || map === 7) {
    // The opcode and ModR/M bytes still belong to the (invalid) instruction.
    if (readByte(s) >= 0) readByte(s);
    if (s.error === 0) s.error = DecodeError.InvalidInstruction;
    return -1;
  }
  const w = p1 >> 7;
  let vvvv = (~p1 >> 3) & 15;
  let v2 = (~p2 >> 3) & 1;
  if (s.mode === 2) {
    s.rexR = (~p0 >> 7) & 1;
    s.rexX = (~p0 >> 6) & 1;
    s.rexB = (~p0 >> 5) & 1;
    s.evexRp = (~p0 >> 4) & 1;
    s.evexX = s.rexX;
  } else {
    // Outside 64-bit mode only eight registers exist: R, X, B, R', V' and vvvv bit 3 are ignored.
    s.rexR = 0;
    s.rexX = 0;
    s.rexB = 0;
    s.evexRp = 0;
    s.evexX = 0;
    vvvv &= 7;
    v2 = 0;
  }
  s.rexW = w;
  s.rex = 0;
  s.vvvv = vvvv;
  s.evexV2 = v2;
  s.evexZ = p2 >> 7;
  s.evexLL = (p2 >> 5) & 3;
  s.evexB = (p2 >> 4) & 1;
  s.evexAaa = p2 & 7;
  s.enc = 2;
  const osz = s.mode === 2 && w !== 0 ? 2 : 1;
  ctx |= (p1 & 3) << CTX.MP_SHIFT;
  ctx |= (osz << CTX.OSZ_SHIFT) | (osz << CTX.OSZD_SHIFT);
  ctx |= (2 << CTX.ENC_SHIFT) | (s.evexLL << CTX.L_SHIFT);
  if (w !== 0) ctx |= CTX.W;
  // V' is checked per entry: it extends vvvv, or a VSIB index.
  if (vvvv !== 0) ctx |= CTX.VVVV_USED;
  s.vectorLength = 128 << s.evexLL;
  s.ctx = ctx;
  return map < 4 ? map + 6 : map + 9; // 0F, 0F38, 0F3A -> 7-9; maps 5, 6 -> 14, 15
}
