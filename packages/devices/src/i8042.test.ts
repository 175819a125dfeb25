import { describe, expect, it } from 'vitest';
import { DeviceError, I8042, IoBus, Port92, ResetControl, type ResetKind } from './index.js';

function setup(): { bus: IoBus; kbc: I8042; irq1: () => boolean; irq12: () => boolean; a20: boolean[]; resets: () => number } {
  let l1 = false;
  let l12 = false;
  let resets = 0;
  const a20: boolean[] = [];
  const kbc = new I8042({
    kbdIrq: { set: (l) => (l1 = l) },
    auxIrq: { set: (l) => (l12 = l) },
    onA20: (e) => a20.push(e),
    onReset: () => resets++,
  });
  const bus = new IoBus();
  bus.register('i8042-data', 0x60, 1, kbc.data);
  bus.register('i8042-control', 0x64, 1, kbc.control);
  return { bus, kbc, irq1: () => l1, irq12: () => l12, a20, resets: () => resets };
}

/** Read everything in the output buffer. */
function drain(bus: IoBus): number[] {
  const out: number[] = [];
  while (bus.read8(0x64) & 1) out.push(bus.read8(0x60));
  return out;
}

describe('I8042 keyboard controller', () => {
  it('answers the self-tests and command byte accesses Linux’s i8042 driver makes', () => {
    const { bus } = setup();
    expect(bus.read8(0x64) & 0x14).toBe(0x14); // SYS set, not inhibited
    bus.write8(0x64, 0x20);
    expect(bus.read8(0x64) & 0x09).toBe(0x09); // OBF, last write a command
    expect(bus.read8(0x60)).toBe(0x65);
    bus.write8(0x64, 0xaa);
    expect(drain(bus)).toEqual([0x55]);
    bus.write8(0x64, 0xab);
    bus.write8(0x64, 0xa9);
    expect(drain(bus)).toEqual([0x00, 0x00]);
    bus.write8(0x64, 0x60);
    bus.write8(0x60, 0x47);
    bus.write8(0x64, 0x20);
    expect(drain(bus)).toEqual([0x47]);
    bus.write8(0x64, 0xa8); // enable aux: clears bit 5
    bus.write8(0x64, 0xad); // disable kbd: sets bit 4
    bus.write8(0x64, 0x20);
    expect(drain(bus)).toEqual([0x57]);
  });

  it('translates set 2 key codes to set 1 and raises IRQ 1 per byte', () => {
    const { bus, kbc, irq1 } = setup();
    kbc.keyboard.sendScancodes([0x1c, 0xf0, 0x1c, 0xe0, 0x75]); // A down, A up, E0 Up
    expect(irq1()).toBe(true);
    expect(bus.read8(0x60)).toBe(0x1e);
    expect(irq1()).toBe(true); // refilled at once: the line fell and rose again
    expect(drain(bus)).toEqual([0x9e, 0xe0, 0x48]);
    expect(irq1()).toBe(false);
    // Translation off: raw set 2.
    bus.write8(0x64, 0x60);
    bus.write8(0x60, 0x05);
    kbc.keyboard.sendScancodes([0x1c, 0xf0, 0x1c]);
    expect(drain(bus)).toEqual([0x1c, 0xf0, 0x1c]);
  });

  it('holds keyboard data while the keyboard is disabled and withholds IRQ 1 without KBD_INT', () => {
    const { bus, kbc, irq1 } = setup();
    bus.write8(0x64, 0xad);
    kbc.keyboard.sendScancodes([0x29]);
    expect(bus.read8(0x64) & 1).toBe(0);
    bus.write8(0x64, 0x60);
    bus.write8(0x60, 0x44); // translation, SYS, no interrupts, keyboard still disabled
    bus.write8(0x64, 0xae);
    expect(irq1()).toBe(false);
    expect(drain(bus)).toEqual([0x39]);
  });

  it('runs keyboard commands: reset, identify, LEDs, scan set, echo, resend', () => {
    const { bus, kbc } = setup();
    bus.write8(0x60, 0xff);
    expect(drain(bus)).toEqual([0xfa, 0xaa]);
    bus.write8(0x60, 0xf2);
    expect(drain(bus)).toEqual([0xfa, 0xab, 0x41]); // 0x83 translated, as on real hardware
    bus.write8(0x60, 0xed);
    bus.write8(0x60, 0x05);
    expect(drain(bus)).toEqual([0xfa, 0xfa]);
    expect(kbc.keyboard.ledState).toBe(5);
    bus.write8(0x64, 0x60);
    bus.write8(0x60, 0x01); // translation off to see raw replies
    bus.write8(0x60, 0xf0);
    bus.write8(0x60, 0x00);
    expect(drain(bus)).toEqual([0xfa, 0xfa, 0x02]); // the command and its parameter are both acknowledged
    bus.write8(0x60, 0xf0);
    bus.write8(0x60, 0x01); // select set 1 in the keyboard itself
    drain(bus);
    kbc.keyboard.sendScancodes([0x1c, 0xf0, 0x1c]);
    expect(drain(bus)).toEqual([0x1e, 0x9e]);
    bus.write8(0x60, 0xee);
    bus.write8(0x60, 0xfe);
    expect(drain(bus)).toEqual([0xee, 0xee]);
    bus.write8(0x60, 0x42);
    expect(drain(bus)).toEqual([0xfe]);
    bus.write8(0x60, 0xf5);
    kbc.keyboard.sendScancodes([0x1c]);
    expect(drain(bus)).toEqual([0xfa]); // scanning off
  });

  it('talks to the mouse through 0xD4 with IRQ 12, packets and the IntelliMouse knock', () => {
    const { bus, kbc, irq12 } = setup();
    const mouse = (b: number): void => {
      bus.write8(0x64, 0xd4);
      bus.write8(0x60, b);
    };
    bus.write8(0x64, 0xa8);
    bus.write8(0x64, 0x60);
    bus.write8(0x60, 0x47); // IRQ 1 and 12, SYS, translation
    mouse(0xff);
    expect(irq12()).toBe(true);
    expect(bus.read8(0x64) & 0x21).toBe(0x21);
    expect(drain(bus)).toEqual([0xfa, 0xaa, 0x00]);
    for (const rate of [200, 100, 80]) {
      mouse(0xf3);
      mouse(rate);
    }
    mouse(0xf2);
    expect(drain(bus)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    mouse(0xf4);
    drain(bus);
    kbc.mouse.move(5, -3, 1, 0x01);
    expect(drain(bus)).toEqual([0x08 | 0x01 | 0x20, 5, 0xfd, 0x01]);
    kbc.mouse.move(300, 0, 0, 0);
    expect(drain(bus)).toEqual([0x08 | 0x40, 0xff, 0, 0]);
    mouse(0xe9);
    expect(drain(bus)).toEqual([0xfa, 0x20, 2, 80]);
    mouse(0xee); // wrap mode echoes
    mouse(0x12);
    mouse(0xec);
    expect(drain(bus)).toEqual([0xfa, 0x12, 0xfa]);
    // 0xD3 puts a byte in the buffer as if from the mouse.
    bus.write8(0x64, 0xd3);
    bus.write8(0x60, 0x77);
    expect(bus.read8(0x64) & 0x20).toBe(0x20);
    expect(drain(bus)).toEqual([0x77]);
  });

  it('drives A20 and reset through the output port and pulse commands', () => {
    const { bus, kbc, a20, resets } = setup();
    expect(kbc.a20).toBe(true);
    bus.write8(0x64, 0xd1);
    bus.write8(0x60, 0xdd);
    expect(a20).toEqual([false]);
    bus.write8(0x64, 0xd0);
    expect(drain(bus)[0] & 0x03).toBe(0x01);
    bus.write8(0x64, 0xdf);
    expect(a20).toEqual([false, true]);
    expect(resets()).toBe(0);
    bus.write8(0x64, 0xfe);
    expect(resets()).toBe(1);
    bus.write8(0x64, 0xff); // pulses nothing
    bus.write8(0x64, 0xd1);
    bus.write8(0x60, 0x02);
    expect(resets()).toBe(2);
  });

  it('survives any sequence of port accesses', () => {
    const { bus, kbc } = setup();
    let bad = 0;
    let seed = 11;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const port = seed & 1 ? 0x64 : 0x60;
      if ((seed >>> 8) % 2 === 0) bad += bus.read8(port) > 0xff ? 1 : 0;
      else bus.write8(port, (seed >>> 16) & 0xff);
      if ((seed & 0xf00) === 0) kbc.keyboard.sendScancodes([seed >>> 24]);
      if ((seed & 0xf00) === 0x100) kbc.mouse.move((seed >>> 20) - 2048, 1, 0, 1);
    }
    expect(bad).toBe(0);
  });

  it('saves and restores both ports and the buffer, and refuses hostile state without changing', () => {
    const { bus, kbc } = setup();
    kbc.keyboard.sendScancodes([0x1c, 0x32, 0x21]);
    bus.read8(0x60);
    bus.write8(0x64, 0xd4);
    const saved = kbc.saveState();
    let level = false;
    const copy = new I8042({ kbdIrq: { set: (l) => (level = l) }, auxIrq: { set: () => {} } });
    copy.loadState(saved);
    expect(level).toBe(true);
    expect(copy.saveState()).toEqual(saved);
    expect(copy.data.read8!(0)).toBe(0x30);

    const before = kbc.saveState();
    expect(() => kbc.loadState({ ...saved, pendingCommand: 0xaa })).toThrow(/takes a data byte/);
    expect(() => kbc.loadState({ ...saved, keyboard: { ...(saved['keyboard'] as object), scanSet: 4 } })).toThrow(/keyboard.*scanSet/);
    expect(() => kbc.loadState({ ...saved, mouse: { ...(saved['mouse'] as object), id: 4 } })).toThrow(DeviceError);
    expect(() => kbc.loadState({ ...saved, replies: new Uint8Array(1), replySources: new Uint8Array(1).fill(9) })).toThrow(/not a source/);
    expect(kbc.saveState()).toEqual(before);
  });
});

