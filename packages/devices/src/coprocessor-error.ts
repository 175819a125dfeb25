import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';

/**
 * The PC's coprocessor-error latch (ports 0xF0-0xF1). The FPU's FERR# output, when the CPU reports
 * numeric errors externally (CR0.NE = 0), sets the latch and raises IRQ 13; a write to port 0xF0
 * clears the latch and lowers IRQ 13 (and on a real board asserts IGNNE# until FERR# drops, which
 * the CPU models by letting the retried instruction go on). A write to 0xF1 resets the coprocessor
 * on a 286/386 board; here it only clears the latch as well. Reads return all ones.
 */
export class CoprocessorErrorLatch implements Device, IoHandler {
  readonly name: string;
  private latched = false;
  private readonly irq: IrqLine;

  constructor(options: { irq: IrqLine; name?: string }) {
    this.name = options.name ?? 'fpu-error';
    this.irq = options.irq;
  }

  /** The FPU's FERR# line: a rising edge latches the error and raises IRQ 13. */
  setFerr(asserted: boolean): void {
    if (!asserted || this.latched) return;
    this.latched = true;
    this.irq.set(true);
  }

  get pending(): boolean {
    return this.latched;
  }

  read8(_offset: number): number {
    return 0xff;
  }

  write8(_offset: number, _value: number): void {
    if (!this.latched) return;
    this.latched = false;
    this.irq.set(false);
  }

  reset(): void {
    if (this.latched) this.irq.set(false);
    this.latched = false;
  }

  saveState(): DeviceState {
    return { version: 1, latched: this.latched };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const latched = r.bool('latched');
    this.latched = latched;
    this.irq.set(latched);
  }
}
