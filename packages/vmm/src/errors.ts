/** What went wrong, as a stable machine-readable code. */
export type VmmErrorCode =
  | 'InvalidArgument'
  | 'InvalidConfig';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class VmmError extends Error {
  override readonly name = 'VmmError';
  readonly code: VmmErrorCode;

  constructor(code: VmmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
