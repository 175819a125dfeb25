import type { DeviceState } from './device.js';
import type { StateReader } from './device.js';
import type { Ps2Device } from './ps2-queue.js';
import { PS2_ACK, PS2_RESEND, PS2_SELF_TEST_PASSED, Ps2Queue } from './ps2-queue.js';

/**
 * The 8042's scan code translation (IBM PC/AT technical reference; the same table every PC
 * controller implements): set 2 code -> set 1 code. Codes 0x80 and up pass through except 0x83 (F7)
 * and 0x84 (SysRq). A set 2 break prefix 0xF0 is folded into bit 7 of the next code.
 */
export const SET2_TO_SET1 = new Uint8Array(256);
SET2_TO_SET1.set([
  0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
  0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
  0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
  0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
  0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
  0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
  0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
  0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
]);
for (let i = 0x80; i < 256; i++) SET2_TO_SET1[i] = i;
SET2_TO_SET1[0x83] = 0x41;
SET2_TO_SET1[0x84] = 0x54;
/** The set 2 break prefix. */
export const SET2_BREAK = 0xf0;

// Keyboard commands (IBM PS/2 keyboard technical reference).
const KBD_SET_LEDS = 0xed;
const KBD_ECHO = 0xee;
const KBD_SCAN_SET = 0xf0;
const KBD_IDENTIFY = 0xf2;
const KBD_TYPEMATIC = 0xf3;
const KBD_ENABLE = 0xf4;
const KBD_DISABLE = 0xf5;
const KBD_DEFAULTS = 0xf6;
const KBD_SET3_FIRST = 0xf7;
const KBD_SET3_LAST = 0xfd;
const KBD_RESEND = 0xfe;
const KBD_RESET = 0xff;
/** MF2 keyboard identification bytes. */
const KBD_ID = [0xab, 0x83] as const;
const DEFAULT_TYPEMATIC = 0x2b; // 10.9 characters/s after 500 ms
/** Bytes the keyboard buffers for the controller. */
export const KEYBOARD_QUEUE_SIZE = 256;

/**
 * A PS/2 (MF2) keyboard on the 8042's first port. It speaks scan code set 2 natively; the
 * controller translates to set 1 when its command byte asks. A guest selecting set 1 gets set 1
 * codes from the keyboard itself; set 3 is accepted but the keys still send set 2 codes.
 */
export class Ps2Keyboard implements Ps2Device {
  readonly queue = new Ps2Queue(KEYBOARD_QUEUE_SIZE);
  onData: (() => void) | undefined;
  private scanning = true;
  private scanSet = 2;
  private leds = 0;
  private typematic = DEFAULT_TYPEMATIC;
  /** A command waiting for its parameter byte, or 0. */
  private pending = 0;
  private lastSent = PS2_ACK;

  /** The LED bits the guest set (bit 0 Scroll Lock, 1 Num Lock, 2 Caps Lock). */
  get ledState(): number {
    return this.leds;
  }

  /** Host key events as set 2 bytes (make codes, F0-prefixed breaks, E0/E1 prefixes). */
  sendScancodes(bytes: ArrayLike<number>): void {
    if (!this.scanning) return;
    let breakNext = false;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] & 0xff;
      if (this.scanSet !== 1) {
        this.send(b);
      } else if (b === SET2_BREAK) {
        breakNext = true;
      } else {
        this.send(SET2_TO_SET1[b] | (breakNext ? 0x80 : 0));
        breakNext = false;
      }
    }
    this.onData?.();
  }

  write(byte: number): void {
    const pending = this.pending;
    this.pending = 0;
    if (pending === KBD_SET_LEDS) {
      this.leds = byte & 7;
      this.send(PS2_ACK);
    } else if (pending === KBD_TYPEMATIC) {
      this.typematic = byte & 0x7f;
      this.send(PS2_ACK);
    } else if (pending === KBD_SCAN_SET) {
      if (byte === 0) {
        this.send(PS2_ACK);
        this.send(this.scanSet);
      } else if (byte >= 1 && byte <= 3) {
        this.scanSet = byte;
        this.send(PS2_ACK);
      } else {
        this.send(PS2_RESEND);
      }
    } else {
      this.command(byte);
    }
    this.onData?.();
  }

  private command(byte: number): void {
    switch (byte) {
      case KBD_SET_LEDS:
      case KBD_TYPEMATIC:
      case KBD_SCAN_SET:
        this.pending = byte;
        this.send(PS2_ACK);
        break;
      case KBD_ECHO:
        this.send(KBD_ECHO);
        break;
      case KBD_IDENTIFY:
        this.send(PS2_ACK);
        this.send(KBD_ID[0]);
        this.send(KBD_ID[1]);
        break;
      case KBD_ENABLE:
        this.queue.clear();
        this.scanning = true;
        this.send(PS2_ACK);
        break;
      case KBD_DISABLE:
        this.defaults();
        this.scanning = false;
        this.send(PS2_ACK);
        break;
      case KBD_DEFAULTS:
        this.defaults();
        this.send(PS2_ACK);
        break;
      case KBD_RESEND:
        this.queue.push(this.lastSent);
        break;
      case KBD_RESET:
        this.queue.clear();
        this.defaults();
        this.scanning = true;
        this.send(PS2_ACK);
        this.send(PS2_SELF_TEST_PASSED);
        break;
      default:
        if (byte >= KBD_SET3_FIRST && byte <= KBD_SET3_LAST) this.send(PS2_ACK);
        else this.send(PS2_RESEND);
    }
  }

  private defaults(): void {
    this.scanSet = 2;
    this.typematic = DEFAULT_TYPEMATIC;
    this.leds = 0;
  }

  private send(byte: number): void {
    this.lastSent = byte;
    this.queue.push(byte);
  }

  reset(): void {
    this.queue.clear();
    this.defaults();
    this.scanning = true;
    this.pending = 0;
    this.lastSent = PS2_ACK;
  }

  saveState(): DeviceState {
    return {
      version: 1,
      queue: this.queue.toBytes(),
      scanning: this.scanning,
      scanSet: this.scanSet,
      leds: this.leds,
      typematic: this.typematic,
      pending: this.pending,
      lastSent: this.lastSent,
    };
  }

  /**
   * Reads and checks every field of a saved keyboard; the returned function applies them, so the
   * controller can validate both of its ports before changing either.
   */
  static readState(r: StateReader): (kbd: Ps2Keyboard) => void {
    const queue = r.bytes('queue', KEYBOARD_QUEUE_SIZE, false);
    const scanning = r.bool('scanning');
    const scanSet = r.int('scanSet', 1, 3);
    const leds = r.int('leds', 0, 7);
    const typematic = r.int('typematic', 0, 0x7f);
    const pending = r.int('pending', 0, 0xff);
    if (pending !== 0 && pending !== KBD_SET_LEDS && pending !== KBD_TYPEMATIC && pending !== KBD_SCAN_SET) {
      r.fail('pending', `is not a command that takes a parameter (0x${pending.toString(16)})`);
    }
    const lastSent = r.int('lastSent', 0, 0xff);
    return (kbd) => {
      kbd.queue.load(queue);
      Object.assign(kbd, { scanning, scanSet, leds, typematic, pending, lastSent });
    };
  }
}
