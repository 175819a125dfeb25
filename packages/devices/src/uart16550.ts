import type { Clock, Timer } from './clock.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';

// NS16550A datasheet, "Registers" (Table II) — register offsets from the base port.
const REG_DATA = 0; // RBR (read) / THR (write) / DLL (DLAB=1)
const REG_IER = 1; // IER / DLM (DLAB=1)
const REG_IIR_FCR = 2;
const REG_LCR = 3;
const REG_MCR = 4;
const REG_LSR = 5;
const REG_MSR = 6;
const REG_SCR = 7;

/** IER: received data available, THR empty, receiver line status, modem status (bits 4-7 read 0). */
export const IER_RDI = 0x01;
export const IER_THRI = 0x02;
export const IER_RLSI = 0x04;
export const IER_MSI = 0x08;
const IER_MASK = 0x0f;

/** IIR interrupt identification, highest priority first (datasheet Table IV). */
export const IIR_NO_INTERRUPT = 0x01;
export const IIR_LINE_STATUS = 0x06;
export const IIR_RX_DATA = 0x04;
export const IIR_RX_TIMEOUT = 0x0c;
export const IIR_THR_EMPTY = 0x02;
export const IIR_MODEM_STATUS = 0x00;
/** IIR bits 7-6 read 11 when the FIFOs are enabled. */
const IIR_FIFO_ENABLED = 0xc0;

/**
 * FCR: FIFO enable, clear RX FIFO, clear TX FIFO (bit 2: nothing to do, transmission is
 * immediate), DMA mode, RX trigger level (bits 7-6).
 */
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const FCR_STORED = 0xc9;
const RX_TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** LCR: word length (bits 1-0), stop bits, parity enable, DLAB (bit 7). */
const LCR_STOP_BITS = 0x04;
const LCR_PARITY = 0x08;
export const LCR_DLAB = 0x80;

/** MCR: DTR, RTS, OUT1, OUT2 (gates the interrupt onto the ISA bus on a PC), loopback. */
export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;
const MCR_MASK = 0x1f;

/** LSR: data ready, overrun, parity, framing, break, THR empty, transmitter empty, RX FIFO error. */
export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_PE = 0x04;
export const LSR_FE = 0x08;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
export const LSR_FIFO_ERROR = 0x80;
const LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

/** MSR: delta CTS, delta DSR, trailing edge RI, delta DCD; then CTS, DSR, RI, DCD. */
export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
const MSR_DELTAS = 0x0f;

export const UART_FIFO_SIZE = 16;
/** Bytes the host may queue ahead of the receive FIFO (a terminal paste, a socket burst). */
export const UART_HOST_QUEUE_SIZE = 4096;
/** The PC's 1.8432 MHz UART clock; the baud rate is clock / (16 * divisor). */
const UART_CLOCK_HZ = 1_843_200;
/** The character timeout fires after four character times without FIFO activity. */
const TIMEOUT_CHARACTERS = 4;

/** The conventional PC serial ports: base port and ISA IRQ. */
export const COM_PORTS = [
  { base: 0x3f8, irq: 4 },
  { base: 0x2f8, irq: 3 },
  { base: 0x3e8, irq: 4 },
  { base: 0x2e8, irq: 3 },
] as const;

export interface ModemInputs {
  cts: boolean;
  dsr: boolean;
  ri: boolean;
  dcd: boolean;
}

/**
 * A National Semiconductor 16550A UART (eight ports from its base). Transmitted bytes go to the
 * host's sink at once; bytes from the host wait in a queue and enter the receive FIFO as the guest
 * makes room. The interrupt output is gated by MCR OUT2, as on a PC.
 */
export class Uart16550 implements Device, IoHandler {
  readonly name: string;
  private readonly clock: Clock;
  private readonly irq: IrqLine;
  private readonly timeoutTimer: Timer;
  private sink: ((byte: number) => void) | undefined;
  /** Called once the host queue has drained after `receive` had to refuse bytes (backpressure). */
  onReceiveSpace: (() => void) | undefined;
  private hostBlocked = false;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  private msr = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fcr = 0;
  private thrInterrupt = false;
  private timeoutPending = false;
  private hostInputs = MSR_CTS | MSR_DSR | MSR_DCD;
  private irqLevel = false;

