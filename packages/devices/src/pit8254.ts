import type { Clock, Timer } from './clock.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';

/** The PC's PIT input clock: 14.31818 MHz / 12 (IBM PC/AT technical reference). */
export const PIT_FREQUENCY_HZ = 1_193_182;
const NS_PER_S = 1_000_000_000;

// Intel 8254 datasheet, "Control Word Format" and "Read-Back Command".
const CW_SELECT_SHIFT = 6;
const CW_SELECT_READBACK = 3;
const CW_RW_SHIFT = 4;
const CW_RW_LATCH = 0;
const CW_RW_LSB = 1;
const CW_RW_MSB = 2;
const CW_RW_BOTH = 3;
const CW_MODE_SHIFT = 1;
const CW_BCD = 0x01;
/** Read-back: D5 = 0 latches the count, D4 = 0 latches the status, D1-D3 select counters 0-2. */
const RB_NO_COUNT = 0x20;
const RB_NO_STATUS = 0x10;
/** Status byte: D7 OUT, D6 NULL COUNT, D5-D0 the counter's control word bits. */
const STATUS_OUT = 0x80;
const STATUS_NULL_COUNT = 0x40;
const OFFSET_CONTROL = 3;

const BINARY_MODULUS = 0x10000;
const BCD_MODULUS = 10000;

/** Whole PIT clocks elapsed at virtual time `ns`, exactly (split so no product exceeds 2^53). */
export function pitTicksAt(ns: number): number {
  const t = Math.floor(ns);
  const seconds = Math.floor(t / NS_PER_S);
  const rest = t - seconds * NS_PER_S;
  return seconds * PIT_FREQUENCY_HZ + Math.floor((rest * PIT_FREQUENCY_HZ) / NS_PER_S);
}

/** The first virtual nanosecond at which `tick` PIT clocks have elapsed. */
export function pitTimeOfTick(tick: number): number {
  const seconds = Math.floor(tick / PIT_FREQUENCY_HZ);
  const rest = tick - seconds * PIT_FREQUENCY_HZ;
  return seconds * NS_PER_S + Math.ceil((rest * NS_PER_S) / PIT_FREQUENCY_HZ);
}

function bcdToBinary(v: number): number {
  // Digits above 9 are not valid BCD; weighting them anyway keeps the result defined.
  return ((v >>> 12) & 15) * 1000 + ((v >>> 8) & 15) * 100 + ((v >>> 4) & 15) * 10 + (v & 15);
}

function binaryToBcd(v: number): number {
  return (Math.floor(v / 1000) % 10 << 12) | (Math.floor(v / 100) % 10 << 8) | (Math.floor(v / 10) % 10 << 4) | v % 10;
}

const CHANNEL_INTS = [
  ['control', 0x3f],
  ['count', 0xffff],
  ['writeLsb', 0xff],
  ['latchValue', 0xffff],
  ['latchBytes', 2],
  ['statusValue', 0xff],
  ['active', BINARY_MODULUS],
] as const;
const CHANNEL_FLAGS = ['writeHigh', 'readHigh', 'latchHigh', 'statusLatched', 'gate', 'nullCount', 'loaded', 'triggered', 'running'] as const;

/** One counter of the 8254. Time is in absolute PIT clocks since the machine started. */
class PitChannel {
  /** The control word bits 5-0 (RW, mode, BCD) as the status byte reports them. */
  control = 0;
  /** The count register (CR) as written. */
  count = 0;
  writeLsb = 0;
  writeHigh = false;
  readHigh = false;
  latchValue = 0;
  /** Bytes of the latched count still to be read (0 = not latched). */
  latchBytes = 0;
  latchHigh = false;
  statusLatched = false;
  statusValue = 0;
  gate = true;
  nullCount = true;
  /** A count has been written since the last control word. */
  loaded = false;
  /** The counting sequence has started (on load, or for modes 1 and 5 on a gate edge). */
  triggered = false;
  /** The counter decrements (gate allows it); otherwise `frozen` holds the clocks counted. */
  running = false;
  start = 0;
  frozen = 0;
  /** The initial count of the running sequence (1..65536). */
  active = BINARY_MODULUS;
  /**
   * Modes 2 and 3: a count written while counting takes over at the end of the current period
   * (mode 2) or half-cycle (mode 3), at clock `switchTick` (-1: nothing pending).
   */
  switchTick = -1;

