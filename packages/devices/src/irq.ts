import { DeviceError } from './errors.js';

/**
 * One interrupt request line as a device drives it: a level. An edge-triggered device raises and
 * lowers it (`pulse`). The device never knows which controller listens or which vector results.
 */
export interface IrqLine {
  set(level: boolean): void;
}

/** Raise then lower a line: one edge for an edge-triggered controller input. */
export function pulse(line: IrqLine): void {
  line.set(true);
  line.set(false);
}

/** Called when the wired-OR level of a board line changes. */
export type IrqListener = (line: number, level: boolean) => void;

/**
 * What the CPU asks the interrupt controller: is a maskable interrupt pending, and, on
 * acknowledge, which vector. The PIC and the local APIC implement it; the VMM hands it to the CPU.
 */
export interface InterruptAcknowledge {
  hasPendingInterrupt(): boolean;
  /** The INTA cycle: returns the vector and moves the interrupt into service. */
  acknowledgeInterrupt(): number;
}

/**
 * The board's interrupt lines (ISA IRQ 0-15 and, with an I/O APIC, up to 24). Several sources may
 * share a line (PCI INTx); the line's level is the OR of its sources. Controllers subscribe with
 * `listen` and hear every level change.
 */
export class IrqRouter {
  private readonly highSources: Uint16Array;
  private readonly listeners: IrqListener[] = [];

  constructor(readonly lineCount = 24) {
    if (!Number.isInteger(lineCount) || lineCount < 1 || lineCount > 256) {
      throw new DeviceError('InvalidArgument', `IRQ line count ${lineCount} must be 1..256`);
    }
    this.highSources = new Uint16Array(lineCount);
  }

  /** A new source on board line `n`; each device gets its own so shared lines OR correctly. */
  source(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 0 || n >= this.lineCount) {
      throw new DeviceError('InvalidArgument', `IRQ line ${n} does not exist (0..${this.lineCount - 1})`);
    }
    let high = false;
    return {
      set: (level: boolean): void => {
        if (level === high) return;
        high = level;
        const before = this.highSources[n];
        const after = level ? before + 1 : before - 1;
        this.highSources[n] = after;
        if ((before === 0) !== (after === 0)) {
          for (const l of this.listeners) l(n, after !== 0);
        }
      },
    };
  }

  /** The current level of board line `n`. */
  level(n: number): boolean {
    return (this.highSources[n] ?? 0) !== 0;
  }

  listen(listener: IrqListener): void {
    this.listeners.push(listener);
  }
}
