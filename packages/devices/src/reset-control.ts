import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';

// PIIX3 datasheet, "RC — Reset Control Register" (I/O 0xCF9, byte access only).
/** Bit 1: SRST — 1 asks for a hard reset (PCIRST# with the CPU), 0 a soft reset (INIT only). */
export const RC_SYSTEM_RESET = 0x02;
/** Bit 2: RCPU — a 0-to-1 transition starts the reset that SRST selects. */
export const RC_RESET_CPU = 0x04;
/** Bit 3: FULL_RST — with a hard reset, also cycle power (drop PWROK). */
export const RC_FULL_RESET = 0x08;
const RC_STORED = RC_SYSTEM_RESET | RC_FULL_RESET;

export type ResetKind = 'soft' | 'hard' | 'full';

/**
 * The reset control register (one port, 0xCF9 on a PC). It shares the dword at 0xCF8 with PCI's
 * CONFIG_ADDRESS: `PciHost` forwards byte accesses at 0xCF9 here.
 */
export class ResetControl implements Device, IoHandler {
  readonly name: string;
  private value = 0;
  private readonly onReset: (kind: ResetKind) => void;

  constructor(options: { onReset: (kind: ResetKind) => void; name?: string }) {
    this.name = options.name ?? 'reset-control';
    this.onReset = options.onReset;
  }

  read8(_offset: number): number {
    return this.value;
  }

  write8(_offset: number, value: number): void {
    this.value = value & RC_STORED;
    if ((value & RC_RESET_CPU) !== 0) {
      const kind: ResetKind = (value & RC_SYSTEM_RESET) === 0 ? 'soft' : (value & RC_FULL_RESET) !== 0 ? 'full' : 'hard';
      this.onReset(kind);
    }
  }

  reset(): void {
    this.value = 0;
  }

  saveState(): DeviceState {
    return { version: 1, value: this.value };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    this.value = r.bits('value', 0xff, ~RC_STORED & 0xff);
  }
}