describe('Port92 and ResetControl', () => {
  it('port 0x92 gates A20 and resets on a 0-to-1 write of bit 0', () => {
    const a20: boolean[] = [];
    let resets = 0;
    const p = new Port92({ onA20: (e) => a20.push(e), onReset: () => resets++ });
    p.write8(0, 0x02);
    expect(p.read8(0)).toBe(0x02);
    p.write8(0, 0x03);
    p.write8(0, 0x03);
    expect(resets).toBe(1);
    p.write8(0, 0xf0);
    expect(p.read8(0)).toBe(0x00);
    expect(a20).toEqual([true, false]);
    const saved = p.saveState();
    expect(() => p.loadState({ version: 1, value: 0x10 })).toThrow(/reserved/);
    p.loadState({ version: 1, value: 0x02 });
    expect(p.a20).toBe(true);
    p.loadState(saved);
    expect(p.a20).toBe(false);
  });

  it('0xCF9 resets on RCPU with the kind SRST and FULL_RST select', () => {
    const kinds: ResetKind[] = [];
    const rc = new ResetControl({ onReset: (k) => kinds.push(k) });
    rc.write8(0, 0x02);
    expect(rc.read8(0)).toBe(0x02);
    rc.write8(0, 0x04);
    rc.write8(0, 0x06);
    rc.write8(0, 0x0e);
    expect(kinds).toEqual(['soft', 'hard', 'full']);
    expect(() => rc.loadState({ version: 1, value: 0x04 })).toThrow(DeviceError);
  });
});
