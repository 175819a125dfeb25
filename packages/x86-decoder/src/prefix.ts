/** Bits of `Instruction.prefixes`: which prefixes the instruction carries and uses. */
export const Prefix = {
  /** F0 */
  Lock: 1 << 0,
  /** F3 used as REP/REPE (string instructions) or present without a mandatory-prefix role. */
  Rep: 1 << 1,
  /** F2 used as REPNE or present without a mandatory-prefix role. */
  Repne: 1 << 2,
  /** 66 present. */
  OperandSize: 1 << 3,
  /** 67 present. */
  AddressSize: 1 << 4,
  /** A segment override (see `segmentPrefix`). */
  Segment: 1 << 5,
  /** A REX prefix (64-bit mode). */
  Rex: 1 << 6,
  /** F2 with LOCK on an instruction that accepts XACQUIRE. */
  Xacquire: 1 << 7,
  /** F3 with LOCK (or MOV to memory) on an instruction that accepts XRELEASE. */
  Xrelease: 1 << 8,
} as const;
export type Prefix = (typeof Prefix)[keyof typeof Prefix];

/** EFLAGS bits, at their architectural positions (Intel SDM vol. 1, 3.4.3). */
export const Eflags = {
  CF: 1 << 0,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  NT: 1 << 14,
  RF: 1 << 16,
  VM: 1 << 17,
  AC: 1 << 18,
  VIF: 1 << 19,
  VIP: 1 << 20,
  ID: 1 << 21,
} as const;
export type Eflags = (typeof Eflags)[keyof typeof Eflags];
