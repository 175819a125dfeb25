/** What an operand is. Numeric, stable; the names follow the usual x86 decoder vocabulary. */
export const OpKind = {
  Register: 0,
  NearBranch16: 1,
  NearBranch32: 2,
  NearBranch64: 3,
  FarBranch16: 4,
  FarBranch32: 5,
  Immediate8: 6,
  /** The second 8-bit immediate (ENTER's nesting level, EXTRQ/INSERTQ). */
  Immediate8_2nd: 7,
  Immediate16: 8,
  Immediate32: 9,
  Immediate64: 10,
  Immediate8to16: 11,
  Immediate8to32: 12,
  Immediate8to64: 13,
  Immediate32to64: 14,
  MemorySegSI: 15,
  MemorySegESI: 16,
  MemorySegRSI: 17,
  MemorySegDI: 18,
  MemorySegEDI: 19,
  MemorySegRDI: 20,
  MemoryESDI: 21,
  MemoryESEDI: 22,
  MemoryESRDI: 23,
  /** ModR/M, moffs or implicit memory: see the record's `mem*` fields. */
  Memory: 24,
} as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

export const OP_KIND_NAMES: readonly string[] = Object.keys(OpKind);
