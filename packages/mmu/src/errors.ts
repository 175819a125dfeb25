/** What went wrong, as a stable machine-readable code. */
export type MemoryErrorCode =
  | 'InvalidArgument'
  | 'Overlap'
  | 'OutOfRange'
  | 'InvalidState';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class MemoryError extends Error {
  override readonly name = 'MemoryError';
  readonly code: MemoryErrorCode;

  constructor(code: MemoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
