/** What went wrong, as a stable machine-readable code. */
export type DecoderErrorCode =
  | 'InvalidArgument';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class DecoderError extends Error {
  override readonly name = 'DecoderError';
  readonly code: DecoderErrorCode;

  constructor(code: DecoderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
