import { describe, expect, it } from 'vitest';
import { DebugConsole, DebugExit, IoBus } from './index.js';

describe('debug devices on the I/O bus', () => {
  it('debug console collects the bytes written and reads back 0xE9', () => {
    const bus = new IoBus();
    const out: number[] = [];
    const con = new DebugConsole((b) => out.push(b));
    bus.register(con.name, 0xe9, 1, con);
    for (const c of 'ok\n') bus.write8(0xe9, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('ok\n');
    expect(bus.read8(0xe9)).toBe(0xe9);
    expect(() => con.loadState({ version: 2 })).toThrow(/not supported/);
  });

  it('debug exit reports (value << 1) | 1 for writes of any width', () => {
    const bus = new IoBus();
    const codes: number[] = [];
    const dev = new DebugExit((s) => codes.push(s));
    bus.register(dev.name, 0xf4, 4, dev);
    bus.write8(0xf4, 0);
    bus.write8(0xf4, 0x10);
    bus.write32(0xf4, 1);
    expect(codes).toEqual([1, 0x21, 3]);
  });
});
