/** What went wrong, as a stable machine-readable code. */
export type LabErrorCode =
  | 'Usage'
  /** A MOO test file is truncated or malformed. */
  | 'BadMooFile'
  /** A test-set metadata or revocation file is malformed. */
  | 'BadMetadata'
  /** A file or folder could not be read. */
  | 'Io';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class LabError extends Error {
  override readonly name = 'LabError';
  readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
