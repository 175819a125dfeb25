/**
 * The decoded form of one instruction: a flat, caller-owned record of numbers. `decode` overwrites
 * every field, so one record can be reused for every instruction without allocating.
 *
 * Numbers that can exceed 32 bits in 64-bit mode (IP, branch target, displacement, 64-bit immediate)
 * come as a low and a high unsigned 32-bit half; in 16- and 32-bit code the `Hi` halves are 0.
 */
export class Instruction {
  /** `Code.*`: one value per encoding (`Add_rm32_r32`); `Code.INVALID` (0) when decoding failed. */
  code = 0;
  /** `Mnemonic.*` */
  mnemonic = 0;
  /** `DecodeError.*`: why `code` is INVALID; `DecodeError.None` otherwise. */
  error = 0;
  /** Length in bytes (1-15). For an invalid instruction: the bytes looked at (at least 1 when any byte was available). */
  length = 0;
  /** 16, 32 or 64: the mode the bytes were decoded in. */
  bitness = 0;
  /** Operand size in bits of the encoding (8, 16, 32, 64); 0 when the encoding has no GPR operand size. */
  opSize = 0;
  /** Effective address size in bits (16, 32, 64). */
  addrSize = 0;

  /** Low / high 32 bits of the address of the first byte. */
  ipLo = 0;
  ipHi = 0;
  /** Low / high 32 bits of the address after the instruction. */
  nextIpLo = 0;
  nextIpHi = 0;

  /** `Prefix.*` bits. */
  prefixes = 0;
  /** The segment override prefix's register (`Register.ES`...), or 0. */
  segmentPrefix = 0;

  /** Number of operands (0-5). */
  opCount = 0;
  /** `OpKind.*` of operand i. */
  readonly opKind = new Uint8Array(5);
  /** Register of operand i when `opKind[i] === OpKind.Register`, else 0. */
  readonly opRegister = new Uint16Array(5);

  /** Segment register the memory operand uses (override or default), 0 without memory operand. */
  memSegment = 0;
  /** Base register of the memory operand, 0 for none (`Register.EIP`/`RIP` for IP-relative). */
  memBase = 0;
  /** Index register, 0 for none. */
  memIndex = 0;
  /** Index scale: 1, 2, 4 or 8. */
  memScale = 1;
  /** Displacement, sign-extended to the address size; low / high 32 bits (unsigned). For RIP-relative memory it is the absolute target. */
  memDisp = 0;
  memDispHi = 0;
  /** Size in bytes of the encoded displacement (0, 1, 2, 4, 8). */
  memDispSize = 0;
  /** `MemorySize.*` of the memory operand. */
  memSize = 0;

  /** The immediate, sign-/zero-extended as the operand kind says; low / high 32 bits (unsigned). */
  imm = 0;
  immHi = 0;
  /** The second 8-bit immediate (ENTER, EXTRQ, INSERTQ). */
  imm2 = 0;

  /** Near branch target, already computed from `nextIp` and the relative offset; low / high 32 bits. */
  targetLo = 0;
  targetHi = 0;
  /** Far branch (JMP/CALL ptr16:16/32): selector and offset. */
  farSelector = 0;
  farOffset = 0;

  /** `Eflags.*` bits the instruction reads / writes / leaves undefined / always clears / always sets. */
  flagsRead = 0;
  flagsWritten = 0;
  flagsUndefined = 0;
  flagsCleared = 0;
  flagsSet = 0;
  /** `CpuFeature.*` the instruction needs. */
  cpuFeature = 0;

  /** EVEX/VEX extras: vector length in bits (0 for legacy), opmask register (`k1`-`k7`, 0 for none), zeroing-masking, broadcast. */
  vectorLength = 0;
  opMask = 0;
  zeroingMasking = false;
  broadcast = false;
  /** EVEX embedded rounding (0 none, 1 rn, 2 rd, 3 ru, 4 rz) and suppress-all-exceptions. */
  roundingControl = 0;
  suppressAllExceptions = false;

  /** Copy every field from `other` (keeps this record's arrays). */
  copyFrom(other: Instruction): void {
    Object.assign(this, { ...other, opKind: this.opKind, opRegister: this.opRegister });
    this.opKind.set(other.opKind);
    this.opRegister.set(other.opRegister);
  }
}
