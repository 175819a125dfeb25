import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';
import type { InterruptAcknowledge, IrqRouter } from './irq.js';

// Intel 8259A datasheet, "Programming the 8259A": bits of the initialization and operation words.
/** A0=0 write with D4=1 is ICW1. */
const ICW1_INIT = 0x10;
/** ICW1 D0: IC4, an ICW4 follows. */
const ICW1_IC4 = 0x01;
/** ICW1 D1: SNGL, single chip (no ICW3). */
const ICW1_SNGL = 0x02;
/** ICW1 D3: LTIM, all inputs level-triggered. */
const ICW1_LTIM = 0x08;
/** ICW4 D1: AEOI, automatic end of interrupt. */
const ICW4_AEOI = 0x02;
/** ICW4 D4: SFNM, special fully nested mode. */
const ICW4_SFNM = 0x10;
/** A0=0 write with D4=0, D3=1 is OCW3. */
const OCW3_SELECT = 0x08;
/** OCW3 D2: P, poll command. */
const OCW3_POLL = 0x04;
/** OCW3 D1: RR, read register command; D0: RIS (1 = ISR, 0 = IRR). */
const OCW3_RR = 0x02;
const OCW3_RIS = 0x01;
/** OCW3 D6: ESMM, D5: SMM. */
const OCW3_ESMM = 0x40;
const OCW3_SMM = 0x20;
/** Poll word D7: an interrupt was pending. */
const POLL_INTERRUPT = 0x80;

// OCW2 R/SL/EOI commands (bits 7-5).
const OCW2_ROTATE_AEOI_CLEAR = 0;
const OCW2_NONSPECIFIC_EOI = 1;
const OCW2_SPECIFIC_EOI = 3;
const OCW2_ROTATE_AEOI_SET = 4;
const OCW2_ROTATE_NONSPECIFIC_EOI = 5;
const OCW2_SET_PRIORITY = 6;
const OCW2_ROTATE_SPECIFIC_EOI = 7;

/** The slave's INT output drives master input IR2 on a PC/AT. */
export const PIC_CASCADE_IRQ = 2;
/** The vector offset of the lowest-priority input, returned for a spurious interrupt. */
const SPURIOUS_IRQ = 7;
/**
 * PIIX/PIIX3 datasheet, ELCR1/ELCR2 (I/O 0x4D0/0x4D1): IRQ0, 1, 2, 8 and 13 are always
 * edge-triggered; their ELCR bits are reserved and read as 0.
 */
export const ELCR_MASTER_MASK = 0xf8;
export const ELCR_SLAVE_MASK = 0xde;

/** Initialization sequence position: which ICW the next A0=1 write is. */
const INIT_NONE = 0;
const INIT_ICW2 = 1;
const INIT_ICW3 = 2;
const INIT_ICW4 = 3;

/** One 8259A. The pair (`DualPic`) wires two of them in the PC/AT cascade. */
class Pic8259Chip {
  irr = 0;
  isr = 0;
  imr = 0;
  /** The input pins' current levels, for edge detection. */
  lines = 0;
  elcr = 0;
  vectorBase = 0;
  icw1 = 0;
  icw3 = 0;
  icw4 = 0;
  initStep = INIT_NONE;
  /** Lowest-priority rotation: priority 0 belongs to input `priorityAdd`. */
  priorityAdd = 0;
  rotateOnAutoEoi = false;
  specialMask = false;
  readIsr = false;
  poll = false;

  constructor(readonly elcrMask: number) {}

  reset(): void {
    this.irr = 0;
    this.isr = 0;
    this.imr = 0;
    this.lines = 0;
    this.elcr = 0;
    this.vectorBase = 0;
    this.icw1 = 0;
    this.icw3 = 0;
    this.icw4 = 0;
    this.initStep = INIT_NONE;
    this.priorityAdd = 0;
    this.rotateOnAutoEoi = false;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
  }

