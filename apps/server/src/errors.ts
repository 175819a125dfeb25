/** What went wrong, as a stable machine-readable code. */
export type ServerErrorCode =
  | 'Usage';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  readonly code: ServerErrorCode;

  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
