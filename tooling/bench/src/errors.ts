/** Why the benchmark could not run (bad flags, missing files or tools), as opposed to a peer that ran and failed. */
export type BenchErrorCode = 'Usage' | 'MissingFile' | 'MissingTool' | 'PeerFailed';

export class BenchError extends Error {
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
    this.code = code;
  }
}
