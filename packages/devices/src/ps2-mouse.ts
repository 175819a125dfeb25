import type { DeviceState, StateReader } from './device.js';
import type { Ps2Device } from './ps2-queue.js';
import { PS2_ACK, PS2_RESEND, PS2_SELF_TEST_PASSED, Ps2Queue } from './ps2-queue.js';

// PS/2 mouse commands (IBM PS/2 mouse technical reference; IntelliMouse extension).
const MOUSE_SCALING_1_1 = 0xe6;
const MOUSE_SCALING_2_1 = 0xe7;
const MOUSE_SET_RESOLUTION = 0xe8;
const MOUSE_STATUS = 0xe9;
const MOUSE_STREAM_MODE = 0xea;
const MOUSE_READ_DATA = 0xeb;
const MOUSE_RESET_WRAP = 0xec;
const MOUSE_WRAP_MODE = 0xee;
const MOUSE_REMOTE_MODE = 0xf0;
const MOUSE_GET_ID = 0xf2;
const MOUSE_SET_RATE = 0xf3;
const MOUSE_ENABLE = 0xf4;
const MOUSE_DISABLE = 0xf5;
const MOUSE_DEFAULTS = 0xf6;
const MOUSE_RESEND = 0xfe;
const MOUSE_RESET = 0xff;
/** Status byte bits: remote mode, reporting enabled, 2:1 scaling; buttons in bits 2-0 (middle, right, left). */
const STATUS_REMOTE = 0x40;
const STATUS_ENABLED = 0x20;
const STATUS_SCALING = 0x10;
/** Packet byte 0: always-one bit, X and Y sign, X and Y overflow. */
const PACKET_ALWAYS_ONE = 0x08;
const PACKET_X_SIGN = 0x10;
const PACKET_Y_SIGN = 0x20;
const PACKET_X_OVERFLOW = 0x40;
const PACKET_Y_OVERFLOW = 0x80;
/** Device IDs: standard mouse, and IntelliMouse after the sample-rate sequence 200, 100, 80. */
const ID_STANDARD = 0x00;
const ID_INTELLIMOUSE = 0x03;
const DEFAULT_RATE = 100;
const DEFAULT_RESOLUTION = 2; // 4 counts/mm
export const MOUSE_QUEUE_SIZE = 256;

/** Button bits for `Ps2Mouse.move`. */
export const MOUSE_LEFT = 0x01;
export const MOUSE_RIGHT = 0x02;
export const MOUSE_MIDDLE = 0x04;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** A PS/2 mouse with the IntelliMouse wheel extension, on the 8042's second (auxiliary) port. */
export class Ps2Mouse implements Ps2Device {
  readonly queue = new Ps2Queue(MOUSE_QUEUE_SIZE);
  onData: (() => void) | undefined;
  private enabled = false;
  private remote = false;
  private wrap = false;
  private scaling2 = false;
  private resolution = DEFAULT_RESOLUTION;
  private rate = DEFAULT_RATE;
  private id = ID_STANDARD;
  /** The last three sample rates set, oldest first, for the IntelliMouse knock. */
  private rates = [0, 0, 0];
  private pending = 0;
  private lastSent = PS2_ACK;
  private buttons = 0;
  /** Movement accumulated in remote mode, read with READ DATA. */
  private dx = 0;
  private dy = 0;
  private dz = 0;

  /**
   * Host pointer input: relative motion (x right, y up, z wheel) and the buttons now down. In
   * stream mode with reporting on, a packet is queued when the whole packet fits.
   */
  move(dx: number, dy: number, dz: number, buttons: number): void {
    this.buttons = buttons & 7;
    if (this.remote) {
      this.dx = clamp(this.dx + dx, -512, 511);
      this.dy = clamp(this.dy + dy, -512, 511);
      this.dz = clamp(this.dz + dz, -8, 7);
      return;
    }
    if (!this.enabled || this.wrap) return;
    if (this.queue.free < (this.id === ID_INTELLIMOUSE ? 4 : 3)) return;
    this.packet(dx, dy, dz);
    this.onData?.();
  }

  private packet(dx: number, dy: number, dz: number): void {
    let b0 = PACKET_ALWAYS_ONE | this.buttons;
    if (dx < -256 || dx > 255) b0 |= PACKET_X_OVERFLOW;
    if (dy < -256 || dy > 255) b0 |= PACKET_Y_OVERFLOW;
    const x = clamp(dx, -256, 255);
    const y = clamp(dy, -256, 255);
    if (x < 0) b0 |= PACKET_X_SIGN;
    if (y < 0) b0 |= PACKET_Y_SIGN;
    this.send(b0);
    this.send(x & 0xff);
    this.send(y & 0xff);
    if (this.id === ID_INTELLIMOUSE) this.send(clamp(dz, -8, 7) & 0xff);
  }

  write(byte: number): void {
    const pending = this.pending;
    this.pending = 0;
    if (pending === MOUSE_SET_RESOLUTION) {
      this.resolution = byte & 3;
      this.send(PS2_ACK);
    } else if (pending === MOUSE_SET_RATE) {
      this.rate = byte;
      this.rates[0] = this.rates[1];
      this.rates[1] = this.rates[2];
      this.rates[2] = byte;
      if (this.rates[0] === 200 && this.rates[1] === 100 && this.rates[2] === 80) this.id = ID_INTELLIMOUSE;
      this.send(PS2_ACK);
    } else if (this.wrap && byte !== MOUSE_RESET_WRAP && byte !== MOUSE_RESET) {
      this.send(byte); // wrap mode echoes
    } else {
      this.command(byte);
    }
    this.onData?.();
  }

