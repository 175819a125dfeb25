/** What went wrong, as a stable machine-readable code. */
export type CpuErrorCode =
  | 'InvalidArgument'
  | 'InvalidState'
  | 'UnknownModel';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class CpuError extends Error {
  override readonly name = 'CpuError';
  readonly code: CpuErrorCode;

  constructor(code: CpuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
