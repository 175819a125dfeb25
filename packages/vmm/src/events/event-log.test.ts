import { describe, expect, it } from 'vitest';
import { VmmError } from '../errors.js';
import { EventLog, type VmEvent } from './event-log.js';

function log(capacity: number) {
  let t = 0;
  return new EventLog({ vmId: 'vm-a', virtualTime: () => (t += 10), wallTime: () => 1_700_000_000_000, policyRevision: () => 7 }, capacity);
}

describe('EventLog', () => {
  it('stamps each event with the VM, both clocks, the policy revision and a sequence number', () => {
    const l = log(4);
    const e = l.record('denied', { action: 'io.read', resource: 'port 0x0080', size: 1 }, 'deny', 'r1');
    expect(e).toEqual({
      seq: 1,
      vmId: 'vm-a',
      virtualTime: 10,
      wallTime: 1_700_000_000_000,
      policyRevision: 7,
      kind: 'denied',
      asked: { action: 'io.read', resource: 'port 0x0080', size: 1 },
      decided: 'deny',
      rule: 'r1',
    });
  });

  it('keeps the newest records and counts what it dropped', () => {
    const l = log(3);
    for (let i = 0; i < 5; i++) l.record('logged', { action: 'io.write', resource: `port ${i}` }, 'allow-and-log', 'w');
    expect(l.events().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(l.dropped).toBe(2);
    expect(l.total).toBe(5);
    expect(l.counter('w', 'allow-and-log')).toBe(5);
  });

  it('counts per (rule, result)', () => {
    const l = log(8);
    l.record('denied', { action: 'io.read', resource: 'p' }, 'deny', 'a');
    l.record('trapped', { action: 'io.read', resource: 'p' }, 'trap', 'a');
    l.record('denied', { action: 'io.read', resource: 'p' }, 'deny', 'b');
    l.record('started', { action: 'started', resource: 'vm' }, 'applied');
    l.count('a', 'deny');
    expect(l.counters()).toEqual([
      { rule: 'a', result: 'deny', count: 2 },
      { rule: 'a', result: 'trap', count: 1 },
      { rule: 'b', result: 'deny', count: 1 },
    ]);
    expect(l.counter('c', 'deny')).toBe(0);
  });

  it('tells subscribers, survives one that throws, and unsubscribes', () => {
    const l = log(8);
    const seen: VmEvent[] = [];
    const off = l.subscribe((e) => seen.push(e));
    l.subscribe(() => {
      throw new Error('broken subscriber');
    });
    l.record('paused', { action: 'paused', resource: 'vm' }, 'applied');
    off();
    l.record('resumed', { action: 'resumed', resource: 'vm' }, 'applied');
    expect(seen.map((e) => e.kind)).toEqual(['paused']);
    expect(l.subscriberErrors).toBe(2);
    expect(l.events()).toHaveLength(2);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => log(0)).toThrow(VmmError);
  });
});
