/**
 * How the 8086 reads bytes the later decoders treat differently (SingleStepTests 8086 metadata;
 * Intel 8086 Family User's Manual). The 8086 has no invalid opcodes: several rows are aliases.
 */

/** The longest instruction the decoder accepts. */
export const MAX_INSN = 15;

const MODRM_REG = 0x38;

function isPrefix(b: number): boolean {
  return b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || (b >= 0xf0 && b <= 0xf3);
}

/** How many LOCK prefixes the last `rewrite8086` removed (they add to the instruction's length). */
export let removedLocks = 0;

/**
 * Rewrites the aliases in `bytes` (in place) to the opcodes they alias and returns the index of the
 * opcode byte. LOCK (F0, and its alias F1) only drives the bus LOCK pin on the 8086 and is valid on
 * any instruction, so it is removed before decoding (see `removedLocks`); 60-6F are Jcc (70-7F);
 * C0/C1 are RET imm/RET; C8/C9 are RETF imm/RETF; FF /7 is PUSH (FF /6); 8C/8E decode only two bits
 * of the segment field; 8F, C6 and C7 ignore reg.
 */
export function rewrite8086(bytes: Uint8Array): number {
  let p = 0;
  removedLocks = 0;
  while (p < MAX_INSN - 2 && isPrefix(bytes[p])) {
    if (bytes[p] === 0xf0 || bytes[p] === 0xf1) {
      bytes.copyWithin(p, p + 1);
      removedLocks++;
      continue;
    }
    p++;
  }
  const b = bytes[p];
  const modrm = bytes[p + 1];
  if (b >= 0x60 && b <= 0x6f) bytes[p] = b + 0x10;
  else if (b === 0xc0 || b === 0xc1) bytes[p] = b + 2;
  else if (b === 0xc8 || b === 0xc9) bytes[p] = b + 2;
  else if (b === 0xff && (modrm & MODRM_REG) === 0x38) bytes[p + 1] = (modrm & ~MODRM_REG) | 0x30;
  else if (b === 0x8c || b === 0x8e) bytes[p + 1] = modrm & ~0x20;
  else if (b === 0x8f || b === 0xc6 || b === 0xc7) bytes[p + 1] = modrm & ~MODRM_REG;
  return p;
}

/** Length of an instruction the decoder rejects: ESC (D8-DF) and other ModR/M forms, 16-bit addressing. */
export function length8086(bytes: Uint8Array, p: number): number {
  const b = bytes[p];
  const hasModrm = (b >= 0xd8 && b <= 0xdf) || b === 0x8d || b === 0xc4 || b === 0xc5 || b === 0xfe || b === 0xff;
  if (!hasModrm) return p + 1;
  const modrm = bytes[p + 1];
  const mod = modrm >> 6;
  const disp = mod === 1 ? 1 : mod === 2 ? 2 : mod === 0 && (modrm & 7) === 6 ? 2 : 0;
  return p + 2 + disp;
}
