import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';
import { Ps2Keyboard, SET2_BREAK, SET2_TO_SET1 } from './ps2-keyboard.js';
import { Ps2Mouse } from './ps2-mouse.js';

// Intel 8042 / IBM PC/AT keyboard controller: status register bits (port 0x64 read).
export const STATUS_OBF = 0x01;
export const STATUS_IBF = 0x02;
export const STATUS_SYS = 0x04;
/** A2: the last write was to the command port. */
export const STATUS_CMD = 0x08;
/** Keyboard inhibit switch: 1 = not inhibited. */
export const STATUS_UNLOCKED = 0x10;
export const STATUS_AUX_OBF = 0x20;

/** Controller command byte (RAM byte 0). */
export const CTR_KBD_INT = 0x01;
export const CTR_AUX_INT = 0x02;
export const CTR_SYS = 0x04;
export const CTR_KBD_DISABLE = 0x10;
export const CTR_AUX_DISABLE = 0x20;
export const CTR_TRANSLATE = 0x40;
/** The command byte a PC BIOS leaves behind (SeaBIOS): keyboard IRQ, system flag, mouse off, translation. */
export const CTR_AFTER_BIOS = CTR_KBD_INT | CTR_SYS | CTR_AUX_DISABLE | CTR_TRANSLATE;

/** Output port bits (commands 0xD0/0xD1): system reset (active low), A20 gate, OBF lines. */
export const OUTPUT_RESET = 0x01;
export const OUTPUT_A20 = 0x02;
const OUTPUT_KBD_OBF = 0x10;
const OUTPUT_AUX_OBF = 0x20;
const OUTPUT_STORED = 0xcf;
/** Power-on output port: reset deasserted, A20 on, keyboard clock and data high. */
const OUTPUT_POWER_ON = 0xcf;
/** Input port (command 0xC0): keyboard not inhibited. */
const INPUT_PORT = 0x80;

// Controller commands.
const CMD_READ_RAM = 0x20; // 0x20-0x3F
const CMD_WRITE_RAM = 0x60; // 0x60-0x7F
const CMD_AUX_DISABLE = 0xa7;
const CMD_AUX_ENABLE = 0xa8;
const CMD_AUX_TEST = 0xa9;
const CMD_SELF_TEST = 0xaa;
const CMD_KBD_TEST = 0xab;
const CMD_KBD_DISABLE = 0xad;
const CMD_KBD_ENABLE = 0xae;
const CMD_READ_INPUT = 0xc0;
const CMD_READ_OUTPUT = 0xd0;
const CMD_WRITE_OUTPUT = 0xd1;
const CMD_WRITE_KBD_OBUF = 0xd2;
const CMD_WRITE_AUX_OBUF = 0xd3;
const CMD_WRITE_AUX = 0xd4;
const CMD_A20_DISABLE = 0xdd;
const CMD_A20_ENABLE = 0xdf;
const CMD_READ_TEST = 0xe0;
const CMD_PULSE = 0xf0; // 0xF0-0xFF: pulse output bits 0-3 low where the command bit is 0
const SELF_TEST_OK = 0x55;
const PORT_TEST_OK = 0x00;

/** Where the byte in the output buffer came from. */
const SOURCE_CONTROLLER = 0;
const SOURCE_KBD = 1;
const SOURCE_AUX = 2;
const RAM_SIZE = 32;
const REPLY_QUEUE_SIZE = 16;

/**
 * The 8042 keyboard controller with a PS/2 keyboard and mouse. Two one-port I/O handlers:
 * `data` (0x60) and `control` (0x64) — port 0x61 between them belongs to another device. Keyboard
 * data raises IRQ 1 and mouse data IRQ 12 while in the output buffer and enabled by the command
 * byte. The A20 and reset outputs are callbacks.
 */
export class I8042 implements Device {
  readonly name: string;
  readonly keyboard = new Ps2Keyboard();
  readonly mouse = new Ps2Mouse();
  private readonly kbdIrq: IrqLine;
  private readonly auxIrq: IrqLine;
  private readonly onA20: ((enabled: boolean) => void) | undefined;
  private readonly onReset: (() => void) | undefined;

