import { describe, expect, it } from 'vitest';
import type { Milestone, PeerRun } from './run-result.js';
import { median, summarize, timeRatio } from './summary.js';
import { formatReport } from './table.js';

const at = (seconds: number, instructions: number | null, cpuSeconds: number | null = seconds): Milestone => ({ seconds, cpuSeconds, instructions });

function run(peer: string, marker: Milestone | null, done: Milestone | null, stopped: Milestone, reason = 'done'): PeerRun {
  return { peer, marker, done, stopped: done ?? stopped, reason, where: null, guestJobMs: done ? 950 : null, lastLines: ['last line'], instructionSource: `${peer} counter` };
}

describe('summaries and ratios', () => {
  it('takes medians over the runs that got there', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
    const s = summarize('v86', [run('v86', at(30, 2.7e9), at(40, 3.5e9), at(40, 3.5e9)), run('v86', at(34, 2.6e9), at(44, 3.6e9), at(44, 3.6e9)), run('v86', at(32, 2.8e9), at(42, 3.4e9), at(42, 3.4e9))]);
    expect(s.reachedDone).toBe(3);
    expect(s.marker).toEqual(at(32, 2.7e9));
    expect(s.done).toEqual(at(42, 3.5e9));
    expect(s.mips).toBeCloseTo(3.5e9 / 42 / 1e6);
  });

  it('takes QEMU counts from the counting run and its times from the timing runs', () => {
    const timing = run('qemu', at(3, null), at(4, null), at(4, null));
    const counting = run('qemu (icount)', at(9, 3.2e9), at(12, 4.1e9), at(12, 4.1e9));
    const s = summarize('qemu', [timing], [counting]);
    expect(s.marker).toEqual(at(3, 3.2e9));
    expect(s.done).toEqual(at(4, 4.1e9));
    expect(s.mips).toBeCloseTo(4.1e9 / 4 / 1e6);
    expect(s.instructionSource).toMatch(/separate run/);
  });

  it('gives a lower bound for a peer that did not get there, and nothing for one that never ran', () => {
    const v86 = summarize('v86', [run('v86', at(30, 2.7e9), at(40, 3.5e9), at(40, 3.5e9))]);
    const stuck = summarize('tsvm', [run('tsvm', null, null, at(120, 4e9, 100), 'time limit')]);
    expect(timeRatio(stuck, v86, 'marker')).toEqual({ value: 4, lowerBound: true });
    expect(timeRatio(stuck, v86, 'done', 'cpu')).toEqual({ value: 2.5, lowerBound: true });
    const failed = summarize('tsvm', [run('tsvm', null, null, at(0, null, null), 'failed: boom')]);
    expect(timeRatio(failed, v86, 'marker')).toBeNull();
    const report = formatReport([v86, stuck]);
    expect(report).toMatch(/tsvm \/ v86: time to marker > 4\.00x, time to end > 3\.00x/);
    expect(report).toMatch(/tsvm: did not reach the marker within 4\.000 G instructions \/ 120\.00 s \(time limit\)/);
  });
});