  private command(byte: number): void {
    switch (byte) {
      case MOUSE_SCALING_1_1:
      case MOUSE_SCALING_2_1:
        this.scaling2 = byte === MOUSE_SCALING_2_1;
        this.send(PS2_ACK);
        break;
      case MOUSE_SET_RESOLUTION:
      case MOUSE_SET_RATE:
        this.pending = byte;
        this.send(PS2_ACK);
        break;
      case MOUSE_STATUS:
        this.send(PS2_ACK);
        this.send((this.remote ? STATUS_REMOTE : 0) | (this.enabled ? STATUS_ENABLED : 0) | (this.scaling2 ? STATUS_SCALING : 0) | this.statusButtons());
        this.send(this.resolution);
        this.send(this.rate);
        break;
      case MOUSE_STREAM_MODE:
      case MOUSE_REMOTE_MODE:
        this.remote = byte === MOUSE_REMOTE_MODE;
        this.send(PS2_ACK);
        break;
      case MOUSE_READ_DATA:
        this.send(PS2_ACK);
        this.packet(this.dx, this.dy, this.dz);
        this.dx = this.dy = this.dz = 0;
        break;
      case MOUSE_RESET_WRAP:
      case MOUSE_WRAP_MODE:
        this.wrap = byte === MOUSE_WRAP_MODE;
        this.send(PS2_ACK);
        break;
      case MOUSE_GET_ID:
        this.send(PS2_ACK);
        this.send(this.id);
        break;
      case MOUSE_ENABLE:
      case MOUSE_DISABLE:
        this.enabled = byte === MOUSE_ENABLE;
        this.send(PS2_ACK);
        break;
      case MOUSE_DEFAULTS:
        this.defaults();
        this.send(PS2_ACK);
        break;
      case MOUSE_RESEND:
        this.queue.push(this.lastSent);
        break;
      case MOUSE_RESET:
        this.queue.clear();
        this.defaults();
        this.id = ID_STANDARD;
        this.wrap = false;
        this.remote = false;
        this.send(PS2_ACK);
        this.send(PS2_SELF_TEST_PASSED);
        this.send(ID_STANDARD);
        break;
      default:
        this.send(PS2_RESEND);
    }
  }

  /** The status byte orders buttons left (bit 2), middle (bit 1), right (bit 0). */
  private statusButtons(): number {
    return ((this.buttons & MOUSE_LEFT) !== 0 ? 4 : 0) | ((this.buttons & MOUSE_MIDDLE) !== 0 ? 2 : 0) | ((this.buttons & MOUSE_RIGHT) !== 0 ? 1 : 0);
  }

  private defaults(): void {
    this.enabled = false;
    this.scaling2 = false;
    this.resolution = DEFAULT_RESOLUTION;
    this.rate = DEFAULT_RATE;
    this.dx = this.dy = this.dz = 0;
  }

  private send(byte: number): void {
    this.lastSent = byte;
    this.queue.push(byte);
  }

  reset(): void {
    this.queue.clear();
    this.defaults();
    this.id = ID_STANDARD;
    this.remote = false;
    this.wrap = false;
    this.rates = [0, 0, 0];
    this.pending = 0;
    this.lastSent = PS2_ACK;
    this.buttons = 0;
  }

  saveState(): DeviceState {
    return {
      version: 1,
      queue: this.queue.toBytes(),
      enabled: this.enabled,
      remote: this.remote,
      wrap: this.wrap,
      scaling2: this.scaling2,
      resolution: this.resolution,
      rate: this.rate,
      id: this.id,
      rates: this.rates.slice(),
      pending: this.pending,
      lastSent: this.lastSent,
      buttons: this.buttons,
      dx: this.dx,
      dy: this.dy,
      dz: this.dz,
    };
  }

  /** Reads and checks a saved mouse; the returned function applies it. */
  static readState(r: StateReader): (mouse: Ps2Mouse) => void {
    const queue = r.bytes('queue', MOUSE_QUEUE_SIZE, false);
    const fields = {
      enabled: r.bool('enabled'),
      remote: r.bool('remote'),
      wrap: r.bool('wrap'),
      scaling2: r.bool('scaling2'),
      resolution: r.int('resolution', 0, 3),
      rate: r.int('rate', 0, 0xff),
      id: r.int('id', 0, 0xff),
      rates: r.ints('rates', 3, 0, 0xff),
      pending: r.int('pending', 0, 0xff),
      lastSent: r.int('lastSent', 0, 0xff),
      buttons: r.int('buttons', 0, 7),
      dx: r.int('dx', -512, 511),
      dy: r.int('dy', -512, 511),
      dz: r.int('dz', -8, 7),
    };
    if (fields.id !== ID_STANDARD && fields.id !== ID_INTELLIMOUSE) r.fail('id', `must be 0 or 3, got ${fields.id}`);
    if (fields.pending !== 0 && fields.pending !== MOUSE_SET_RESOLUTION && fields.pending !== MOUSE_SET_RATE) {
      r.fail('pending', `is not a command that takes a parameter (0x${fields.pending.toString(16)})`);
    }
    return (mouse) => {
      mouse.queue.load(queue);
      Object.assign(mouse, fields);
    };
  }
}