  get mode(): number {
    const m = (this.control >>> CW_MODE_SHIFT) & 7;
    return m >= 6 ? m - 4 : m; // 110 and 111 are modes 2 and 3
  }

  get rw(): number {
    return (this.control >>> CW_RW_SHIFT) & 3;
  }

  get bcd(): boolean {
    return (this.control & CW_BCD) !== 0;
  }

  reset(): void {
    this.control = 0;
    this.count = 0;
    this.writeLsb = 0;
    this.writeHigh = false;
    this.readHigh = false;
    this.latchValue = 0;
    this.latchBytes = 0;
    this.latchHigh = false;
    this.statusLatched = false;
    this.statusValue = 0;
    // The gate is an input pin (tied high, or port 0x61 for counter 2): a reset does not change it.
    this.nullCount = true;
    this.loaded = false;
    this.triggered = false;
    this.running = false;
    this.start = 0;
    this.frozen = 0;
    this.active = BINARY_MODULUS;
    this.switchTick = -1;
  }

  /** The count register as an initial count: 0 is the largest (2^16 binary, 10^4 BCD). */
  initialCount(): number {
    if (this.bcd) return bcdToBinary(this.count) || BCD_MODULUS;
    return this.count || BINARY_MODULUS;
  }

  elapsed(tick: number): number {
    return this.running ? tick - this.start : this.frozen;
  }

  out(tick: number): boolean {
    this.settle(tick);
    const mode = this.mode;
    if (!this.triggered) return mode !== 0;
    const n = this.active;
    const e = this.elapsed(tick);
    switch (mode) {
      case 0:
      case 1:
        return e >= n;
      case 2:
        if (!this.running) return true;
        return e % Math.max(n, 2) !== Math.max(n, 2) - 1;
      case 3: {
        if (!this.running) return true;
        const period = Math.max(n, 2);
        return e % period < (period + 1) >>> 1;
      }
      default:
        return e !== n; // modes 4 and 5: low for one clock at terminal count
    }
  }

  /** The counting element (CE) in binary. */
  value(tick: number): number {
    this.settle(tick);
    if (!this.triggered) return this.initialCount() % this.modulus();
    const n = this.active;
    const e = this.elapsed(tick);
    const mode = this.mode;
    if (mode === 2) return n - (e % n);
    if (mode === 3) return n - ((2 * e) % n);
    const m = this.modulus();
    return (((n - e) % m) + m) % m;
  }

  modulus(): number {
    return this.bcd ? BCD_MODULUS : BINARY_MODULUS;
  }

  /** The counter value as the guest reads it (BCD when in BCD mode). */
  readable(tick: number): number {
    const v = this.value(tick);
    return this.bcd ? binaryToBcd(v % BCD_MODULUS) : v & 0xffff;
  }

  /** The absolute clock of the next OUT transition, or -1 when OUT will not change by itself. */
  nextTransition(tick: number): number {
    this.settle(tick);
    if (!this.triggered || !this.running) return -1;
    const n = this.active;
    const e = tick - this.start;
    switch (this.mode) {
      case 0:
      case 1:
        return e < n ? this.start + n : -1;
      case 2: {
        const period = Math.max(n, 2);
        const r = e % period;
        return this.start + e - r + (r < period - 1 ? period - 1 : period);
      }
      case 3: {
        const period = Math.max(n, 2);
        const r = e % period;
        const half = (period + 1) >>> 1;
        return this.start + e - r + (r < half ? half : period);
      }
      default:
        return e < n ? this.start + n : e === n ? this.start + n + 1 : -1;
    }
  }

  /** Mode 2: the clock at which the current period ends (the counter reloads). */
  private periodEnd(tick: number): number {
    const period = Math.max(this.active, 2);
    const e = tick - this.start;
    return this.start + (Math.floor(e / period) + 1) * period;
  }

  /** Apply a pending count once its period or half-cycle has ended. */
  private settle(tick: number): void {
    if (this.switchTick < 0 || tick < this.switchTick) return;
    const at = this.switchTick;
    this.switchTick = -1;
    const wasHigh = this.mode === 3 && this.out(at - 1);
    this.active = this.initialCount();
    this.nullCount = false;
    // Mode 3 continues with the half-cycle the old one flipped into: low after a high half.
    this.start = wasHigh ? at - ((Math.max(this.active, 2) + 1) >>> 1) : at;
  }

