import { describe, expect, it } from 'vitest';
import { DeviceError, IoBus, Pit8254, pitTicksAt, pitTimeOfTick, SystemControlPortB, VirtualClock } from './index.js';

function setup(): { clock: VirtualClock; bus: IoBus; pit: Pit8254; edges: number[]; levels: boolean[] } {
  const clock = new VirtualClock();
  const edges: number[] = [];
  const levels: boolean[] = [];
  let level = false;
  const pit = new Pit8254({
    clock,
    irq: {
      set: (l) => {
        if (l && !level) edges.push(clock.now());
        level = l;
        levels.push(l);
      },
    },
  });
  const bus = new IoBus();
  bus.register('pit', 0x40, 4, pit);
  const portB = new SystemControlPortB({ pit, clock });
  bus.register('port61', 0x61, 1, portB);
  return { clock, bus, pit, edges, levels };
}

/** Time of PIT clock `n` after time zero. */
const at = (n: number): number => pitTimeOfTick(n);

describe('PIT time conversion', () => {
  it('converts exactly, without overflow, for long uptimes', () => {
    expect(pitTicksAt(1_000_000_000)).toBe(1_193_182);
    expect(pitTicksAt(pitTimeOfTick(12345)))
      .toBe(12345);
    expect(pitTicksAt(pitTimeOfTick(12345) - 1)).toBe(12344);
    const day = 86_400 * 1_000_000_000 * 365;
    expect(pitTicksAt(day)).toBe(86_400 * 365 * 1_193_182);
    expect(pitTicksAt(pitTimeOfTick(86_400 * 365 * 1_193_182 + 7))).toBe(86_400 * 365 * 1_193_182 + 7);
  });
});

