/** What went wrong, as a stable machine-readable code. */
export type StorageErrorCode =
  | 'InvalidArgument'
  | 'OutOfRange'
  | 'ReadOnly'
  | 'Closed'
  | 'CorruptHeader'
  | 'CorruptTable'
  | 'Truncated'
  | 'Unsupported'
  | 'Io'
  /** A backing chain that loops or is deeper than the limit, or a backing file that cannot be used. */
  | 'BackingChain';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
