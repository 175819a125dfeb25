/** What went wrong, as a stable machine-readable code. */
export type VmmErrorCode =
  | 'InvalidArgument'
  | 'InvalidConfig'
  /** A boot image (ROM, kernel, initrd, module) is not what it claims to be or does not fit. */
  | 'InvalidImage'
  /** The guest does not fit in the machine's memory. */
  | 'OutOfMemory'
  /** A host file could not be read. */
  | 'FileUnreadable'
  /** `run()` was called while the machine was already running. */
  | 'Busy'
  /** A snapshot file is damaged: bad magic, checksum, structure or contents. */
  | 'SnapshotCorrupt'
  /** A snapshot was written in a format version this package does not read. */
  | 'SnapshotVersion'
  /** A snapshot belongs to a different machine (memory size, CPU model, device set, boot image). */
  | 'SnapshotMismatch';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class VmmError extends Error {
  override readonly name = 'VmmError';
  readonly code: VmmErrorCode;

  constructor(code: VmmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