  levelMask(): number {
    return (this.icw1 & ICW1_LTIM) !== 0 ? 0xff : this.elcr;
  }

  setLine(irq: number, level: boolean): void {
    const mask = 1 << irq;
    if (level) {
      // Edge mode latches on a rising edge; level mode follows the pin.
      if ((this.levelMask() & mask) !== 0 || (this.lines & mask) === 0) this.irr |= mask;
      this.lines |= mask;
    } else {
      if ((this.levelMask() & mask) !== 0) this.irr &= ~mask;
      this.lines &= ~mask;
    }
  }

  /**
   * The cascade input follows the slave's INT as a level: when the slave's request goes away
   * before INTA, so does the master's, rather than leaving a latched edge that only yields a
   * spurious IRQ 15.
   */
  setCascade(level: boolean): void {
    const mask = 1 << PIC_CASCADE_IRQ;
    if (level) {
      this.irr |= mask;
      this.lines |= mask;
    } else {
      this.irr &= ~mask;
      this.lines &= ~mask;
    }
  }

  /** The priority (0 = highest) of the highest-priority bit of `mask`, 8 when none. */
  priorityOf(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The input that would interrupt now, or -1. */
  pendingIrq(isMaster: boolean): number {
    const requests = this.irr & ~this.imr;
    if (this.specialMask) {
      // Special mask mode: any unmasked request not already in service may interrupt.
      const p = this.priorityOf(requests & ~this.isr);
      return p === 8 ? -1 : (p + this.priorityAdd) & 7;
    }
    const p = this.priorityOf(requests);
    if (p === 8) return -1;
    let inService = this.isr;
    // Special fully nested mode: the cascade input may interrupt again while in service.
    if (isMaster && (this.icw4 & ICW4_SFNM) !== 0) inService &= ~(1 << PIC_CASCADE_IRQ);
    return p < this.priorityOf(inService) ? (p + this.priorityAdd) & 7 : -1;
  }

  /** The INTA cycle for input `irq`. */
  acknowledge(irq: number): void {
    const mask = 1 << irq;
    if ((this.icw4 & ICW4_AEOI) !== 0) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= mask;
    }
    if ((this.levelMask() & mask) === 0) this.irr &= ~mask;
  }

  writeCommand(value: number): void {
    if ((value & ICW1_INIT) !== 0) {
      // ICW1: mask cleared, IR7 lowest priority, special mask off, IRR selected for reads, and
      // the edge sense circuit reset: an edge input already high must go low before it counts.
      this.icw1 = value;
      this.icw4 = 0;
      this.imr = 0;
      this.isr = 0;
      this.irr = this.lines & this.levelMask();
      this.priorityAdd = 0;
      this.rotateOnAutoEoi = false;
      this.specialMask = false;
      this.readIsr = false;
      this.poll = false;
      this.initStep = INIT_ICW2;
      return;
    }
    if ((value & OCW3_SELECT) !== 0) {
      if ((value & OCW3_POLL) !== 0) this.poll = true;
      if ((value & OCW3_RR) !== 0) this.readIsr = (value & OCW3_RIS) !== 0;
      if ((value & OCW3_ESMM) !== 0) this.specialMask = (value & OCW3_SMM) !== 0;
      return;
    }
    const level = value & 7;
    switch (value >>> 5) {
      case OCW2_ROTATE_AEOI_CLEAR:
        this.rotateOnAutoEoi = false;
        break;
      case OCW2_ROTATE_AEOI_SET:
        this.rotateOnAutoEoi = true;
        break;
      case OCW2_NONSPECIFIC_EOI:
      case OCW2_ROTATE_NONSPECIFIC_EOI: {
        const p = this.priorityOf(this.isr);
        if (p !== 8) {
          const irq = (p + this.priorityAdd) & 7;
          this.isr &= ~(1 << irq);
          if (value >>> 5 === OCW2_ROTATE_NONSPECIFIC_EOI) this.priorityAdd = (irq + 1) & 7;
        }
        break;
      }
      case OCW2_SPECIFIC_EOI:
        this.isr &= ~(1 << level);
        break;
      case OCW2_ROTATE_SPECIFIC_EOI:
        this.isr &= ~(1 << level);
        this.priorityAdd = (level + 1) & 7;
        break;
      case OCW2_SET_PRIORITY:
        this.priorityAdd = (level + 1) & 7;
        break;
      default:
        break; // 2: no operation
    }
  }

