/** What the guest's /init prints (guests/linux/init.sh, `tsvm.mode=bench`). */
export const MARKER = 'TSVM-LINUX-MARKER';
export const JOB_DONE = 'TSVM-LINUX-JOB-DONE';
const JOB_DONE_RE = /TSVM-LINUX-JOB-DONE: (\d+) ms of guest time/;
const LAST_LINES = 4;

export type GuestEvent = 'marker' | 'done';

/**
 * Splits the bytes of the guest's serial console into lines and reports the two milestones: the
 * marker at the start of /init and the end of the job (with the job's duration as the guest measured
 * it). Keeps the last few lines so a peer that stops early can say where it was.
 */
export class GuestOutput {
  /** The job's duration by the guest's own clock (from the JOB-DONE line), ms. */
  guestJobMs: number | null = null;
  private line: number[] = [];
  private readonly last: string[] = [];
  private seenMarker = false;
  private seenDone = false;

  constructor(private readonly onEvent: (event: GuestEvent) => void) {}

  push(byte: number): void {
    if (byte === 0x0a) {
      this.endLine();
    } else if (byte !== 0x0d && this.line.length < 4096) {
      this.line.push(byte);
    }
  }

  pushBytes(bytes: Uint8Array): void {
    for (const b of bytes) this.push(b);
  }

  /** The last complete lines and the one being written, without terminal escape sequences. */
  lastLines(): string[] {
    const partial = clean(this.line);
    return partial === '' ? [...this.last] : [...this.last, partial];
  }

  private endLine(): void {
    const text = clean(this.line);
    this.line = [];
    if (text !== '') {
      this.last.push(text);
      if (this.last.length > LAST_LINES) this.last.shift();
    }
    if (!this.seenMarker && text.includes(MARKER)) {
      this.seenMarker = true;
      this.onEvent('marker');
    }
    if (!this.seenDone && text.includes(JOB_DONE)) {
      this.seenDone = true;
      const m = JOB_DONE_RE.exec(text);
      if (m !== null) this.guestJobMs = Number(m[1]);
      this.onEvent('done');
    }
  }
}

// CSI sequences (SeaBIOS and the kernel clear the screen) and other control characters.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g;

function clean(bytes: number[]): string {
  return Buffer.from(bytes).toString('latin1').replace(CONTROL_RE, '').trim();
}

/**
 * A running total of a 32-bit counter that wraps (v86's `get_instruction_counter()`): correct as long
 * as it is sampled at least once every 2^32 counts.
 */
export class WrappingCounter {
  private last: number;
  private sum = 0;

  constructor(initial = 0) {
    this.last = initial >>> 0;
  }

  sample(raw: number): number {
    const now = raw >>> 0;
    this.sum += (now - this.last) >>> 0;
    this.last = now;
    return this.sum;
  }

  get total(): number {
    return this.sum;
  }
}
