import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_WATCHED_LINE } from './console-watch.js';

describe('LineSplitter', () => {
  it('hands over lines without CR, and cuts a line that never ends into bounded pieces', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    for (const b of Buffer.from('Kernel panic - not syncing\r\nok\n')) s.push(b);
    expect(lines).toEqual(['Kernel panic - not syncing', 'ok']);
    lines.length = 0;
    for (let i = 0; i < MAX_WATCHED_LINE * 2 + 5; i++) s.push(0x41);
    expect(lines.map((l) => l.length)).toEqual([MAX_WATCHED_LINE, MAX_WATCHED_LINE]);
    s.push(0x0a);
    expect(lines[2]).toBe('AAAAA');
  });
});