  private readonly ram = new Uint8Array(RAM_SIZE);
  /** Controller replies and D2/D3 bytes, served ahead of the devices: value | source << 8. */
  private readonly replies = new Uint16Array(REPLY_QUEUE_SIZE);
  private replyHead = 0;
  private replyCount = 0;
  private outputBuffer = 0;
  private obFull = false;
  private obSource = SOURCE_CONTROLLER;
  private pendingCommand = 0;
  private lastWasCommand = false;
  private outputPort = OUTPUT_POWER_ON;
  /** Translation saw a set 2 break prefix and waits for the code. */
  private breakPrefix = false;
  private kbdLevel = false;
  private auxLevel = false;

  readonly data: IoHandler = {
    read8: () => this.readData(),
    write8: (_offset, value) => this.writeData(value),
  };

  readonly control: IoHandler = {
    read8: () => this.status(),
    write8: (_offset, value) => this.writeCommand(value),
  };

  constructor(options: { kbdIrq: IrqLine; auxIrq: IrqLine; name?: string; onA20?: (enabled: boolean) => void; onReset?: () => void }) {
    this.name = options.name ?? 'i8042';
    this.kbdIrq = options.kbdIrq;
    this.auxIrq = options.auxIrq;
    this.onA20 = options.onA20;
    this.onReset = options.onReset;
    this.keyboard.onData = () => this.refill();
    this.mouse.onData = () => this.refill();
    this.ram[0] = CTR_AFTER_BIOS;
  }

  /** The A20 gate as the output port drives it. */
  get a20(): boolean {
    return (this.outputPort & OUTPUT_A20) !== 0;
  }

  get commandByte(): number {
    return this.ram[0];
  }

  private status(): number {
    return (
      (this.obFull ? STATUS_OBF : 0) |
      (this.ram[0] & CTR_SYS ? STATUS_SYS : 0) |
      (this.lastWasCommand ? STATUS_CMD : 0) |
      STATUS_UNLOCKED |
      (this.obFull && this.obSource === SOURCE_AUX ? STATUS_AUX_OBF : 0)
    );
  }

  private readData(): number {
    const value = this.outputBuffer;
    if (this.obFull) {
      this.obFull = false;
      this.updateIrq(); // the line drops, so the next byte makes a fresh edge
      this.refill();
    }
    return value;
  }

  private writeData(value: number): void {
    this.lastWasCommand = false;
    const command = this.pendingCommand;
    this.pendingCommand = 0;
    if (command >= CMD_WRITE_RAM && command < CMD_WRITE_RAM + RAM_SIZE) {
      this.ram[command - CMD_WRITE_RAM] = value;
      this.updateIrq();
      this.refill();
      return;
    }
    switch (command) {
      case CMD_WRITE_OUTPUT:
        this.writeOutputPort(value);
        return;
      case CMD_WRITE_KBD_OBUF:
        this.reply(value, SOURCE_KBD);
        return;
      case CMD_WRITE_AUX_OBUF:
        this.reply(value, SOURCE_AUX);
        return;
      case CMD_WRITE_AUX:
        this.mouse.write(value);
        return;
      default:
        this.keyboard.write(value);
    }
  }