  writeData(value: number): void {
    switch (this.initStep) {
      case INIT_ICW2:
        this.vectorBase = value & 0xf8;
        this.initStep = (this.icw1 & ICW1_SNGL) !== 0 ? this.afterIcw3() : INIT_ICW3;
        break;
      case INIT_ICW3:
        this.icw3 = value;
        this.initStep = this.afterIcw3();
        break;
      case INIT_ICW4:
        this.icw4 = value & 0x1f;
        this.initStep = INIT_NONE;
        break;
      default:
        this.imr = value; // OCW1
    }
  }

  private afterIcw3(): number {
    return (this.icw1 & ICW1_IC4) !== 0 ? INIT_ICW4 : INIT_NONE;
  }
}

const CHIP_FIELDS = ['irr', 'isr', 'imr', 'lines', 'elcr', 'vectorBase', 'icw1', 'icw3', 'icw4', 'initStep', 'priorityAdd'] as const;
const CHIP_FLAGS = ['rotateOnAutoEoi', 'specialMask', 'readIsr', 'poll'] as const;

/**
 * The PC/AT pair of 8259A interrupt controllers: the master at ports 0x20/0x21 takes IRQ 0-7, the
 * slave at 0xA0/0xA1 takes IRQ 8-15 and drives the master's IR2. Also the PIIX edge/level control
 * registers (ELCR, 0x4D0/0x4D1). The CPU asks `hasPendingInterrupt` and runs the INTA cycle with
 * `acknowledgeInterrupt`.
 *
 * Wiring: `master` (2 ports), `slave` (2 ports) and `elcr` (2 ports) are I/O handlers; board
 * lines 0-15 come from `attach(router)` or `setIrq`.
 */
export class DualPic implements Device, InterruptAcknowledge {
  readonly name: string;
  private readonly chips = [new Pic8259Chip(ELCR_MASTER_MASK), new Pic8259Chip(ELCR_SLAVE_MASK)] as const;
  private output = false;
  private readonly outputListeners: ((level: boolean) => void)[] = [];

  readonly master: IoHandler = {
    read8: (offset) => this.readPort(0, offset),
    write8: (offset, value) => this.writePort(0, offset, value),
  };

  readonly slave: IoHandler = {
    read8: (offset) => this.readPort(1, offset),
    write8: (offset, value) => this.writePort(1, offset, value),
  };

  readonly elcr: IoHandler = {
    read8: (offset) => this.chips[offset & 1].elcr,
    write8: (offset, value) => {
      const chip = this.chips[offset & 1];
      chip.elcr = value & chip.elcrMask;
      this.update();
    },
  };

  constructor(name = 'pic') {
    this.name = name;
  }

  /** Listen to board lines 0-15 of `router`. */
  attach(router: IrqRouter): void {
    router.listen((line, level) => {
      if (line < 16) this.setIrq(line, level);
    });
  }

  /** Drive input `irq` (0-15) to `level`. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 0 || irq > 15) return;
    this.chips[irq >>> 3].setLine(irq & 7, level);
    this.update();
  }

  /**
   * Add a listener for the master's INT output: the machine uses it to wake a halted CPU, and may
   * wire it to I/O APIC input 0 (ExtINT through the I/O APIC).
   */
  onOutputChange(listener: (level: boolean) => void): void {
    this.outputListeners.push(listener);
  }