  private readonly rx = new Uint8Array(UART_FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private readonly host = new Uint8Array(UART_HOST_QUEUE_SIZE);
  private hostHead = 0;
  private hostCount = 0;

  constructor(options: { clock: Clock; irq: IrqLine; name?: string; sink?: (byte: number) => void }) {
    this.name = options.name ?? 'uart';
    this.clock = options.clock;
    this.irq = options.irq;
    this.sink = options.sink;
    this.timeoutTimer = this.clock.createTimer(`${this.name}.timeout`, () => {
      if (this.fifoEnabled() && this.rxCount > 0) {
        this.timeoutPending = true;
        this.update();
      }
    });
    this.reset();
  }

  /** Where transmitted bytes go (a terminal, a file, a socket); undefined drops them. */
  setSink(sink: ((byte: number) => void) | undefined): void {
    this.sink = sink;
  }

  /** Queue bytes from the host; returns how many were accepted (the rest did not fit). */
  receive(bytes: ArrayLike<number>): number {
    let accepted = 0;
    while (accepted < bytes.length && this.hostCount < UART_HOST_QUEUE_SIZE) {
      this.host[(this.hostHead + this.hostCount) % UART_HOST_QUEUE_SIZE] = bytes[accepted] & 0xff;
      this.hostCount++;
      accepted++;
    }
    if (accepted < bytes.length) this.hostBlocked = true;
    this.refill();
    this.update();
    return accepted;
  }

  /**
   * A break on the line from the host (a terminal's break key): a zero character with break
   * and framing error, as the receiver sees a line held low for a whole character.
   */
  receiveBreak(): void {
    if ((this.mcr & MCR_LOOP) !== 0) return;
    this.lsrErrors |= LSR_BI | LSR_FE;
    this.pushRx(0);
    this.update();
  }

  /** Free space in the host queue. */
  get receiveSpace(): number {
    return UART_HOST_QUEUE_SIZE - this.hostCount;
  }

  /** The modem lines the host presents (CTS, DSR, RI, DCD); a connected terminal has CTS, DSR, DCD. */
  setModemInputs(inputs: ModemInputs): void {
    this.hostInputs = (inputs.cts ? MSR_CTS : 0) | (inputs.dsr ? MSR_DSR : 0) | (inputs.ri ? MSR_RI : 0) | (inputs.dcd ? MSR_DCD : 0);
    this.updateModemStatus();
    this.update();
  }

  /** The modem control outputs as the guest drives them (DTR, RTS, OUT1, OUT2; forced off in loopback). */
  get modemControl(): number {
    return (this.mcr & MCR_LOOP) !== 0 ? 0 : this.mcr & (MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
  }

  /** The baud rate the guest programmed (0 while the divisor is 0). */
  get baudRate(): number {
    const divisor = this.dll | (this.dlm << 8);
    return divisor === 0 ? 0 : UART_CLOCK_HZ / (16 * divisor);
  }

  read8(offset: number): number {
    switch (offset) {
      case REG_DATA:
        return (this.lcr & LCR_DLAB) !== 0 ? this.dll : this.readRbr();
      case REG_IER:
        return (this.lcr & LCR_DLAB) !== 0 ? this.dlm : this.ier;
      case REG_IIR_FCR: {
        const id = this.interruptId();
        // Reading IIR while it reports THR empty clears that interrupt.
        if (id === IIR_THR_EMPTY) {
          this.thrInterrupt = false;
          this.update();
        }
        return id | (this.fifoEnabled() ? IIR_FIFO_ENABLED : 0);
      }
      case REG_LCR:
        return this.lcr;
      case REG_MCR:
        return this.mcr;
      case REG_LSR: {
        const value = this.lsr();
        this.lsrErrors = 0;
        this.update();
        return value;
      }
      case REG_MSR: {
        const value = this.msr;
        this.msr &= ~MSR_DELTAS;
        this.update();
        return value;
      }
      case REG_SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  write8(offset: number, value: number): void {
    switch (offset) {
      case REG_DATA:
        if ((this.lcr & LCR_DLAB) !== 0) this.dll = value;
        else this.transmit(value);
        break;
      case REG_IER:
        if ((this.lcr & LCR_DLAB) !== 0) {
          this.dlm = value;
        } else {
          const before = this.ier;
          this.ier = value & IER_MASK;
          // Enabling the THR-empty interrupt while THR is empty raises it (Linux's THRE test).
          if ((this.ier & ~before & IER_THRI) !== 0) this.thrInterrupt = true;
        }
        break;
      case REG_IIR_FCR:
        this.writeFcr(value);
        break;
      case REG_LCR:
        this.lcr = value;
        break;
      case REG_MCR:
        this.mcr = value & MCR_MASK;
        this.updateModemStatus();
        break;
      case REG_SCR:
        this.scr = value;
        break;
      default:
        break; // LSR and MSR are read-only (factory test writes are not modelled)
    }
    this.update();
  }

  private fifoEnabled(): boolean {
    return (this.fcr & FCR_ENABLE) !== 0;
  }

  private rxCapacity(): number {
    return this.fifoEnabled() ? UART_FIFO_SIZE : 1;
  }

  private lsr(): number {
    return (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT | (this.fifoEnabled() && (this.lsrErrors & (LSR_PE | LSR_FE | LSR_BI)) !== 0 ? LSR_FIFO_ERROR : 0);
  }

  private interruptId(): number {
    const ier = this.ier;
    if ((ier & IER_RLSI) !== 0 && (this.lsrErrors & LSR_ERRORS) !== 0) return IIR_LINE_STATUS;
    if ((ier & IER_RDI) !== 0 && this.rxCount > 0) {
      const trigger = this.fifoEnabled() ? RX_TRIGGER_LEVELS[this.fcr >>> 6] : 1;
      if (this.rxCount >= trigger) return IIR_RX_DATA;
      if (this.timeoutPending) return IIR_RX_TIMEOUT;
    }
    if ((ier & IER_THRI) !== 0 && this.thrInterrupt) return IIR_THR_EMPTY;
    if ((ier & IER_MSI) !== 0 && (this.msr & MSR_DELTAS) !== 0) return IIR_MODEM_STATUS;
    return IIR_NO_INTERRUPT;
  }

  private readRbr(): number {
    if (this.rxCount === 0) return 0;
    const byte = this.rx[this.rxHead];
    this.rxHead = (this.rxHead + 1) % UART_FIFO_SIZE;
    this.rxCount--;
    this.timeoutPending = false;
    this.refill();
    this.armTimeout();
    this.update();
    return byte;
  }

  private transmit(byte: number): void {
    this.thrInterrupt = false;
    if ((this.mcr & MCR_LOOP) !== 0) {
      this.pushRx(byte);
    } else {
      this.sink?.(byte);
    }
    // The byte leaves THR at once: THR is empty again, which is a new THR-empty interrupt.
    this.thrInterrupt = true;
  }

  private pushRx(byte: number): void {
    if (this.rxCount >= this.rxCapacity()) {
      this.lsrErrors |= LSR_OE;
      // Without FIFOs the new character overwrites the holding register; with them it is lost.
      if (!this.fifoEnabled()) this.rx[this.rxHead] = byte;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % UART_FIFO_SIZE] = byte;
    this.rxCount++;
    this.timeoutPending = false; // a new character restarts the timeout
    this.armTimeout();
  }

  /** Move host bytes into the receive FIFO while it has room (not in loopback: the line is cut). */
  private refill(): void {
    if ((this.mcr & MCR_LOOP) !== 0) return;
    while (this.hostCount > 0 && this.rxCount < this.rxCapacity()) {
      this.pushRx(this.host[this.hostHead]);
      this.hostHead = (this.hostHead + 1) % UART_HOST_QUEUE_SIZE;
      this.hostCount--;
    }
    if (this.hostBlocked && this.hostCount === 0) {
      this.hostBlocked = false;
      this.onReceiveSpace?.();
    }
  }

  private armTimeout(): void {
    if (!this.fifoEnabled() || this.rxCount === 0) {
      this.timeoutTimer.disarm();
      return;
    }
    const divisor = this.dll | (this.dlm << 8) || 1;
    const bits = 1 + 5 + (this.lcr & 3) + ((this.lcr & LCR_PARITY) !== 0 ? 1 : 0) + ((this.lcr & LCR_STOP_BITS) !== 0 ? 2 : 1);
    const characterNs = Math.ceil((bits * divisor * 16 * 1_000_000_000) / UART_CLOCK_HZ);
    this.timeoutTimer.arm(this.clock.now() + TIMEOUT_CHARACTERS * characterNs);
  }

  private writeFcr(value: number): void {
    const wasEnabled = this.fifoEnabled();
    const enable = (value & FCR_ENABLE) !== 0;
    // Changing FIFO enable clears both FIFOs; the other bits only count while FIFOs are enabled.
    if (enable !== wasEnabled || (enable && (value & FCR_CLEAR_RX) !== 0)) this.clearRx();
    this.fcr = enable ? value & FCR_STORED : 0;
    this.refill();
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.timeoutPending = false;
    this.timeoutTimer.disarm();
  }

  /** MSR inputs: the host's lines, or in loopback the guest's own outputs (RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD). */
  private updateModemStatus(): void {
    const m = this.mcr;
    const inputs =
      (m & MCR_LOOP) !== 0
        ? ((m & MCR_RTS) !== 0 ? MSR_CTS : 0) | ((m & MCR_DTR) !== 0 ? MSR_DSR : 0) | ((m & MCR_OUT1) !== 0 ? MSR_RI : 0) | ((m & MCR_OUT2) !== 0 ? MSR_DCD : 0)
        : this.hostInputs;
    const old = this.msr & 0xf0;
    const changed = old ^ inputs;
    let deltas = this.msr & MSR_DELTAS;
    if ((changed & MSR_CTS) !== 0) deltas |= MSR_DCTS;
    if ((changed & MSR_DSR) !== 0) deltas |= MSR_DDSR;
    if ((changed & MSR_DCD) !== 0) deltas |= MSR_DDCD;
    if ((old & MSR_RI) !== 0 && (inputs & MSR_RI) === 0) deltas |= MSR_TERI;
    this.msr = inputs | deltas;
  }

  private update(force = false): void {
    const pending = this.interruptId() !== IIR_NO_INTERRUPT;
    const level = pending && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    if (level !== this.irqLevel || force) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** Master reset: registers to their datasheet reset values; the host queue is kept. */
  reset(): void {
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.lsrErrors = 0;
    this.scr = 0;
    this.dll = 0;
    this.dlm = 0;
    this.fcr = 0;
    this.thrInterrupt = false;
    this.msr = this.hostInputs;
    this.clearRx();
    this.refill();
    this.update();
  }

  saveState(): DeviceState {
    const rx = new Uint8Array(this.rxCount);
    for (let i = 0; i < this.rxCount; i++) rx[i] = this.rx[(this.rxHead + i) % UART_FIFO_SIZE];
    const host = new Uint8Array(this.hostCount);
    for (let i = 0; i < this.hostCount; i++) host[i] = this.host[(this.hostHead + i) % UART_HOST_QUEUE_SIZE];
    return {
      version: 1,
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      lsrErrors: this.lsrErrors,
      msr: this.msr,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      fcr: this.fcr,
      thrInterrupt: this.thrInterrupt,
      timeoutPending: this.timeoutPending,
      timeoutDeadline: this.timeoutTimer.armed ? this.timeoutTimer.deadline : -1,
      hostInputs: this.hostInputs,
      rx,
      host,
    };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const s = {
      ier: r.bits('ier', 0xff, ~IER_MASK & 0xff),
      lcr: r.int('lcr', 0, 0xff),
      mcr: r.bits('mcr', 0xff, ~MCR_MASK & 0xff),
      lsrErrors: r.bits('lsrErrors', 0xff, ~LSR_ERRORS & 0xff),
      msr: r.int('msr', 0, 0xff),
      scr: r.int('scr', 0, 0xff),
      dll: r.int('dll', 0, 0xff),
      dlm: r.int('dlm', 0, 0xff),
      fcr: r.bits('fcr', 0xff, ~FCR_STORED & 0xff),
      thrInterrupt: r.bool('thrInterrupt'),
      timeoutPending: r.bool('timeoutPending'),
      hostInputs: r.bits('hostInputs', 0xff, MSR_DELTAS),
    };
    const deadline = r.number('timeoutDeadline');
    if (deadline !== -1 && deadline < 0) r.fail('timeoutDeadline', 'must be -1 or a time');
    const rx = r.bytes('rx', (s.fcr & FCR_ENABLE) !== 0 ? UART_FIFO_SIZE : 1, false);
    const host = r.bytes('host', UART_HOST_QUEUE_SIZE, false);
    if (host.length > 0 && rx.length < ((s.fcr & FCR_ENABLE) !== 0 ? UART_FIFO_SIZE : 1) && (s.mcr & MCR_LOOP) === 0) {
      // Not reachable from a running UART: the host queue drains into a FIFO with room.
      throw new DeviceError('InvalidState', `${this.name}: saved state has host bytes queued behind a receive FIFO with room`);
    }
    Object.assign(this, s);
    this.rx.set(rx);
    this.rxHead = 0;
    this.rxCount = rx.length;
    this.host.set(host);
    this.hostHead = 0;
    this.hostCount = host.length;
    if (deadline >= 0) this.timeoutTimer.arm(deadline);
    else this.timeoutTimer.disarm();
    this.update(true);
  }
}