describe('Pit8254', () => {
  it('mode 2 on counter 0 gives one IRQ 0 edge per period, from virtual time', () => {
    const { clock, bus, edges } = setup();
    bus.write8(0x43, 0x34); // counter 0, lo/hi, mode 2, binary
    bus.write8(0x40, 1000 & 0xff);
    bus.write8(0x40, 1000 >> 8);
    clock.advanceTo(at(5500));
    // The control word drives OUT high (its mode 2 initial state): that is the first edge.
    expect(edges).toEqual([0, at(1000), at(2000), at(3000), at(4000), at(5000)]);
    // Counter value: 1000 - (5500 % 1000)
    bus.write8(0x43, 0x00); // latch counter 0
    clock.advanceTo(at(5600));
    const lo = bus.read8(0x40);
    const hi = bus.read8(0x40);
    expect(lo | (hi << 8)).toBe(500);
  });

  it('modes 2 and 3 take a new count at the end of the current period or half-cycle', () => {
    const { clock, bus, pit, edges } = setup();
    bus.write8(0x43, 0x34);
    bus.write8(0x40, 100);
    bus.write8(0x40, 0);
    clock.advanceTo(at(250));
    bus.write8(0x40, 40);
    bus.write8(0x40, 0);
    bus.write8(0x43, 0xe2); // read-back status: null count until the new count is loaded
    expect(bus.read8(0x40) & 0x40).toBe(0x40);
    expect(pit.counterValue(0)).toBe(50); // still the old period
    clock.advanceTo(at(300 + 40 * 2));
    expect(edges).toEqual([0, at(100), at(200), at(300), at(340), at(380)]);
    bus.write8(0x43, 0xe2);
    expect(bus.read8(0x40) & 0x40).toBe(0);

    // Mode 3 on counter 2: a count written during a high half-cycle starts after it, low.
    bus.write8(0x61, 0x01);
    bus.write8(0x43, 0xb6);
    bus.write8(0x42, 10);
    bus.write8(0x42, 0);
    const t0 = pitTicksAt(clock.now());
    clock.advanceTo(at(t0 + 2));
    bus.write8(0x42, 20);
    bus.write8(0x42, 0);
    clock.advanceTo(at(t0 + 4));
    expect(pit.output(2)).toBe(true);
    clock.advanceTo(at(t0 + 5));
    expect(pit.output(2)).toBe(false); // the old half-cycle ended on time
    clock.advanceTo(at(t0 + 5 + 9));
    expect(pit.output(2)).toBe(false); // low half of the new count: 10 clocks
    clock.advanceTo(at(t0 + 5 + 10));
    expect(pit.output(2)).toBe(true);
    clock.advanceTo(at(t0 + 5 + 10 + 10));
    expect(pit.output(2)).toBe(false);
  });

  it('mode 3 is a square wave: high for ceil(N/2), low for floor(N/2)', () => {
    const { clock, bus, pit, levels } = setup();
    bus.write8(0x43, 0x36);
    bus.write8(0x40, 5);
    bus.write8(0x40, 0);
    const samples: boolean[] = [];
    for (let t = 0; t < 10; t++) {
      clock.advanceTo(at(t));
      samples.push(pit.output(0));
    }
    expect(samples).toEqual([true, true, true, false, false, true, true, true, false, false]);
    // The IRQ line followed every transition.
    expect(levels.filter((l) => !l).length).toBe(2);
  });

  it('mode 0 raises OUT once at terminal count and keeps counting down past zero', () => {
    const { clock, bus, pit, edges } = setup();
    bus.write8(0x43, 0x30);
    bus.write8(0x40, 100);
    expect(pit.output(0)).toBe(false); // the first byte of two stops the count, OUT low
    bus.write8(0x40, 0);
    clock.advanceTo(at(99));
    expect(pit.output(0)).toBe(false);
    clock.advanceTo(at(100));
    expect(pit.output(0)).toBe(true);
    expect(edges).toEqual([at(100)]);
    clock.advanceTo(at(150));
    expect(pit.counterValue(0)).toBe(0x10000 - 50);
    clock.advanceTo(at(100_000));
    expect(edges.length).toBe(1);
  });

  it('mode 4 strobes OUT low for one clock at terminal count', () => {
    const { clock, bus, pit, edges, levels } = setup();
    bus.write8(0x43, 0x18); // counter 0, LSB only, mode 4
    bus.write8(0x40, 10);
    clock.advanceTo(at(9));
    expect(pit.output(0)).toBe(true);
    clock.advanceTo(at(10));
    expect(pit.output(0)).toBe(false);
    clock.advanceTo(at(11));
    expect(pit.output(0)).toBe(true);
    expect(edges).toEqual([0, at(11)]);
    expect(levels).toEqual([true, false, true]);
  });

  it('serves Linux’s one-shot clock events: mode 4, a new count per event', () => {
    const { clock, bus, edges } = setup();
    bus.write8(0x43, 0x38); // what the kernel's PIT clockevent writes for one-shot mode
    const program = (delta: number): void => {
      bus.write8(0x40, delta & 0xff);
      bus.write8(0x40, delta >> 8);
    };
    program(1193);
    clock.advanceTo(at(1193 + 1));
    expect(edges.slice(-1)).toEqual([at(1193 + 1)]);
    const t = pitTicksAt(clock.now());
    program(500);
    clock.advanceTo(at(t + 400));
    program(300); // reprogrammed before it expired: the new count starts over
    clock.advanceTo(at(t + 400 + 301));
    expect(edges.slice(-1)).toEqual([at(t + 400 + 301)]);
    clock.advanceTo(at(t + 100_000));
    expect(edges.length).toBe(3); // the control word's edge and two events, nothing more
  });

  it('counter 2 gate through port 0x61: mode 0 pauses, OUT2 readable in bit 5', () => {
    const { clock, bus } = setup();
    bus.write8(0x43, 0xb0); // counter 2, lo/hi, mode 0
    bus.write8(0x42, 0xff);
    bus.write8(0x42, 0xff);
    clock.advanceTo(at(1000));
    // Gate is low: nothing counted.
    bus.write8(0x43, 0x80);
    expect(bus.read8(0x42) | (bus.read8(0x42) << 8)).toBe(0xffff);
    bus.write8(0x61, 0x01); // gate high, speaker off
    clock.advanceTo(at(1000 + 0xffff - 1));
    expect(bus.read8(0x61) & 0x20).toBe(0);
    clock.advanceTo(at(1000 + 0xffff));
    expect(bus.read8(0x61) & 0x21).toBe(0x21);
  });

  it('mode 1 is a retriggerable one-shot started by a gate edge', () => {
    const { clock, bus, pit } = setup();
    bus.write8(0x43, 0x92); // counter 2, LSB only, mode 1
    bus.write8(0x42, 50);
    expect(pit.output(2)).toBe(true);
    clock.advanceTo(at(10));
    bus.write8(0x61, 0x01); // trigger
    expect(pit.output(2)).toBe(false);
    clock.advanceTo(at(40));
    bus.write8(0x61, 0x00);
    bus.write8(0x61, 0x01); // retrigger at 40
    clock.advanceTo(at(89));
    expect(pit.output(2)).toBe(false);
    clock.advanceTo(at(90));
    expect(pit.output(2)).toBe(true);
  });

  it('mode 5 strobes after a gate trigger; mode 2 stops with the gate low', () => {
    const { clock, bus, pit } = setup();
    bus.write8(0x43, 0x9a); // counter 2, LSB, mode 5
    bus.write8(0x42, 5);
    clock.advanceTo(at(100));
    expect(pit.output(2)).toBe(true);
    bus.write8(0x61, 0x01);
    clock.advanceTo(at(105));
    expect(pit.output(2)).toBe(false);
    clock.advanceTo(at(106));
    expect(pit.output(2)).toBe(true);
    bus.write8(0x43, 0x94); // counter 2, LSB, mode 2
    bus.write8(0x42, 4);
    clock.advanceTo(at(109));
    expect(pit.output(2)).toBe(false);
    bus.write8(0x61, 0x00);
    expect(pit.output(2)).toBe(true);
    clock.advanceTo(at(500));
    expect(pit.counterValue(2)).toBe(4);
  });

  it('counts in BCD', () => {
    const { clock, bus } = setup();
    bus.write8(0x43, 0x31); // counter 0, lo/hi, mode 0, BCD
    bus.write8(0x40, 0x00);
    bus.write8(0x40, 0x10); // 1000 in BCD
    clock.advanceTo(at(1));
    expect(bus.read8(0x40)).toBe(0x99);
    expect(bus.read8(0x40)).toBe(0x09);
    clock.advanceTo(at(1001));
    bus.write8(0x43, 0x00);
    expect(bus.read8(0x40)).toBe(0x99);
    expect(bus.read8(0x40)).toBe(0x99); // wrapped to 9999
  });

  it('read-back latches status then count, and the first latch holds', () => {
    const { clock, bus } = setup();
    bus.write8(0x43, 0x34);
    bus.write8(0x40, 0x00);
    bus.write8(0x40, 0x01); // 256
    clock.advanceTo(at(10));
    bus.write8(0x43, 0xc2); // read-back counter 0: count and status
    clock.advanceTo(at(20));
    bus.write8(0x43, 0x00); // ignored: already latched
    expect(bus.read8(0x40)).toBe(0x80 | 0x34); // OUT high, count loaded, control bits
    expect(bus.read8(0x40)).toBe(246);
    expect(bus.read8(0x40)).toBe(0);
    bus.write8(0x43, 0x34);
    bus.write8(0x43, 0xe2); // status only
    expect(bus.read8(0x40)).toBe(0x80 | 0x40 | 0x34); // OUT high and null count after a control word
    expect(bus.read8(0x43)).toBe(0xff);
  });

  it('reads MSB-only counters and reports the refresh toggle from virtual time', () => {
    const { clock, bus } = setup();
    bus.write8(0x43, 0x24); // counter 0, MSB only, mode 2
    bus.write8(0x40, 0x10); // 0x1000
    clock.advanceTo(at(0x100));
    expect(bus.read8(0x40)).toBe(0x0f);
    const a = bus.read8(0x61) & 0x10;
    clock.advanceTo(clock.now() + 15_085);
    expect(bus.read8(0x61) & 0x10).toBe(a ^ 0x10);
  });

  it('port 0x61 keeps its writable bits, reports the speaker, and restores only valid state', () => {
    const clock = new VirtualClock();
    const pit = new Pit8254({ clock, irq: { set: () => {} } });
    const speaker: boolean[] = [];
    const portB = new SystemControlPortB({ pit, clock, onSpeaker: (on) => speaker.push(on) });
    expect(pit.gate(2)).toBe(false);
    portB.write8(0, 0xff);
    expect(portB.read8(0) & 0x0f).toBe(0x0f);
    expect(pit.gate(2)).toBe(true);
    expect(speaker).toEqual([true]);
    const saved = portB.saveState();
    portB.reset();
    expect(pit.gate(2)).toBe(false);
    expect(() => portB.loadState({ version: 1, value: 0x30 })).toThrow(DeviceError);
    portB.loadState(saved);
    expect(portB.read8(0) & 0x0f).toBe(0x0f);
    expect(pit.gate(2)).toBe(true);
    pit.reset(); // the gate is an input: a PIT reset leaves it as port 0x61 drives it
    expect(pit.gate(2)).toBe(true);
  });

  it('survives any sequence of port writes and keeps its timer sane', () => {
    const { clock, bus, pit } = setup();
    let bad = 0;
    let seed = 99;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const port = [0x40, 0x41, 0x42, 0x43, 0x61][seed % 5];
      if ((seed >>> 8) % 3 === 0) bad += bus.read8(port) > 0xff ? 1 : 0;
      else bus.write8(port, (seed >>> 16) & 0xff);
      clock.advanceTo(clock.now() + ((seed >>> 20) & 0xfff));
      bad += pit.counterValue(0) < 0 || pit.counterValue(0) > 0x10000 ? 1 : 0;
    }
    expect(bad).toBe(0);
  });

  it('saves and restores mid-count, and refuses hostile state without changing', () => {
    const { clock, bus, pit, edges } = setup();
    bus.write8(0x43, 0x34);
    bus.write8(0x40, 100);
    bus.write8(0x40, 0);
    clock.advanceTo(at(250));
    const saved = pit.saveState();

    const clock2 = new VirtualClock();
    clock2.setTime(clock.now());
    const edges2: number[] = [];
    const copy = new Pit8254({ clock: clock2, irq: { set: (l) => l && edges2.push(clock2.now()) } });
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(saved);
    clock.advanceTo(at(500));
    clock2.advanceTo(at(500));
    expect(edges2).toEqual(edges.slice(-3));

    const before = pit.saveState();
    const channels = saved['channels'] as object[];
    expect(() => pit.loadState({ ...saved, channels: [channels[0], channels[1]] })).toThrow(/3 entries/);
    expect(() => pit.loadState({ ...saved, channels: [{ ...channels[0], active: 0 }, channels[1], channels[2]] })).toThrow(DeviceError);
    expect(() => pit.loadState({ ...saved, channels: [channels[0], { ...channels[1], control: 0x40 }, channels[2]] })).toThrow(
      /channels\[1\]/,
    );
    expect(pit.saveState()).toEqual(before);
  });
});
