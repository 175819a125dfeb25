import { describe, expect, it } from 'vitest';
import { IrqRouter, pulse } from './index.js';

describe('IrqRouter', () => {
  it('reports level changes of a line to its listeners', () => {
    const router = new IrqRouter(16);
    const seen: [number, boolean][] = [];
    router.listen((n, level) => seen.push([n, level]));
    const timer = router.source(0);
    timer.set(true);
    timer.set(true);
    timer.set(false);
    pulse(router.source(4));
    expect(seen).toEqual([
      [0, true],
      [0, false],
      [4, true],
      [4, false],
    ]);
  });

  it('ORs the sources that share a line', () => {
    const router = new IrqRouter();
    const seen: boolean[] = [];
    router.listen((_n, level) => seen.push(level));
    const a = router.source(11);
    const b = router.source(11);
    a.set(true);
    b.set(true);
    a.set(false);
    expect(router.level(11)).toBe(true);
    b.set(false);
    expect(router.level(11)).toBe(false);
    expect(seen).toEqual([true, false]);
  });

  it('refuses lines that do not exist', () => {
    expect(() => new IrqRouter(16).source(16)).toThrow(/does not exist/);
    expect(() => new IrqRouter(0)).toThrow(/1..256/);
  });
});