  hasPendingInterrupt(): boolean {
    return this.output;
  }

  acknowledgeInterrupt(): number {
    const [master, slave] = this.chips;
    const irq = master.pendingIrq(true);
    let vector: number;
    if (irq < 0) {
      // The request went away before INTA: the 8259A answers with IR7 and sets no ISR bit.
      vector = master.vectorBase + SPURIOUS_IRQ;
    } else {
      master.acknowledge(irq);
      if (irq === PIC_CASCADE_IRQ) {
        const irq2 = slave.pendingIrq(false);
        if (irq2 < 0) {
          vector = slave.vectorBase + SPURIOUS_IRQ;
        } else {
          slave.acknowledge(irq2);
          vector = slave.vectorBase + irq2;
        }
      } else {
        vector = master.vectorBase + irq;
      }
    }
    this.update();
    return vector & 0xff;
  }

  /** Registers for tests and debuggers: IRR, ISR and IMR of both chips (slave in bits 8-15). */
  get irr(): number {
    return this.chips[0].irr | (this.chips[1].irr << 8);
  }

  get isr(): number {
    return this.chips[0].isr | (this.chips[1].isr << 8);
  }

  get imr(): number {
    return this.chips[0].imr | (this.chips[1].imr << 8);
  }

  private readPort(index: 0 | 1, offset: number): number {
    const chip = this.chips[index];
    if (chip.poll) {
      // Poll command: the next read returns the poll word and acknowledges that input.
      chip.poll = false;
      const irq = chip.pendingIrq(index === 0);
      if (irq < 0) return 0;
      chip.acknowledge(irq);
      this.update();
      return POLL_INTERRUPT | irq;
    }
    if ((offset & 1) === 0) return chip.readIsr ? chip.isr : chip.irr;
    return chip.imr;
  }

  private writePort(index: 0 | 1, offset: number, value: number): void {
    const chip = this.chips[index];
    if ((offset & 1) === 0) chip.writeCommand(value);
    else chip.writeData(value);
    this.update();
  }

  /** Propagate the slave's INT to master IR2, then the master's INT to the CPU. */
  private update(): void {
    const [master, slave] = this.chips;
    master.setCascade(slave.pendingIrq(false) >= 0);
    const out = master.pendingIrq(true) >= 0;
    if (out !== this.output) {
      this.output = out;
      for (const listener of this.outputListeners) listener(out);
    }
  }

  reset(): void {
    this.chips[0].reset();
    this.chips[1].reset();
    this.update();
  }

  saveState(): DeviceState {
    const chip = (c: Pic8259Chip): { [field: string]: number | boolean } => {
      const out: { [field: string]: number | boolean } = {};
      for (const f of CHIP_FIELDS) out[f] = c[f];
      for (const f of CHIP_FLAGS) out[f] = c[f];
      return out;
    };
    return { version: 1, master: chip(this.chips[0]), slave: chip(this.chips[1]) };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const read = (which: 'master' | 'slave', elcrMask: number): Record<string, number | boolean> => {
      const c = r.child(which);
      const out: Record<string, number | boolean> = {};
      for (const f of CHIP_FIELDS) out[f] = c.int(f, 0, 0xff);
      out['elcr'] = c.bits('elcr', 0xff, ~elcrMask & 0xff);
      out['vectorBase'] = c.bits('vectorBase', 0xff, 7);
      out['icw4'] = c.bits('icw4', 0xff, 0xe0);
      out['initStep'] = c.int('initStep', INIT_NONE, INIT_ICW4);
      out['priorityAdd'] = c.int('priorityAdd', 0, 7);
      for (const f of CHIP_FLAGS) out[f] = c.bool(f);
      return out;
    };
    const values = [read('master', ELCR_MASTER_MASK), read('slave', ELCR_SLAVE_MASK)];
    for (let i = 0; i < 2; i++) Object.assign(this.chips[i], values[i]);
    this.update();
  }
}
