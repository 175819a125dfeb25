import {
  APIC_DEFAULT_BASE,
  COM_PORTS,
  DebugConsole,
  DebugExit,
  DualPic,
  FW_CFG_IO_BASE,
  FW_CFG_IO_SIZE,
  FwCfg,
  I440fx,
  I8042,
  IoApic,
  IoBus,
  IrqRouter,
  LocalApic,
  Piix3,
  Pit8254,
  PciHost,
  Port92,
  CoprocessorErrorLatch,
  ResetControl,
  Rtc,
  SystemControlPortB,
  Uart16550,
  VirtualClock,
  type Device,
  type InterruptAcknowledge,
  type IoHandler,
} from '@tsvm/devices';
import type { MmioHandler, PhysicalMemory } from '@tsvm/mmu';

/** Where a guest-initiated reset came from. */
export type ResetSource = 'keyboard-controller' | 'port92' | 'reset-control' | 'triple-fault' | 'policy';

/** What the board tells the machine. Called from inside an I/O instruction: record, do not re-enter the CPU. */
export interface BoardEvents {
  a20Changed(enabled: boolean): void;
  resetRequested(source: ResetSource): void;
  exitRequested(status: number): void;
  debugConsole(byte: number): void;
}

export interface BoardOptions {
  memory: PhysicalMemory;
  serialPorts: number;
  pci: boolean;
  apic: boolean;
  rtcStart: number;
  events: BoardEvents;
}

/** PC standard ports (IBM PC/AT Technical Reference; QEMU's pc machine for the debug devices). */
export const PORT_PIC_MASTER = 0x20;
export const PORT_PIC_SLAVE = 0xa0;
export const PORT_ELCR = 0x4d0;
export const PORT_PIT = 0x40;
export const PORT_SYSTEM_CONTROL_B = 0x61;
export const PORT_KBC_DATA = 0x60;
export const PORT_KBC_CONTROL = 0x64;
export const PORT_RTC = 0x70;
export const PORT_A20_FAST = 0x92;
export const PORT_PCI_CONFIG = 0xcf8;
export const PORT_RESET_CONTROL = 0xcf9;
export const PORT_DEBUG_CONSOLE = 0xe9;
export const PORT_DEBUG_EXIT = 0xf4;
/** The coprocessor-error latch: FERR# to IRQ 13, cleared by a write to 0xF0. */
export const PORT_FPU_ERROR = 0xf0;
/** Where SeaBIOS built for QEMU writes its log (QEMU's `-device isa-debugcon,iobase=0x402`). */
export const PORT_FIRMWARE_DEBUG_CONSOLE = 0x402;
export const IOAPIC_DEFAULT_BASE = 0xfec0_0000;
const IRQ_PIT = 0;
const IRQ_KEYBOARD = 1;
const IRQ_RTC = 8;
const IRQ_FPU_ERROR = 13;
const IRQ_MOUSE = 12;
/** ISA lines 0-15 plus the four PCI PIRQ inputs of an I/O APIC. */
const ROUTER_LINES = 24;

/**
 * The PC's devices on one I/O bus and one set of interrupt lines: the PIC pair, PIT and port 0x61,
 * RTC/CMOS, COM1-COM4, the i8042 with its A20 and reset lines, port 0x92, 0xCF9, the debug console
 * and isa-debug-exit, the PCI host with the i440FX and PIIX3, and optionally the local and I/O APICs.
 * Devices see offsets; this is the one place that knows their ports and IRQs.
 */
export class PcBoard {
  readonly clock = new VirtualClock();
  readonly bus = new IoBus();
  readonly router = new IrqRouter(ROUTER_LINES);
  readonly pic = new DualPic();
  readonly pit: Pit8254;
  readonly portB: SystemControlPortB;
  readonly rtc: Rtc;
  readonly uarts: Uart16550[] = [];
  readonly kbc: I8042;
  readonly port92: Port92;
  /** FERR# to IRQ 13; the machine connects the CPU's FPU to `fpuError.setFerr`. */
  readonly fpuError: CoprocessorErrorLatch;
  readonly resetControl: ResetControl;
  readonly debugConsole: DebugConsole;
  readonly debugExit: DebugExit;
  readonly pciHost: PciHost | undefined;
  /** The host bridge at 00:00.0 (its PAM registers drive the shadow RAM of a firmware boot). */
  readonly i440fx: I440fx | undefined;
  /** QEMU's firmware configuration device at 0x510 (the machine adds the items). */
  readonly fwCfg: FwCfg;
  /** The firmware log port at 0x402, writing to the same place as the debug console. */
  readonly firmwareDebugConsole: DebugConsole;
  readonly lapic: LocalApic | undefined;
  readonly ioapic: IoApic | undefined;
  /** What the CPU asks for interrupts: the local APIC when present, else the master PIC. */
  readonly interruptController: InterruptAcknowledge;
  /** Every device, for reset and (later) snapshots. */
  readonly devices: Device[] = [];

