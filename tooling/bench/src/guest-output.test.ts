import { describe, expect, it } from 'vitest';
import { GuestOutput, WrappingCounter, type GuestEvent } from './guest-output.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

describe('GuestOutput', () => {
  it('reports the marker and the job end once each, and the guest-measured job time', () => {
    const events: GuestEvent[] = [];
    const out = new GuestOutput((e) => events.push(e));
    out.pushBytes(bytes('\x1b[2J\x1b[01;01H[    0.000000] Linux version 6.1\r\nTSVM-LINUX-MA'));
    expect(events).toEqual([]);
    out.pushBytes(bytes('RKER: init started (mode bench)\r\nTSVM-LINUX-MARKER again\n'));
    expect(events).toEqual(['marker']);
    out.pushBytes(bytes('TSVM-LINUX-JOB-DONE: 6390 ms of guest time\r\n'));
    expect(events).toEqual(['marker', 'done']);
    expect(out.guestJobMs).toBe(6390);
  });

  it('keeps the last lines without escape sequences, the unfinished one included', () => {
    const out = new GuestOutput(() => {});
    out.pushBytes(bytes('one\ntwo\nthree\nfour\nfive\n\x1b[?7lsix'));
    expect(out.lastLines()).toEqual(['two', 'three', 'four', 'five', 'six']);
  });
});

describe('WrappingCounter', () => {
  it('adds up a 32-bit counter across wraps', () => {
    const c = new WrappingCounter();
    expect(c.sample(0xf000_0000)).toBe(0xf000_0000);
    expect(c.sample(0x1000_0000)).toBe(0x1_1000_0000);
    expect(c.sample(0x1000_0000 | 0)).toBe(0x1_1000_0000);
    expect(c.sample(-1)).toBe(0x1_ffff_ffff);
    expect(c.total).toBe(0x1_ffff_ffff);
  });
});
