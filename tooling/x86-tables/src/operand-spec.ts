/**
 * The operand vocabulary of the opcode table, as the numbers the decoder's operand loop switches on.
 * A spec is `group << 8 | detail`: groups 1-5 carry a register class in `detail`, group 0 holds the
 * special operands, and values from FIXED up name one fixed register (`FIXED + register`).
 */
export const OPERAND_SPEC_GROUPS = {
  /** ModR/M.reg (+REX.R/EVEX.R') selects a register of the class. */
  Reg: 1,
  /** ModR/M.rm: a register of the class (mod = 3) or memory. */
  Rm: 2,
  /** VEX/EVEX/XOP.vvvv selects a register of the class. */
  Vvvv: 3,
  /** The opcode's low three bits (+REX.B) select a register of the class. */
  OpReg: 4,
  /** Bits 7:4 of an 8-bit immediate select a register of the class. */
  Is4: 5,
  /** VSIB memory (ModR/M + SIB): SIB.index selects a vector register of the class. */
  Vsib: 6,
} as const;

/** Special operands (group 0). */
export const SPECIAL_SPECS = {
  None: 0,
  Mem: 1,
  Imm8: 2,
  Imm16: 3,
  Imm32: 4,
  Imm64: 5,
  Imm8to16: 6,
  Imm8to32: 7,
  Imm8to64: 8,
  Imm32to64: 9,
  Imm8Second: 10,
  ImmOne: 11,
  Rel8: 12,
  Rel16: 13,
  Rel32: 14,
  Ptr1616: 15,
  Ptr1632: 16,
  Moffs: 17,
  StrSrc: 18,
  StrDst: 19,
  Xlat: 20,
  /** XBEGIN's relative offset: the target has the mode's size whatever the operand size. */
  XbeginRel16: 21,
  XbeginRel32: 22,
} as const;

/** First fixed-register spec: `FIXED_SPEC_BASE + register value`. */
export const FIXED_SPEC_BASE = 0x1000;