  constructor(options: BoardOptions) {
    const { clock, bus, router, pic, devices } = this;
    const ev = options.events;
    pic.attach(router);
    this.add(pic, 'pic-master', PORT_PIC_MASTER, 2, pic.master);
    bus.register('pic-slave', PORT_PIC_SLAVE, 2, pic.slave);
    bus.register('elcr', PORT_ELCR, 2, pic.elcr);

    this.pit = new Pit8254({ clock, irq: router.source(IRQ_PIT) });
    this.add(this.pit, 'pit', PORT_PIT, 4);
    this.portB = new SystemControlPortB({ pit: this.pit, clock });
    this.add(this.portB, 'port61', PORT_SYSTEM_CONTROL_B, 1);

    this.rtc = new Rtc({ clock, irq: router.source(IRQ_RTC), startTime: options.rtcStart });
    this.add(this.rtc, 'rtc', PORT_RTC, 2);

    for (let i = 0; i < options.serialPorts; i++) {
      const com = COM_PORTS[i];
      const uart = new Uart16550({ clock, irq: router.source(com.irq), name: `com${i + 1}` });
      this.uarts.push(uart);
      this.add(uart, `com${i + 1}`, com.base, 8);
    }

    let kbcA20 = true;
    let fastA20 = false;
    const a20 = (): void => ev.a20Changed(kbcA20 || fastA20);
    this.kbc = new I8042({
      kbdIrq: router.source(IRQ_KEYBOARD),
      auxIrq: router.source(IRQ_MOUSE),
      onA20: (on) => {
        kbcA20 = on;
        a20();
      },
      onReset: () => ev.resetRequested('keyboard-controller'),
    });
    kbcA20 = this.kbc.a20;
    devices.push(this.kbc);
    bus.register('i8042-data', PORT_KBC_DATA, 1, this.kbc.data);
    bus.register('i8042-control', PORT_KBC_CONTROL, 1, this.kbc.control);
    this.port92 = new Port92({
      onA20: (on) => {
        fastA20 = on;
        a20();
      },
      onReset: () => ev.resetRequested('port92'),
    });
    this.add(this.port92, 'port92', PORT_A20_FAST, 1);
    this.fpuError = new CoprocessorErrorLatch({ irq: router.source(IRQ_FPU_ERROR) });
    this.add(this.fpuError, 'fpu-error', PORT_FPU_ERROR, 2);

    this.resetControl = new ResetControl({ onReset: () => ev.resetRequested('reset-control') });
    devices.push(this.resetControl);
    if (options.pci) {
      const host = new PciHost({ router, resetControl: this.resetControl });
      this.pciHost = host;
      this.add(host, 'pci', PORT_PCI_CONFIG, 8);
      this.i440fx = new I440fx();
      host.attach(this.i440fx, 0);
      host.attach(new Piix3({ host }), 1);
    } else {
      bus.register('reset-control', PORT_RESET_CONTROL, 1, this.resetControl);
    }

    this.debugConsole = new DebugConsole((b) => ev.debugConsole(b));
    this.add(this.debugConsole, 'debugcon', PORT_DEBUG_CONSOLE, 1);
    this.firmwareDebugConsole = new DebugConsole((b) => ev.debugConsole(b), 'debugcon-402');
    this.add(this.firmwareDebugConsole, 'debugcon-402', PORT_FIRMWARE_DEBUG_CONSOLE, 1);
    this.fwCfg = new FwCfg({ memory: options.memory });
    this.add(this.fwCfg, 'fw-cfg', FW_CFG_IO_BASE, FW_CFG_IO_SIZE);
    this.debugExit = new DebugExit((status) => ev.exitRequested(status));
    this.add(this.debugExit, 'debug-exit', PORT_DEBUG_EXIT, 4);

    if (options.apic) {
      const ioapicRef: { current: IoApic | undefined } = { current: undefined };
      const lapic = new LocalApic({ clock, extInt: pic, onEoi: (vector) => ioapicRef.current?.eoi(vector) });
      const ioapic = new IoApic({ sink: lapic });
      ioapicRef.current = ioapic;
      ioapic.attach(router);
      options.memory.mapMmio(APIC_DEFAULT_BASE, 0x1000, lapic, 'lapic');
      options.memory.mapMmio(IOAPIC_DEFAULT_BASE, 0x1000, ioapic, 'ioapic');
      devices.push(lapic, ioapic);
      this.lapic = lapic;
      this.ioapic = ioapic;
      this.interruptController = lapic;
    } else {
      this.interruptController = pic;
    }
  }

  /**
   * Leaves the board as a PC BIOS does when it hands over to an operating system: PIT channel 0
   * counting in mode 3 with the full 65,536 count (18.2 Hz). Used for direct kernel boots, where no
   * firmware runs; a kernel that reads the PIT before programming it (Linux's KASLR entropy poll
   * waits for the read-back status to show a loaded count) would otherwise wait forever.
   */
  initLikeFirmware(): void {
    this.bus.write8(PORT_PIT + 3, 0x36); // channel 0, LSB then MSB, mode 3, binary
    this.bus.write8(PORT_PIT, 0x00);
    this.bus.write8(PORT_PIT, 0x00);
  }

  /** The handlers of the board's MMIO regions by base address (a policy puts its checks in front of them). */
  mmioDevices(): Map<number, MmioHandler> {
    const out = new Map<number, MmioHandler>();
    if (this.lapic !== undefined) out.set(APIC_DEFAULT_BASE, this.lapic);
    if (this.ioapic !== undefined) out.set(IOAPIC_DEFAULT_BASE, this.ioapic);
    return out;
  }

  private add(device: Device & Partial<IoHandler>, name: string, base: number, length: number, handler: IoHandler = device): void {
    this.devices.push(device);
    this.bus.register(name, base, length, handler);
  }

  /** RESET: every device to its power-on state (time and CMOS NVRAM are battery-backed and stay). */
  reset(): void {
    for (const d of this.devices) d.reset();
  }
}