  private writeCommand(command: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = 0;
    if (command >= CMD_READ_RAM && command < CMD_READ_RAM + RAM_SIZE) {
      this.reply(this.ram[command - CMD_READ_RAM], SOURCE_CONTROLLER);
      return;
    }
    if (command >= CMD_WRITE_RAM && command < CMD_WRITE_RAM + RAM_SIZE) {
      this.pendingCommand = command;
      return;
    }
    if (command >= CMD_PULSE) {
      if ((command & OUTPUT_RESET) === 0) this.onReset?.();
      return;
    }
    switch (command) {
      case CMD_AUX_DISABLE:
        this.ram[0] |= CTR_AUX_DISABLE;
        break;
      case CMD_AUX_ENABLE:
        this.ram[0] &= ~CTR_AUX_DISABLE;
        this.refill();
        break;
      case CMD_AUX_TEST:
      case CMD_KBD_TEST:
        this.reply(PORT_TEST_OK, SOURCE_CONTROLLER);
        break;
      case CMD_SELF_TEST:
        this.ram[0] |= CTR_SYS;
        this.reply(SELF_TEST_OK, SOURCE_CONTROLLER);
        break;
      case CMD_KBD_DISABLE:
        this.ram[0] |= CTR_KBD_DISABLE;
        break;
      case CMD_KBD_ENABLE:
        this.ram[0] &= ~CTR_KBD_DISABLE;
        this.refill();
        break;
      case CMD_READ_INPUT:
        this.reply(INPUT_PORT, SOURCE_CONTROLLER);
        break;
      case CMD_READ_OUTPUT:
        this.reply(
          (this.outputPort & OUTPUT_STORED) |
            (this.obFull && this.obSource === SOURCE_KBD ? OUTPUT_KBD_OBF : 0) |
            (this.obFull && this.obSource === SOURCE_AUX ? OUTPUT_AUX_OBF : 0),
          SOURCE_CONTROLLER,
        );
        break;
      case CMD_WRITE_OUTPUT:
      case CMD_WRITE_KBD_OBUF:
      case CMD_WRITE_AUX_OBUF:
      case CMD_WRITE_AUX:
        this.pendingCommand = command;
        break;
      case CMD_A20_DISABLE:
        this.writeOutputPort(this.outputPort & ~OUTPUT_A20);
        break;
      case CMD_A20_ENABLE:
        this.writeOutputPort(this.outputPort | OUTPUT_A20);
        break;
      case CMD_READ_TEST:
        this.reply(0x00, SOURCE_CONTROLLER);
        break;
      default:
        break; // unknown commands are ignored, as most controllers do
    }
  }

  private writeOutputPort(value: number): void {
    const before = this.outputPort;
    this.outputPort = (value & OUTPUT_STORED) | OUTPUT_RESET;
    if (((before ^ this.outputPort) & OUTPUT_A20) !== 0) this.onA20?.((this.outputPort & OUTPUT_A20) !== 0);
    if ((value & OUTPUT_RESET) === 0) this.onReset?.();
  }

  private reply(value: number, source: number): void {
    if (this.replyCount < REPLY_QUEUE_SIZE) {
      this.replies[(this.replyHead + this.replyCount) % REPLY_QUEUE_SIZE] = value | (source << 8);
      this.replyCount++;
    }
    this.refill();
  }

  /** Fill the empty output buffer: controller replies first, then the keyboard, then the mouse. */
  private refill(): void {
    while (!this.obFull) {
      if (this.replyCount > 0) {
        const entry = this.replies[this.replyHead];
        this.replyHead = (this.replyHead + 1) % REPLY_QUEUE_SIZE;
        this.replyCount--;
        this.outputBuffer = entry & 0xff;
        this.obSource = entry >>> 8;
        this.obFull = true;
      } else if ((this.ram[0] & CTR_KBD_DISABLE) === 0 && this.keyboard.queue.length > 0) {
        const b = this.keyboard.queue.take();
        if ((this.ram[0] & CTR_TRANSLATE) !== 0) {
          if (b === SET2_BREAK) {
            this.breakPrefix = true;
            continue;
          }
          this.outputBuffer = SET2_TO_SET1[b] | (this.breakPrefix ? 0x80 : 0);
          this.breakPrefix = false;
        } else {
          this.outputBuffer = b;
        }
        this.obSource = SOURCE_KBD;
        this.obFull = true;
      } else if ((this.ram[0] & CTR_AUX_DISABLE) === 0 && this.mouse.queue.length > 0) {
        this.outputBuffer = this.mouse.queue.take();
        this.obSource = SOURCE_AUX;
        this.obFull = true;
      } else {
        break;
      }
    }
    this.updateIrq();
  }

