import type { Uart16550 } from '@tsvm/devices';

/** Longest line kept for matching; a longer one is matched in pieces of this size. */
export const MAX_WATCHED_LINE = 1024;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines (LF ends one, CR is dropped) and hands each to `onLine`. Bounded:
 * a line longer than MAX_WATCHED_LINE is handed over in pieces, so a guest cannot grow host memory.
 */
export class LineSplitter {
  private readonly buffer = new Uint8Array(MAX_WATCHED_LINE);
  private length = 0;

  constructor(private readonly onLine: (line: string) => void) {}

  push(byte: number): void {
    if (byte === LF) {
      this.flush();
      return;
    }
    if (byte === CR) return;
    this.buffer[this.length++] = byte;
    if (this.length === MAX_WATCHED_LINE) this.flush();
  }

  private flush(): void {
    const line = Buffer.from(this.buffer.buffer, 0, this.length).toString('latin1');
    this.length = 0;
    this.onLine(line);
  }
}

/**
 * Sends every byte a UART transmits through `splitter` as well as to the host's sink. The host
 * keeps calling `uart.setSink` as before; the watch stays in front of whatever sink it sets.
 */
export function watchUartOutput(uart: Uart16550, splitter: LineSplitter): void {
  const setHostSink = uart.setSink.bind(uart);
  let host: ((byte: number) => void) | undefined;
  setHostSink((byte) => {
    splitter.push(byte);
    host?.(byte);
  });
  uart.setSink = (sink) => {
    host = sink;
  };
}