  /** The sequence starts (or restarts) at `tick`. */
  trigger(tick: number): void {
    this.switchTick = -1;
    this.active = this.initialCount();
    this.triggered = true;
    this.nullCount = false;
    this.start = tick;
    this.frozen = 0;
    this.running = this.gate || this.mode === 1 || this.mode === 5;
  }

  setGate(level: boolean, tick: number): void {
    if (level === this.gate) return;
    this.gate = level;
    const mode = this.mode;
    if (level) {
      if (mode === 1 || mode === 5 || mode === 2 || mode === 3) {
        if (this.loaded) this.trigger(tick);
      } else if (this.triggered && !this.running) {
        this.start = tick - this.frozen;
        this.running = true;
      }
    } else if (mode === 0 || mode === 4) {
      if (this.running) {
        this.frozen = tick - this.start;
        this.running = false;
      }
    } else if (mode === 2 || mode === 3) {
      this.running = false;
      this.frozen = 0;
      this.switchTick = -1; // the rising gate reloads from the count register anyway
    }
  }

  writeControl(value: number): void {
    this.control = value & 0x3f;
    this.writeHigh = false;
    this.readHigh = false;
    this.nullCount = true;
    this.loaded = false;
    this.triggered = false;
    this.running = false;
    this.frozen = 0;
    this.switchTick = -1;
  }

  writeCount(value: number, tick: number): void {
    const rw = this.rw;
    if (rw === CW_RW_BOTH && !this.writeHigh) {
      this.writeLsb = value;
      this.writeHigh = true;
      // Mode 0: writing the first byte stops the count and drives OUT low.
      if (this.mode === 0) {
        this.triggered = false;
        this.running = false;
      }
      return;
    }
    if (rw === CW_RW_BOTH) this.count = this.writeLsb | (value << 8);
    else if (rw === CW_RW_MSB) this.count = value << 8;
    else this.count = value;
    this.writeHigh = false;
    this.loaded = true;
    this.nullCount = true;
    const mode = this.mode;
    if ((mode === 2 || mode === 3) && this.triggered && this.running) {
      // Counting already: the new count waits for the end of the period (mode 2) or half-cycle (3).
      this.settle(tick);
      const next = this.nextTransition(tick);
      this.switchTick = mode === 2 ? this.periodEnd(tick) : next;
      return;
    }
    // Modes 1 and 5 wait for a gate edge; the others start counting from the new count.
    if (mode !== 1 && mode !== 5) this.trigger(tick);
  }

  latchCount(tick: number): void {
    if (this.latchBytes !== 0) return; // the first latch holds until read
    this.latchValue = this.readable(tick);
    this.latchBytes = this.rw === CW_RW_BOTH ? 2 : 1;
    this.latchHigh = this.rw === CW_RW_MSB;
  }

  latchStatus(tick: number): void {
    if (this.statusLatched) return;
    this.statusValue = (this.out(tick) ? STATUS_OUT : 0) | (this.nullCount ? STATUS_NULL_COUNT : 0) | this.control;
    this.statusLatched = true;
  }

  read(tick: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.statusValue;
    }
    if (this.latchBytes !== 0) {
      const byte = this.latchHigh ? this.latchValue >>> 8 : this.latchValue & 0xff;
      this.latchBytes--;
      this.latchHigh = !this.latchHigh;
      return byte;
    }
    const v = this.readable(tick);
    switch (this.rw) {
      case CW_RW_LSB:
        return v & 0xff;
      case CW_RW_MSB:
        return v >>> 8;
      default:
        this.readHigh = !this.readHigh;
        return this.readHigh ? v & 0xff : v >>> 8;
    }
  }
}

/**
 * The Intel 8254 programmable interval timer: three counters at offsets 0-2, the control word at
 * offset 3 (the PC puts it at 0x40-0x43). Counter 0 drives IRQ 0 through a clock timer armed at
 * its next OUT transition; counts and OUT levels are computed from virtual time on demand, never by
 * ticking. Counter 2's gate and OUT are reached through port 0x61 (`SystemControlPortB`).
 */
