/** What went wrong, as a stable machine-readable code. */
export type CliErrorCode =
  | 'Usage'
  /** A host file the command writes (a snapshot, a log) could not be written. */
  | 'HostIo';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
