import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';

/** What Bochs and QEMU return when the guest reads the debug console port: its presence marker. */
export const DEBUG_CONSOLE_READBACK = 0xe9;

/**
 * The Bochs/QEMU debug console (conventionally at port 0xE9): every byte the guest writes goes to
 * `output`. Reading the port returns 0xE9 so a guest can detect it.
 */
export class DebugConsole implements Device, IoHandler {
  readonly name: string;

  constructor(
    private readonly output: (byte: number) => void,
    name = 'debugcon',
  ) {
    this.name = name;
  }

  read8(_offset: number): number {
    return DEBUG_CONSOLE_READBACK;
  }

  write8(_offset: number, value: number): void {
    this.output(value & 0xff);
  }

  reset(): void {}

  saveState(): DeviceState {
    return { version: 1 };
  }

  loadState(state: unknown): void {
    new StateReader(this.name, state, [1]);
  }
}