export class Pit8254 implements Device, IoHandler {
  readonly name: string;
  private readonly channels = [new PitChannel(), new PitChannel(), new PitChannel()] as const;
  private readonly clock: Clock;
  private readonly irq: IrqLine;
  private readonly timer: Timer;
  /** The level last driven on IRQ 0. */
  private irqLevel = false;

  constructor(options: { clock: Clock; irq: IrqLine; name?: string }) {
    this.name = options.name ?? 'pit';
    this.clock = options.clock;
    this.irq = options.irq;
    this.timer = this.clock.createTimer(`${this.name}.counter0`, () => this.updateIrq());
  }

  read8(offset: number): number {
    if (offset >= OFFSET_CONTROL) return 0xff; // the control word register is write-only
    return this.channels[offset].read(this.tick());
  }

  write8(offset: number, value: number): void {
    const tick = this.tick();
    if (offset < OFFSET_CONTROL) {
      this.channels[offset].writeCount(value, tick);
      if (offset === 0) this.updateIrq();
      return;
    }
    const select = value >>> CW_SELECT_SHIFT;
    if (select === CW_SELECT_READBACK) {
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const ch = this.channels[i];
        if ((value & RB_NO_STATUS) === 0) ch.latchStatus(tick);
        if ((value & RB_NO_COUNT) === 0) ch.latchCount(tick);
      }
      return;
    }
    const ch = this.channels[select];
    if (((value >>> CW_RW_SHIFT) & 3) === CW_RW_LATCH) {
      ch.latchCount(tick);
      return;
    }
    ch.writeControl(value);
    if (select === 0) this.updateIrq();
  }

  /** The gate input of counter `channel` (tied high for 0 and 1 on a PC; port 0x61 bit 0 for 2). */
  setGate(channel: number, level: boolean): void {
    if (channel < 0 || channel > 2) return;
    this.channels[channel].setGate(level, this.tick());
    if (channel === 0) this.updateIrq();
  }

  gate(channel: number): boolean {
    return this.channels[channel]?.gate ?? false;
  }

  /** The OUT pin of counter `channel` now. */
  output(channel: number): boolean {
    const ch = this.channels[channel];
    return ch !== undefined && ch.out(this.tick());
  }

  /** The counting element of `channel` now, in binary (for tests and debuggers). */
  counterValue(channel: number): number {
    return this.channels[channel]?.value(this.tick()) ?? 0;
  }

  private tick(): number {
    return pitTicksAt(this.clock.now());
  }

  /** Drive IRQ 0 from counter 0's OUT and arm the timer for its next transition. */
  private updateIrq(): void {
    const tick = this.tick();
    const ch = this.channels[0];
    const level = ch.out(tick);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
    const next = ch.nextTransition(tick);
    if (next > tick) this.timer.arm(pitTimeOfTick(next));
    else this.timer.disarm();
  }

  reset(): void {
    for (const ch of this.channels) ch.reset();
    this.updateIrq();
  }

  saveState(): DeviceState {
    const channels = this.channels.map((ch) => {
      const out: { [field: string]: number | boolean } = {};
      for (const [f] of CHANNEL_INTS) out[f] = ch[f];
      for (const f of CHANNEL_FLAGS) out[f] = ch[f];
      out['start'] = ch.start;
      out['frozen'] = ch.frozen;
      out['switchTick'] = ch.switchTick;
      return out;
    });
    return { version: 1, channels, irqLevel: this.irqLevel };
  }

  /** Restores counters; the machine restores the clock's time first, so OUT timers re-arm against it. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const list = r.records('channels', 3);
    const values = list.map((c) => {
      const out: Record<string, number | boolean> = {};
      for (const [f, max] of CHANNEL_INTS) out[f] = c.int(f, 0, max);
      for (const f of CHANNEL_FLAGS) out[f] = c.bool(f);
      out['start'] = c.int('start', 0, Number.MAX_SAFE_INTEGER);
      out['frozen'] = c.int('frozen', 0, Number.MAX_SAFE_INTEGER);
      out['switchTick'] = c.int('switchTick', -1, Number.MAX_SAFE_INTEGER);
      if ((out['active'] as number) < 1) c.fail('active', 'must be an initial count of at least 1');
      return out;
    });
    const irqLevel = r.bool('irqLevel');
    for (let i = 0; i < 3; i++) Object.assign(this.channels[i], values[i]);
    this.irqLevel = irqLevel;
    this.updateIrq();
  }
}
