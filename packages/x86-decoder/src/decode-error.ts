/** Why a decode produced `Code.INVALID`. */
export const DecodeError = {
  None: 0,
  /** The bytes are not a valid instruction (unknown opcode, forbidden prefix, wrong operand form). */
  InvalidInstruction: 1,
  /** The input ended before the instruction did. */
  NoMoreBytes: 2,
  /** The instruction would be longer than 15 bytes. */
  TooLong: 3,
} as const;
export type DecodeError = (typeof DecodeError)[keyof typeof DecodeError];

export const DECODE_ERROR_NAMES: readonly string[] = Object.keys(DecodeError);
