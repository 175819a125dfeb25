import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';

// PIIX3 datasheet, "Port 92h — System Control" (PS/2-style fast A20 and fast reset).
/** Bit 0: FAST_INIT — a 0-to-1 transition pulses the CPU's INIT (a reset). */
export const PORT92_FAST_RESET = 0x01;
/** Bit 1: ALT_A20 — 1 enables address line 20. */
export const PORT92_A20 = 0x02;
/** Bit 3: the power-on password lock, kept as written. */
const PORT92_LOCK = 0x08;
const PORT92_STORED = PORT92_FAST_RESET | PORT92_A20 | PORT92_LOCK;

/**
 * Port 0x92 (one port): fast A20 gate and fast reset. The machine combines this A20 output with
 * the keyboard controller's (either enables the line) and resets on `onReset`.
 */
export class Port92 implements Device, IoHandler {
  readonly name: string;
  private value = 0;
  private readonly onA20: ((enabled: boolean) => void) | undefined;
  private readonly onReset: (() => void) | undefined;

  constructor(options: { name?: string; onA20?: (enabled: boolean) => void; onReset?: () => void } = {}) {
    this.name = options.name ?? 'port92';
    this.onA20 = options.onA20;
    this.onReset = options.onReset;
  }

  get a20(): boolean {
    return (this.value & PORT92_A20) !== 0;
  }

  read8(_offset: number): number {
    return this.value;
  }

  write8(_offset: number, value: number): void {
    const before = this.value;
    this.value = value & PORT92_STORED;
    if (((before ^ this.value) & PORT92_A20) !== 0) this.onA20?.(this.a20);
    if ((this.value & ~before & PORT92_FAST_RESET) !== 0) this.onReset?.();
  }

  reset(): void {
    const a20 = this.a20;
    this.value = 0;
    if (a20) this.onA20?.(false);
  }

  saveState(): DeviceState {
    return { version: 1, value: this.value };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const value = r.bits('value', 0xff, ~PORT92_STORED & 0xff);
    const a20 = this.a20;
    this.value = value;
    if (this.a20 !== a20) this.onA20?.(this.a20);
  }
}
