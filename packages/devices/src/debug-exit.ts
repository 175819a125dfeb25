import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';

/**
 * QEMU's isa-debug-exit device (tsvm puts it at port 0xF4): a write of `value` ends the machine and
 * the host process exits with status `(value << 1) | 1`, so a guest test can report pass or fail
 * and never be mistaken for a clean exit 0.
 */
export class DebugExit implements Device, IoHandler {
  readonly name: string;

  constructor(
    private readonly onExit: (status: number) => void,
    name = 'debug-exit',
  ) {
    this.name = name;
  }

  /** The exit status for a written value, as QEMU computes it (truncated to the process's 8 bits). */
  static statusOf(value: number): number {
    return ((value << 1) | 1) & 0xff;
  }

  write8(_offset: number, value: number): void {
    this.onExit(DebugExit.statusOf(value));
  }

  write16(_offset: number, value: number): void {
    this.onExit(DebugExit.statusOf(value));
  }

  write32(_offset: number, value: number): void {
    this.onExit(DebugExit.statusOf(value));
  }

  reset(): void {}

  saveState(): DeviceState {
    return { version: 1 };
  }

  loadState(state: unknown): void {
    new StateReader(this.name, state, [1]);
  }
}
