import { CTX, DEF_MASK, DEF_VALUE, SLOT_DEFS, SLOT_START } from './generated/opcode-table.js';

/**
 * The generated slot lists (every entry of an opcode byte and ModR/M.reg, most specific first),
 * rebuilt once per CPU mode for the hot path: entries that cannot match in the mode are dropped, and
 * the entry a prefix-less instruction of the mode picks is moved to the front where that cannot change
 * which entry matches first (it only passes entries no context can match together with it). Each
 * entry is stored as (mask, value, entry) so a scan reads one array.
 */
export interface SlotTable {
  /** slot -> first index into `match` (in entries of three numbers); the slot ends where the next begins. */
  start: Uint32Array;
  match: Int32Array;
}

const MODE_BITS = 3 << CTX.MODE_SHIFT;
/** Context bits that tell a plain instruction of the mode (no prefixes) from others. */
const PLAIN_BITS =
  (3 << CTX.MP_SHIFT) | (3 << CTX.OSZ_SHIFT) | (3 << CTX.OSZD_SHIFT) | (3 << CTX.ASZ_SHIFT) | MODE_BITS | CTX.W | CTX.REX | (3 << CTX.ENC_SHIFT);

function plainContext(mode: number): number {
  const osz = mode === 0 ? 0 : 1;
  const oszD = mode === 2 ? 2 : osz;
  return (osz << CTX.OSZ_SHIFT) | (oszD << CTX.OSZD_SHIFT) | (mode << CTX.ASZ_SHIFT) | (mode << CTX.MODE_SHIFT);
}

export function buildSlotTable(mode: number): SlotTable {
  const slots = SLOT_START.length - 1;
  const start = new Uint32Array(slots + 1);
  const match: number[] = [];
  const plain = plainContext(mode);
  const modeCtx = mode << CTX.MODE_SHIFT;
  for (let slot = 0; slot < slots; slot++) {
    start[slot] = match.length / 3;
    const list: number[] = [];
    for (let i = SLOT_START[slot] ?? 0; i < (SLOT_START[slot + 1] ?? 0); i++) {
      const d = SLOT_DEFS[i] ?? 0;
      const m = DEF_MASK[d] ?? 0;
      if (((DEF_VALUE[d] ?? 0) ^ modeCtx) & m & MODE_BITS) continue;
      list.push(d);
    }
    const preferred = (d: number): boolean => ((plain ^ (DEF_VALUE[d] ?? 0)) & (DEF_MASK[d] ?? 0) & PLAIN_BITS) === 0;
    const overlap = (a: number, b: number): boolean => (((DEF_VALUE[a] ?? 0) ^ (DEF_VALUE[b] ?? 0)) & (DEF_MASK[a] ?? 0) & (DEF_MASK[b] ?? 0)) === 0;
    for (let i = 1; i < list.length; i++) {
      for (let j = i; j > 0; j--) {
        const a = list[j] ?? 0;
        const b = list[j - 1] ?? 0;
        if (!preferred(a) || preferred(b) || overlap(a, b)) break;
        list[j] = b;
        list[j - 1] = a;
      }
    }
    for (const d of list) match.push(DEF_MASK[d] ?? 0, DEF_VALUE[d] ?? 0, d);
  }
  start[slots] = match.length / 3;
  return { start, match: Int32Array.from(match) };
}
