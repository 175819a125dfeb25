/**
 * The decode context word: what the decoder knows after the prefixes and the ModR/M byte, packed so
 * that a table entry matches when `(context & mask) === value`. The decoder builds the same word;
 * these numbers are emitted into the generated tables so both sides share them.
 */
export const CTX = {
  /** 2 bits: mandatory prefix 0 none, 1 66, 2 F3, 3 F2 */
  MP_SHIFT: 0,
  /** 2 bits: operand size 0=16, 1=32, 2=64 (66 and REX.W applied) */
  OSZ_SHIFT: 2,
  /** 2 bits: operand size of instructions that default to 64 bits in 64-bit mode */
  OSZD_SHIFT: 4,
  /** 2 bits: address size 0=16, 1=32, 2=64 */
  ASZ_SHIFT: 6,
  /** 2 bits: mode 0=16, 1=32, 2=64 */
  MODE_SHIFT: 8,
  /** REX.W / VEX.W / EVEX.W */
  W: 1 << 10,
  /** ModR/M.mod = 3 (register form) */
  MOD3: 1 << 11,
  /** 3 bits: ModR/M.rm */
  RM_SHIFT: 12,
  /** 2 bits: encoding 0 legacy, 1 VEX, 2 EVEX, 3 XOP */
  ENC_SHIFT: 15,
  /** 2 bits: VEX.L / EVEX.L'L */
  L_SHIFT: 17,
  /** EVEX.b */
  EVEX_B: 1 << 19,
  /** REX.B (opcode-register forms such as 90: NOP vs XCHG r8,rax) */
  REX_B: 1 << 20,
  /** A REX prefix is present */
  REX: 1 << 21,
  /** VEX/EVEX/XOP.vvvv names a register (is not 1111b) */
  VVVV_USED: 1 << 22,
} as const;

/** Bits of a table entry's attributes. */
export const ATTR = {
  /** LOCK is allowed (with a memory destination). */
  LOCK: 1 << 0,
  /** F3 is REP (INS/OUTS/MOVS/LODS/STOS). */
  REP: 1 << 1,
  /** F3/F2 are REPE/REPNE (CMPS/SCAS). */
  REPE: 1 << 2,
  /** XACQUIRE/XRELEASE with LOCK. */
  HLE: 1 << 3,
  /** XRELEASE without LOCK (MOV to memory). */
  XRELEASE_NOLOCK: 1 << 4,
  /** LOCK is allowed with a register destination too (MOV CR8 through LOCK, AMD). */
  LOCK_REG: 1 << 7,
  /** The ModR/M mod field is ignored: rm is always a register (MOV CR/DR/TR). */
  MOD_IGNORED: 1 << 8,
  /** XACQUIRE/XRELEASE without LOCK on a memory operand (XCHG locks implicitly). */
  HLE_MEM: 1 << 9,
  /** Shift/rotate by an 8-bit immediate: a masked count of 0 leaves the flags alone, above 1 leaves OF undefined. */
  SHIFT_IMM: 1 << 10,
} as const;

/** Bits of an EVEX entry's facts (DEF_EVEX). */
export const EVEX_ATTR = {
  /** 3 bits: log2 of the disp8 scale N (SDM vol. 2, 2.7.5). */
  N_MASK: 7,
  /** EVEX.aaa may name an opmask register. */
  K: 1 << 3,
  /** EVEX.z (zeroing-masking) is allowed. */
  Z: 1 << 4,
  /** EVEX.aaa must not be 0 (gathers, scatters). */
  KREQ: 1 << 5,
  /** EVEX.b with a memory operand broadcasts one element. */
  BCST: 1 << 6,
  /** EVEX.b with a register operand selects a rounding mode (L'L is the mode). */
  ER: 1 << 7,
  /** EVEX.b with a register operand suppresses exceptions. */
  SAE: 1 << 8,
  /** 2 bits: log2 of the broadcast element size. */
  BCST_LOG2_SHIFT: 9,
  /** EVEX.V' may be set: an operand uses vvvv or a VSIB index (else V' must be 0, inverted 1). */
  V2_USED: 1 << 11,
  /** The destination register must differ from the source registers (complex FP16 multiplies). */
  DST_UNIQUE: 1 << 12,
} as const;
