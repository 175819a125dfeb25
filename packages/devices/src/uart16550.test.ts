import { describe, expect, it } from 'vitest';
import { DeviceError, IoBus, Uart16550, VirtualClock } from './index.js';

const COM1 = 0x3f8;
const [THR, IER, IIR, LCR, MCR, LSR, MSR, SCR] = [0, 1, 2, 3, 4, 5, 6, 7].map((o) => COM1 + o);
const FCR = IIR;

function setup(): { clock: VirtualClock; bus: IoBus; uart: Uart16550; out: number[]; irq: () => boolean } {
  const clock = new VirtualClock();
  const out: number[] = [];
  let level = false;
  const uart = new Uart16550({ clock, irq: { set: (l) => (level = l) }, sink: (b) => out.push(b), name: 'uart0' });
  const bus = new IoBus();
  bus.register('uart0', COM1, 8, uart);
  return { clock, bus, uart, out, irq: () => level };
}

describe('Uart16550', () => {
  it('passes the probe sequence of Linux 8250 autoconfig as a 16550A', () => {
    const { bus } = setup();
    // Scratch and IER read-back.
    bus.write8(SCR, 0xa5);
    expect(bus.read8(SCR)).toBe(0xa5);
    bus.write8(IER, 0x00);
    expect(bus.read8(IER) & 0x0f).toBe(0);
    bus.write8(IER, 0xff);
    expect(bus.read8(IER)).toBe(0x0f); // bits 4-7 (UUE, sleep...) do not exist on a 16550A
    bus.write8(IER, 0);
    // Loopback test: OUT2|RTS in loopback reads back DCD|CTS.
    bus.write8(MCR, 0x10 | 0x0a);
    expect(bus.read8(MSR) & 0xf0).toBe(0x90);
    bus.write8(MCR, 0);
    // FIFO detection: IIR bits 7-6 = 11 means 16550A; bit 5 stays 0 (no 64-byte FIFO).
    bus.write8(FCR, 0x01);
    expect(bus.read8(IIR) >> 6).toBe(3);
    bus.write8(FCR, 0x21);
    expect(bus.read8(IIR) & 0x20).toBe(0);
    // With DLAB set, offset 2 still reads IIR (not an EFR), so no ST16C650 is detected.
    bus.write8(LCR, 0xbf);
    expect(bus.read8(IIR)).not.toBe(0);
    bus.write8(LCR, 0x03);
  });

  it('transmits to the sink and raises THR-empty as Linux’s THRE test expects', () => {
    const { bus, out, irq } = setup();
    bus.write8(MCR, 0x0b); // DTR, RTS, OUT2
    bus.write8(IER, 0x02);
    expect(irq()).toBe(true);
    expect(bus.read8(IIR) & 0x0f).toBe(0x02);
    // Reading IIR cleared it.
    expect(bus.read8(IIR) & 0x0f).toBe(0x01);
    expect(irq()).toBe(false);
    bus.write8(IER, 0);
    bus.write8(IER, 0x02); // re-enabling while THR is empty raises it again
    expect(bus.read8(IIR) & 0x0f).toBe(0x02);
    bus.write8(THR, 0x41);
    expect(out).toEqual([0x41]);
    expect(bus.read8(LSR) & 0x60).toBe(0x60);
    expect(irq()).toBe(true); // THR empty again after the byte left
  });

  it('programs the divisor through DLAB', () => {
    const { bus, uart } = setup();
    bus.write8(LCR, 0x83);
    bus.write8(THR, 0x01);
    bus.write8(IER, 0x00);
    expect(bus.read8(THR)).toBe(1);
    bus.write8(LCR, 0x03);
    expect(uart.baudRate).toBe(115200);
  });

  it('receives host bytes through the FIFO with trigger level and timeout interrupts', () => {
    const { clock, bus, uart, irq } = setup();
    bus.write8(LCR, 0x83);
    bus.write8(THR, 1);
    bus.write8(LCR, 0x03);
    bus.write8(FCR, 0x81); // FIFO on, trigger 8
    bus.write8(MCR, 0x08);
    bus.write8(IER, 0x01);
    expect(uart.receive([0x61, 0x62, 0x63])).toBe(3);
    expect(bus.read8(LSR) & 1).toBe(1);
    expect(irq()).toBe(false); // below the trigger level
    clock.advanceTo(clock.now() + 400_000); // 4 characters at 115200 8N1 = 347 us
    expect(irq()).toBe(true);
    expect(bus.read8(IIR) & 0x0f).toBe(0x0c);
    expect([bus.read8(THR), bus.read8(THR), bus.read8(THR)]).toEqual([0x61, 0x62, 0x63]);
    expect(irq()).toBe(false);
    expect(bus.read8(LSR) & 1).toBe(0);
    const many = Array.from({ length: 100 }, (_, i) => i);
    expect(uart.receive(many)).toBe(100);
    expect(irq()).toBe(true);
    expect(bus.read8(IIR) & 0x0f).toBe(0x04);
    const got: number[] = [];
    while (bus.read8(LSR) & 1) got.push(bus.read8(THR));
    expect(got).toEqual(many);
    expect(uart.receiveSpace).toBe(4096);
  });

  it('holds one byte without FIFOs and applies backpressure to the host queue', () => {
    const { bus, uart } = setup();
    let space = 0;
    uart.onReceiveSpace = () => space++;
    expect(uart.receive(new Uint8Array(5000))).toBe(4096);
    expect(bus.read8(LSR) & 0x03).toBe(0x01); // data ready, no overrun: the host waits
    for (let i = 0; i < 4094; i++) bus.read8(THR);
    expect(space).toBe(0);
    bus.read8(THR); // the last queued byte moves into the holding register: the queue is empty
    expect(space).toBe(1);
    expect(uart.receive([1, 2])).toBe(2);
  });

  it('loops transmitted bytes back in loopback mode, with overrun when the FIFO is full', () => {
    const { bus, out, irq } = setup();
    bus.write8(FCR, 0x01);
    bus.write8(MCR, 0x18); // loopback + OUT2: OUT2 is forced off at the pin
    bus.write8(IER, 0x05);
    for (let i = 0; i < 17; i++) bus.write8(THR, 0x30 + i);
    expect(out).toEqual([]);
    expect(irq()).toBe(false);
    expect(bus.read8(IIR) & 0x0f).toBe(0x06); // overrun outranks data available
    expect(bus.read8(LSR) & 0x03).toBe(0x03);
    expect(bus.read8(LSR) & 0x02).toBe(0); // cleared by reading
    expect(bus.read8(IIR) & 0x0f).toBe(0x04);
    expect(bus.read8(THR)).toBe(0x30);
  });

  it('reports modem line changes with delta bits and a modem status interrupt', () => {
    const { bus, uart, irq } = setup();
    bus.read8(MSR);
    bus.write8(MCR, 0x08);
    bus.write8(IER, 0x08);
    uart.setModemInputs({ cts: false, dsr: true, ri: true, dcd: true });
    expect(irq()).toBe(true);
    expect(bus.read8(IIR) & 0x0f).toBe(0x00);
    expect(bus.read8(MSR)).toBe(0xe0 | 0x01);
    uart.setModemInputs({ cts: false, dsr: true, ri: false, dcd: true });
    expect(bus.read8(MSR)).toBe(0xa0 | 0x04); // trailing edge of RI
    expect(irq()).toBe(false);
  });

  it('reports a break from the host as a line status interrupt with a zero character', () => {
    const { bus, uart, irq } = setup();
    bus.write8(FCR, 0x01);
    bus.write8(MCR, 0x08);
    bus.write8(IER, 0x05);
    uart.receiveBreak();
    expect(irq()).toBe(true);
    expect(bus.read8(IIR) & 0x0f).toBe(0x06);
    expect(bus.read8(LSR)).toBe(0x80 | 0x60 | 0x18 | 0x01);
    expect(bus.read8(THR)).toBe(0);
    expect(irq()).toBe(false);
  });

  it('survives any sequence of port accesses', () => {
    const { clock, bus, uart } = setup();
    let bad = 0;
    let seed = 7;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const port = COM1 + (seed % 8);
      if ((seed >>> 8) % 2 === 0) bad += bus.read8(port) > 0xff ? 1 : 0;
      else bus.write8(port, (seed >>> 16) & 0xff);
      if ((seed & 0x700) === 0) uart.receive([seed & 0xff]);
      clock.advanceTo(clock.now() + (seed >>> 24) * 1000);
    }
    expect(bad).toBe(0);
  });

  it('saves and restores FIFOs and registers, and refuses hostile state without changing', () => {
    const { bus, uart } = setup();
    bus.write8(FCR, 0xc1);
    bus.write8(MCR, 0x0b);
    bus.write8(IER, 0x01);
    uart.receive([1, 2, 3]);
    bus.read8(THR);
    const saved = uart.saveState();
    const clock2 = new VirtualClock();
    let level2 = false;
    const copy = new Uart16550({ clock: clock2, irq: { set: (l) => (level2 = l) } });
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(saved);
    expect(copy.read8(0)).toBe(2);
    expect(level2).toBe(false);

    const before = uart.saveState();
    expect(() => uart.loadState({ ...saved, rx: new Uint8Array(17) })).toThrow(/at most 16 bytes/);
    expect(() => uart.loadState({ ...saved, ier: 0x10 })).toThrow(DeviceError);
    expect(() => uart.loadState({ ...saved, fcr: 0, rx: new Uint8Array(2) })).toThrow(/at most 1 bytes/);
    expect(() => uart.loadState({ ...saved, host: new Uint8Array(3) })).toThrow(/queued behind/);
    expect(uart.saveState()).toEqual(before);
  });
});
