import { describe, expect, it } from 'vitest';
import {
  COM_PORTS,
  DualPic,
  I8042,
  IoBus,
  IrqRouter,
  Pit8254,
  pitTimeOfTick,
  Port92,
  Rtc,
  SystemControlPortB,
  Uart16550,
  VirtualClock,
} from '../src/index.js';

/** The ISA devices of a PC on one bus and one set of lines, wired the way a machine would wire them. */
function board(): { clock: VirtualClock; bus: IoBus; pic: DualPic; uart: Uart16550; kbc: I8042; out: number[] } {
  const clock = new VirtualClock();
  const bus = new IoBus();
  const router = new IrqRouter(24);
  const pic = new DualPic();
  pic.attach(router);
  bus.register('pic-master', 0x20, 2, pic.master);
  bus.register('pic-slave', 0xa0, 2, pic.slave);
  bus.register('elcr', 0x4d0, 2, pic.elcr);
  const pit = new Pit8254({ clock, irq: router.source(0) });
  bus.register('pit', 0x40, 4, pit);
  bus.register('port61', 0x61, 1, new SystemControlPortB({ pit, clock }));
  const rtc = new Rtc({ clock, irq: router.source(8) });
  bus.register('rtc', 0x70, 2, rtc);
  const out: number[] = [];
  const uart = new Uart16550({ clock, irq: router.source(COM_PORTS[0].irq), sink: (b) => out.push(b) });
  bus.register('com1', COM_PORTS[0].base, 8, uart);
  const kbc = new I8042({ kbdIrq: router.source(1), auxIrq: router.source(12) });
  bus.register('i8042-data', 0x60, 1, kbc.data);
  bus.register('i8042-control', 0x64, 1, kbc.control);
  bus.register('port92', 0x92, 1, new Port92());
  // init_8259A: vectors 0x30-0x3F, as Linux programs them.
  for (const [port, v] of [[0x20, 0x11], [0x21, 0x30], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x38], [0xa1, 0x02], [0xa1, 0x01], [0x21, 0x00], [0xa1, 0x00]]) {
    bus.write8(port, v);
  }
  return { clock, bus, pic, uart, kbc, out };
}

/**
 * Take pending interrupts as the CPU would, EOI each, and list the vectors. Bounded: a guest that
 * makes an input level-triggered and leaves it high has an interrupt storm, as on hardware.
 */
function service(bus: IoBus, pic: DualPic): number[] {
  const vectors: number[] = [];
  for (let i = 0; i < 32 && pic.hasPendingInterrupt(); i++) {
    const v = pic.acknowledgeInterrupt();
    vectors.push(v);
    if (v >= 0x38) bus.write8(0xa0, 0x20);
    bus.write8(0x20, 0x20);
  }
  return vectors;
}

describe('a PC board of ISA devices', () => {
  it('delivers the PIT tick, the RTC through the cascade, COM1 and the keyboard as vectors', () => {
    const { clock, bus, pic, uart, kbc } = board();
    // PIT channel 0 at 100 Hz in mode 2, as a kernel sets up its tick.
    bus.write8(0x43, 0x34);
    bus.write8(0x40, 11932 & 0xff);
    bus.write8(0x40, 11932 >> 8);
    expect(service(bus, pic)).toEqual([0x30]); // the control word's OUT edge
    clock.advanceTo(pitTimeOfTick(11932 * 3));
    expect(service(bus, pic)).toEqual([0x30]); // edge-triggered: latched once while unserviced
    clock.advanceTo(pitTimeOfTick(11932 * 4));
    expect(service(bus, pic)).toEqual([0x30]);
    // RTC update interrupts arrive on IRQ 8 through the slave.
    bus.write8(0x70, 0x0b);
    bus.write8(0x71, 0x12);
    clock.advanceTo(1_000_000_000);
    expect(service(bus, pic)).toContain(0x38);
    bus.write8(0x70, 0x0c);
    expect(bus.read8(0x71) & 0x10).toBe(0x10);
    // COM1 receive interrupt on IRQ 4.
    bus.write8(0x3fc, 0x08);
    bus.write8(0x3f9, 0x01);
    uart.receive([0x41]);
    expect(service(bus, pic)).toEqual([0x34]);
    expect(bus.read8(0x3f8)).toBe(0x41);
    // A key on IRQ 1.
    kbc.keyboard.sendScancodes([0x1c]);
    expect(service(bus, pic)).toEqual([0x31]);
    expect(bus.read8(0x60)).toBe(0x1e);
  });

  it('keeps every device responsive under a storm of random port traffic', () => {
    const { clock, bus, pic } = board();
    const ports = [0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x60, 0x64, 0x92];
    let seed = 2024;
    for (let i = 0; i < 30000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const port = ports[seed % ports.length];
      // Keep clear of the reset-causing writes to 0x64 and 0x92.
      if ((seed >>> 8) % 2 === 0 || port === 0x64 || port === 0x92) bus.read8(port);
      else bus.write8(port, (seed >>> 16) & 0xff);
      clock.advanceTo(clock.now() + ((seed >>> 24) & 0x3f) * 1000);
      service(bus, pic);
    }
    expect(bus.read8(0x71)).toBeLessThan(256);
  });
});
