import { describe, expect, it } from 'vitest';
import { VirtualClock } from './index.js';

describe('VirtualClock', () => {
  it('fires timers in deadline order with now() at the deadline', () => {
    const clock = new VirtualClock();
    const fired: [string, number][] = [];
    const a = clock.createTimer('a', (now) => fired.push(['a', now]));
    const b = clock.createTimer('b', (now) => fired.push(['b', now]));
    b.arm(300);
    a.arm(100);
    expect(clock.nextDeadline()).toBe(100);
    clock.advanceTo(250);
    expect(fired).toEqual([['a', 100]]);
    expect(clock.now()).toBe(250);
    clock.advanceTo(1000);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 300],
    ]);
    expect(clock.nextDeadline()).toBe(Infinity);
  });

  it('lets a periodic timer re-arm itself without drift', () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const t = clock.createTimer('pit', (now) => {
      ticks.push(now);
      t.arm(now + 10);
    });
    t.arm(10);
    clock.advanceTo(45);
    expect(ticks).toEqual([10, 20, 30, 40]);
    expect(t.deadline).toBe(50);
  });

  it('does not fire disarmed timers and never moves backwards', () => {
    const clock = new VirtualClock();
    let count = 0;
    const t = clock.createTimer('x', () => count++);
    t.arm(5);
    t.disarm();
    clock.advanceTo(10);
    clock.advanceTo(3);
    expect(count).toBe(0);
    expect(clock.now()).toBe(10);
  });

  it('refuses a timer that would fire forever at one instant', () => {
    const clock = new VirtualClock();
    const t = clock.createTimer('bad', () => t.arm(5));
    t.arm(5);
    expect(() => clock.advanceTo(10)).toThrow(/fire forever/);
  });
});