  private updateIrq(force = false): void {
    const kbd = this.obFull && this.obSource === SOURCE_KBD && (this.ram[0] & CTR_KBD_INT) !== 0;
    const aux = this.obFull && this.obSource === SOURCE_AUX && (this.ram[0] & CTR_AUX_INT) !== 0;
    if (kbd !== this.kbdLevel || force) {
      this.kbdLevel = kbd;
      this.kbdIrq.set(kbd);
    }
    if (aux !== this.auxLevel || force) {
      this.auxLevel = aux;
      this.auxIrq.set(aux);
    }
  }

  reset(): void {
    this.keyboard.reset();
    this.mouse.reset();
    this.ram.fill(0);
    this.ram[0] = CTR_AFTER_BIOS;
    this.replyHead = 0;
    this.replyCount = 0;
    this.outputBuffer = 0;
    this.obFull = false;
    this.obSource = SOURCE_CONTROLLER;
    this.pendingCommand = 0;
    this.lastWasCommand = false;
    this.breakPrefix = false;
    const a20Before = this.a20;
    this.outputPort = OUTPUT_POWER_ON;
    if (!a20Before) this.onA20?.(true);
    this.updateIrq();
  }

  saveState(): DeviceState {
    const replies = new Uint8Array(this.replyCount);
    const sources = new Uint8Array(this.replyCount);
    for (let i = 0; i < this.replyCount; i++) {
      const entry = this.replies[(this.replyHead + i) % REPLY_QUEUE_SIZE];
      replies[i] = entry & 0xff;
      sources[i] = entry >>> 8;
    }
    return {
      version: 1,
      ram: this.ram.slice(),
      replies,
      replySources: sources,
      outputBuffer: this.outputBuffer,
      obFull: this.obFull,
      obSource: this.obSource,
      pendingCommand: this.pendingCommand,
      lastWasCommand: this.lastWasCommand,
      outputPort: this.outputPort,
      breakPrefix: this.breakPrefix,
      keyboard: this.keyboard.saveState(),
      mouse: this.mouse.saveState(),
    };
  }

  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const ram = r.bytes('ram', RAM_SIZE);
    const replies = r.bytes('replies', REPLY_QUEUE_SIZE, false);
    const sources = r.bytes('replySources', replies.length);
    for (let i = 0; i < sources.length; i++) if (sources[i] > SOURCE_AUX) r.fail('replySources', `entry ${i} is not a source (0-2)`);
    const fields = {
      outputBuffer: r.int('outputBuffer', 0, 0xff),
      obFull: r.bool('obFull'),
      obSource: r.int('obSource', SOURCE_CONTROLLER, SOURCE_AUX),
      pendingCommand: r.int('pendingCommand', 0, 0xff),
      lastWasCommand: r.bool('lastWasCommand'),
      outputPort: r.bits('outputPort', 0xff, ~OUTPUT_STORED & 0xff),
      breakPrefix: r.bool('breakPrefix'),
    };
    const pc = fields.pendingCommand;
    if (pc !== 0 && !(pc >= CMD_WRITE_RAM && pc < CMD_WRITE_RAM + RAM_SIZE) && (pc < CMD_WRITE_OUTPUT || pc > CMD_WRITE_AUX)) {
      r.fail('pendingCommand', `is not a command that takes a data byte (0x${pc.toString(16)})`);
    }
    const applyKbd = Ps2Keyboard.readState(r.child('keyboard'));
    const applyMouse = Ps2Mouse.readState(r.child('mouse'));
    const a20Before = this.a20;
    this.ram.set(ram);
    for (let i = 0; i < replies.length; i++) this.replies[i] = replies[i] | (sources[i] << 8);
    this.replyHead = 0;
    this.replyCount = replies.length;
    Object.assign(this, fields);
    applyKbd(this.keyboard);
    applyMouse(this.mouse);
    if (this.a20 !== a20Before) this.onA20?.(this.a20);
    this.updateIrq(true);
  }
}
