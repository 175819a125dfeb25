/**
 * Collects guest output bytes (one call per byte from the UART) and writes them to a stream in
 * chunks: at most once per event-loop turn, or when the buffer fills.
 */
export class ByteSink {
  private buffer = new Uint8Array(16384);
  private length = 0;
  private scheduled = false;

  private closed = false;
  private readonly onError = (): void => {
    // The reader went away (EPIPE, a full disk): drop further output and tell the owner once.
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
  };

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly onClose?: () => void,
  ) {
    stream.on('error', this.onError);
  }

  /** Stops listening for the stream's errors (after the last flush). */
  detach(): void {
    this.stream.off('error', this.onError);
  }

  /** For `uart.setSink`. */
  readonly push = (byte: number): void => {
    if (this.length === this.buffer.length) this.flush();
    this.buffer[this.length++] = byte;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  };

  flush(): void {
    this.scheduled = false;
    if (this.length === 0) return;
    if (this.closed) {
      this.length = 0;
      return;
    }
    this.stream.write(Buffer.from(this.buffer.subarray(0, this.length)));
    this.length = 0;
  }
}
