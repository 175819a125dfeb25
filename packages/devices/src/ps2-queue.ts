/** A byte FIFO between a PS/2 device and the controller: fixed capacity, no allocation. */
export class Ps2Queue {
  private readonly bytes: Uint8Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  get free(): number {
    return this.capacity - this.count;
  }

  /** Append a byte; false (and the byte dropped) when full. */
  push(byte: number): boolean {
    if (this.count >= this.capacity) return false;
    this.bytes[(this.head + this.count) % this.capacity] = byte & 0xff;
    this.count++;
    return true;
  }

  /** The next byte, or -1 when empty. */
  take(): number {
    if (this.count === 0) return -1;
    const b = this.bytes[this.head];
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return b;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** The queued bytes in order, for saved state. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.bytes[(this.head + i) % this.capacity];
    return out;
  }

  /** Replace the contents (the caller has checked the length against `capacity`). */
  load(bytes: Uint8Array): void {
    this.bytes.set(bytes);
    this.head = 0;
    this.count = bytes.length;
  }
}

/** What the 8042 sees of a device on one of its PS/2 ports. */
export interface Ps2Device {
  /** A byte the controller sends to the device (a command or its parameter). */
  write(byte: number): void;
  /** The device's bytes waiting for the controller's output buffer. */
  readonly queue: Ps2Queue;
  /** Called by the device when it has queued bytes (the controller refills its output buffer). */
  onData: (() => void) | undefined;
}

/** PS/2 device replies common to keyboard and mouse. */
export const PS2_ACK = 0xfa;
export const PS2_RESEND = 0xfe;
export const PS2_SELF_TEST_PASSED = 0xaa;
