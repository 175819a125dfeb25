/** What went wrong, as a stable machine-readable code. */
export type DeviceErrorCode =
  | 'InvalidArgument'
  | 'PortConflict'
  | 'InvalidState';

/** The one error type this package throws: a `code` to branch on, a message that says what and where, and the `cause`. */
export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  readonly code: DeviceErrorCode;

  constructor(code: DeviceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
