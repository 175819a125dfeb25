import type { Clock } from './clock.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';
import type { Pit8254 } from './pit8254.js';

// PIIX3 datasheet, "NMI Status and Control Register" (I/O 0x61), the PC/AT's port B.
/** Bit 0 (R/W): timer counter 2 gate. */
export const PORTB_TIMER2_GATE = 0x01;
/** Bit 1 (R/W): speaker data enable (ANDed with counter 2's OUT to drive the speaker). */
export const PORTB_SPEAKER_ENABLE = 0x02;
/** Bits 2-3 (R/W): PCI SERR# and IOCHK# NMI disables (1 = disabled). */
const PORTB_NMI_DISABLES = 0x0c;
/** Bit 4 (RO): refresh cycle toggle, flips every 15.085 us. */
export const PORTB_REFRESH_TOGGLE = 0x10;
/** Bit 5 (RO): counter 2 OUT. */
export const PORTB_TIMER2_OUT = 0x20;
const PORTB_WRITABLE = PORTB_TIMER2_GATE | PORTB_SPEAKER_ENABLE | PORTB_NMI_DISABLES;
/** The DRAM refresh request period the toggle bit follows (counter 1 at its BIOS rate of 18 clocks). */
export const REFRESH_PERIOD_NS = 15_085;

/**
 * Port 0x61 (one port): counter 2's gate and OUT, the speaker enable and the refresh toggle that
 * delay loops and TSC calibration poll. The toggle comes from virtual time; IOCHK/SERR never fire.
 */
export class SystemControlPortB implements Device, IoHandler {
  readonly name: string;
  private value = 0;
  private readonly pit: Pit8254;
  private readonly clock: Clock;
  private readonly onSpeaker: ((enabled: boolean) => void) | undefined;

  constructor(options: { pit: Pit8254; clock: Clock; name?: string; onSpeaker?: (enabled: boolean) => void }) {
    this.name = options.name ?? 'port61';
    this.pit = options.pit;
    this.clock = options.clock;
    this.onSpeaker = options.onSpeaker;
    this.pit.setGate(2, false);
  }

  read8(_offset: number): number {
    const refresh = Math.floor(this.clock.now() / REFRESH_PERIOD_NS) & 1 ? PORTB_REFRESH_TOGGLE : 0;
    return this.value | refresh | (this.pit.output(2) ? PORTB_TIMER2_OUT : 0);
  }

  write8(_offset: number, value: number): void {
    const before = this.value;
    this.value = value & PORTB_WRITABLE;
    this.pit.setGate(2, (this.value & PORTB_TIMER2_GATE) !== 0);
    if (((before ^ this.value) & PORTB_SPEAKER_ENABLE) !== 0) this.onSpeaker?.((this.value & PORTB_SPEAKER_ENABLE) !== 0);
  }

  reset(): void {
    this.value = 0;
    this.pit.setGate(2, false);
  }

  saveState(): DeviceState {
    return { version: 1, value: this.value };
  }

  /** Restores the register and drives counter 2's gate to match (a no-op when the PIT's own state agrees). */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    this.value = r.bits('value', 0xff, ~PORTB_WRITABLE & 0xff);
    this.pit.setGate(2, (this.value & PORTB_TIMER2_GATE) !== 0);
  }
}
