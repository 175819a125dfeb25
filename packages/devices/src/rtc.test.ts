import { describe, expect, it } from 'vitest';
import { daysFromCivil, DeviceError, IoBus, Rtc, VirtualClock } from './index.js';

const S = 1_000_000_000;
// 2024-02-29 23:59:58 UTC, a Thursday.
const START = daysFromCivil(2024, 2, 29) * 86_400 + 23 * 3600 + 59 * 60 + 58;

function setup(start = START): { clock: VirtualClock; bus: IoBus; rtc: Rtc; irq: () => boolean; edges: () => number } {
  const clock = new VirtualClock();
  let level = false;
  let edges = 0;
  const rtc = new Rtc({
    clock,
    startTime: start,
    irq: {
      set: (l) => {
        if (l && !level) edges++;
        level = l;
      },
    },
  });
  const bus = new IoBus();
  bus.register('rtc', 0x70, 2, rtc);
  return { clock, bus, rtc, irq: () => level, edges: () => edges };
}

function cmos(bus: IoBus, index: number): number {
  bus.write8(0x70, index);
  return bus.read8(0x71);
}

function setCmos(bus: IoBus, index: number, value: number): void {
  bus.write8(0x70, index);
  bus.write8(0x71, value);
}

describe('Rtc (MC146818)', () => {
  it('converts dates exactly', () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(daysFromCivil(2000, 3, 1)).toBe(11017);
    expect(daysFromCivil(2024, 2, 29) * 86400).toBe(Date.UTC(2024, 1, 29) / 1000);
  });

  it('reads the start date in BCD, 24-hour, and rolls over a leap day with virtual time', () => {
    const { clock, bus } = setup();
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map((i) => cmos(bus, i))).toEqual([0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20]);
    clock.advanceTo(2 * S);
    expect([0, 2, 4, 6, 7, 8, 9].map((i) => cmos(bus, i))).toEqual([0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24]);
    expect(cmos(bus, 0x0d)).toBe(0x80);
    expect(cmos(bus, 0x0a)).toBe(0x26);
  });

  it('shows binary and 12-hour formats', () => {
    const { bus } = setup();
    setCmos(bus, 0x0b, 0x04); // binary, 12-hour
    expect(cmos(bus, 4)).toBe(0x80 | 11); // 11 PM
    expect(cmos(bus, 0)).toBe(58);
    setCmos(bus, 0x0b, 0x00); // BCD, 12-hour
    expect(cmos(bus, 4)).toBe(0x80 | 0x11);
  });

  it('sets the time with SET, holds it frozen, and restarts one second after SET clears', () => {
    const { clock, bus, rtc } = setup();
    setCmos(bus, 0x0b, 0x82);
    for (const [i, v] of [[0, 0x30], [2, 0x15], [4, 0x08], [7, 0x04], [8, 0x07], [9, 0x99], [0x32, 0x19]] as const) setCmos(bus, i, v);
    clock.advanceTo(10 * S);
    expect(cmos(bus, 0)).toBe(0x30);
    expect(cmos(bus, 0x0a) & 0x80).toBe(0); // no UIP while SET
    setCmos(bus, 0x0b, 0x02);
    expect(rtc.time).toBe(daysFromCivil(1999, 7, 4) * 86400 + 8 * 3600 + 15 * 60 + 30);
    clock.advanceTo(11 * S - 1);
    expect(cmos(bus, 0)).toBe(0x30);
    clock.advanceTo(11 * S);
    expect(cmos(bus, 0)).toBe(0x31);
  });

  it('changes one field of the running clock in place', () => {
    const { clock, bus } = setup();
    clock.advanceTo(S / 2);
    setCmos(bus, 2, 0x10); // minutes = 10
    expect(cmos(bus, 2)).toBe(0x10);
    expect(cmos(bus, 0)).toBe(0x58);
    clock.advanceTo(S);
    expect(cmos(bus, 0)).toBe(0x59);
  });

  it('raises UIP in the last 244 us before an update', () => {
    const { clock, bus } = setup();
    clock.advanceTo(S - 300_000);
    expect(cmos(bus, 0x0a) & 0x80).toBe(0);
    clock.advanceTo(S - 200_000);
    expect(cmos(bus, 0x0a) & 0x80).toBe(0x80);
  });

  it('raises update-ended interrupts every second on IRQ 8 until C is read', () => {
    const { clock, bus, irq, edges } = setup();
    setCmos(bus, 0x0b, 0x12); // UIE
    clock.advanceTo(S);
    expect(irq()).toBe(true);
    // PF is set too: the divider runs at rate 6 even without PIE.
    expect(cmos(bus, 0x0c)).toBe(0x80 | 0x40 | 0x10);
    expect(irq()).toBe(false);
    clock.advanceTo(3 * S);
    expect(edges()).toBe(2); // the second update found the line still high
    expect(cmos(bus, 0x0c) & 0x90).toBe(0x90); // (AF too: 00:00:00 matched the zero alarm)
    expect(cmos(bus, 0x0c)).toBe(0x00);
  });

  it('raises periodic interrupts at the programmed rate', () => {
    const { clock, bus, edges } = setup();
    setCmos(bus, 0x0a, 0x26); // 1024 Hz
    setCmos(bus, 0x0b, 0x42); // PIE
    for (let i = 1; i <= 10; i++) {
      clock.advanceTo((i * S) / 1024 + 1);
      expect(cmos(bus, 0x0c) & 0xc0).toBe(0xc0);
    }
    expect(edges()).toBe(10);
    // Without PIE the flag is still set by the divider but nothing interrupts.
    setCmos(bus, 0x0b, 0x02);
    clock.advanceTo(clock.now() + S / 100);
    expect(cmos(bus, 0x0c)).toBe(0x40);
    expect(edges()).toBe(10);
  });

  it('fires the alarm when seconds, minutes and hours match (with don’t-care bytes)', () => {
    const { clock, bus, irq } = setup();
    setCmos(bus, 1, 0x05);
    setCmos(bus, 3, 0xc0);
    setCmos(bus, 5, 0xff);
    setCmos(bus, 0x0b, 0x22); // AIE
    clock.advanceTo(6 * S);
    expect(irq()).toBe(false);
    clock.advanceTo(7 * S); // 00:00:05
    expect(irq()).toBe(true);
    expect(cmos(bus, 0x0c) & 0xa0).toBe(0xa0);
  });

  it('keeps NVRAM, masks NMI through the index port, and lays out memory sizes', () => {
    const nmi: boolean[] = [];
    const clock = new VirtualClock();
    const rtc = new Rtc({ clock, irq: { set: () => {} }, onNmiMask: (m) => nmi.push(m) });
    const bus = new IoBus();
    bus.register('rtc', 0x70, 2, rtc);
    rtc.configureMemory(48 * 1024 * 1024, 2 * 1024 * 1024 * 1024);
    expect(cmos(bus, 0x15) | (cmos(bus, 0x16) << 8)).toBe(640);
    expect(cmos(bus, 0x17) | (cmos(bus, 0x18) << 8)).toBe(47 * 1024);
    expect(cmos(bus, 0x30) | (cmos(bus, 0x31) << 8)).toBe(47 * 1024);
    expect(cmos(bus, 0x34) | (cmos(bus, 0x35) << 8)).toBe((32 * 1024 * 1024) / 65536);
    expect(cmos(bus, 0x5b) | (cmos(bus, 0x5c) << 8) | (cmos(bus, 0x5d) << 16)).toBe(32768);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += cmos(bus, i);
    expect((cmos(bus, 0x2e) << 8) | cmos(bus, 0x2f)).toBe(sum);
    rtc.configureMemory(4 * 1024 * 1024 * 1024 - 0x2000_0000);
    expect(cmos(bus, 0x17) | (cmos(bus, 0x18) << 8)).toBe(0xffff); // capped
    bus.write8(0x70, 0x80 | 0x40);
    bus.write8(0x71, 0x5a);
    expect(rtc.nmiDisabled).toBe(true);
    expect(cmos(bus, 0x40)).toBe(0x5a);
    expect(nmi).toEqual([true, false]);
    expect(() => rtc.configureMemory(1000)).toThrow(DeviceError);
    expect(() => rtc.setByte(0x0a, 1)).toThrow(/not NVRAM/);
  });

  it('survives any sequence of port accesses', () => {
    const { clock, bus } = setup();
    let bad = 0;
    let seed = 3;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      if ((seed >>> 8) % 2 === 0) bad += bus.read8(0x70 + (seed & 1)) > 0xff ? 1 : 0;
      else bus.write8(0x70 + (seed & 1), (seed >>> 16) & 0xff);
      clock.advanceTo(clock.now() + (seed >>> 22) * 10_000);
    }
    expect(bad).toBe(0);
  });

  it('saves and restores time, registers and NVRAM, and refuses hostile state without changing', () => {
    const { clock, bus, rtc } = setup();
    setCmos(bus, 0x50, 0x77);
    clock.advanceTo(5 * S + S / 4);
    const saved = rtc.saveState();
    const clock2 = new VirtualClock();
    clock2.setTime(clock.now());
    const copy = new Rtc({ clock: clock2, irq: { set: () => {} } });
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(saved);
    expect(copy.time).toBe(START + 5);
    clock2.advanceTo(clock.now() + 2 * S);
    expect(copy.time).toBe(START + 7);
    expect(copy.getByte(0x50)).toBe(0x77);

    const before = rtc.saveState();
    expect(() => rtc.loadState({ ...saved, cmos: new Uint8Array(64) })).toThrow(/128 bytes/);
    expect(() => rtc.loadState({ ...saved, phaseNs: S })).toThrow(DeviceError);
    expect(() => rtc.loadState({ ...saved, flags: 0x81 })).toThrow(/reserved bits/);
    expect(rtc.saveState()).toEqual(before);
  });
});
