import type { Machine } from '@tsvm/vmm';

/** Ctrl-A, QEMU's escape character on a stdio console. */
export const ESCAPE = 0x01;
export const ESCAPE_HELP =
  '\r\nC-a x    exit\r\nC-a h    print this help\r\nC-a C-a  send C-a to the guest\r\n';
const RETRY_MS = 10;

interface TtyIn {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

/**
 * Connects stdin to a guest UART the way QEMU's `-serial stdio` does: the terminal in raw mode when it
 * is one (so keys such as Ctrl-C go to the guest), and Ctrl-A escapes for the host (`C-a x` exits).
 * Input the UART's host queue cannot take yet is kept and offered again shortly.
 */
export class SerialConsole {
  private escaped = false;
  private pending: number[] = [];
  private retry: NodeJS.Timeout | undefined;
  private rawSet = false;
  private readonly onData = (chunk: Buffer | string): void => this.input(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  /** A terminal hang-up or kill request ends the run cleanly, so the terminal leaves raw mode. */
  private readonly onSignal = (): void => this.machine.stop();
  private readonly onEnd = (): void => {
    this.machine.waitForInput = false;
    this.machine.wake();
  };

  constructor(
    private readonly machine: Machine,
    private readonly stdin: NodeJS.ReadableStream,
    private readonly stderr: NodeJS.WritableStream,
    private readonly port = 0,
  ) {}

  /** Starts reading stdin (raw mode on a TTY). Call `close()` when the run ends. */
  open(): void {
    const tty = this.stdin as TtyIn;
    if (tty.isTTY === true && typeof tty.setRawMode === 'function') {
      tty.setRawMode(true);
      this.rawSet = true;
      process.on('SIGTERM', this.onSignal);
      process.on('SIGHUP', this.onSignal);
    }
    this.machine.waitForInput = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('end', this.onEnd);
    this.stdin.resume();
  }

  close(): void {
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.pause();
    if (this.retry !== undefined) clearTimeout(this.retry);
    if (this.rawSet) {
      (this.stdin as TtyIn).setRawMode?.(false);
      process.off('SIGTERM', this.onSignal);
      process.off('SIGHUP', this.onSignal);
    }
    this.rawSet = false;
  }

  /** Handles host input bytes: escapes first, the rest to the guest. */
  input(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.escaped) {
        this.escaped = false;
        if (b === 0x78 /* x */ || b === 0x58) {
          this.machine.stop();
          return;
        }
        if (b === 0x68 /* h */ || b === 0x3f) this.stderr.write(ESCAPE_HELP);
        else if (b === ESCAPE) this.pending.push(ESCAPE);
        continue;
      }
      if (b === ESCAPE) this.escaped = true;
      else this.pending.push(b);
    }
    this.deliver();
  }

  private deliver(): void {
    if (this.pending.length === 0) return;
    const taken = this.machine.serial(this.port).receive(this.pending);
    this.pending = this.pending.slice(taken);
    this.machine.wake();
    if (this.pending.length > 0 && this.retry === undefined) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.deliver();
      }, RETRY_MS);
    }
  }
}
