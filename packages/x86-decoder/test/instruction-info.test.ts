import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_NAMES } from '../src/generated/code.js';
import { decode } from '../src/decoder.js';
import { Instruction } from '../src/instruction.js';
import { Eflags } from '../src/prefix.js';
import { TESTDATA, parseHex } from './iced-vectors.js';

/**
 * EFLAGS facts (read, written, undefined, cleared, set) against the upstream instruction-info vectors,
 * for every line whose instruction this decoder decodes. The vectors track O S Z A C P D I.
 */
const LETTERS: Readonly<Record<string, number>> = {
  o: Eflags.OF, s: Eflags.SF, z: Eflags.ZF, a: Eflags.AF, c: Eflags.CF, p: Eflags.PF, d: Eflags.DF, i: Eflags.IF,
};
const TRACKED = Eflags.OF | Eflags.SF | Eflags.ZF | Eflags.AF | Eflags.CF | Eflags.PF | Eflags.DF | Eflags.IF;

function bits(letters: string): number {
  let b = 0;
  for (const ch of letters) b |= LETTERS[ch] ?? 0;
  return b;
}

/**
 * PUSHF/POPF/IRET/RSM/SYSRET move the whole flags register; the vectors list no flags for them while the
 * record says they read (PUSHF) or write (POPF, IRET, RSM, SYSRET) all of them, which is what an interpreter or
 * JIT needs.
 */
const SKIP = /^(Pushf|Popf|Iret|Rsm|Sysret)/;

const FILES: readonly [string, number][] = [
  ['InstructionInfoTest_16.txt', 16],
  ['InstructionInfoTest_32.txt', 32],
  ['InstructionInfoTest_64.txt', 64],
];

describe('EFLAGS facts against the instruction-info vectors', () => {
  for (const [file, bitness] of FILES) {
    it(`${file}: every decoded instruction has the flags the vector gives`, () => {
      const text = readFileSync(resolve(TESTDATA, 'iced-x86', 'InstructionInfo', file), 'utf8');
      const ins = new Instruction();
      let checked = 0;
      const wrong: string[] = [];
      for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#') || line.includes('decopt=')) continue;
        const [hex = '', code = '', , , rest = ''] = line.split(', ');
        decode(parseHex(hex), 0, 0, bitness, ins);
        if (CODE_NAMES[ins.code] !== code || SKIP.test(code)) continue;
        checked++;
        const want = { r: 0, w: 0, u: 0, c: 0, s: 0 };
        for (const word of rest.split(' ')) {
          const m = /^f([rwucs])=([a-z]+)$/.exec(word);
          if (m !== null) want[m[1] as keyof typeof want] = bits(m[2] ?? '');
        }
        const got = {
          r: ins.flagsRead & TRACKED, w: ins.flagsWritten & TRACKED, u: ins.flagsUndefined & TRACKED,
          c: ins.flagsCleared & TRACKED, s: ins.flagsSet & TRACKED,
        };
        if (got.r !== want.r || got.w !== want.w || got.u !== want.u || got.c !== want.c || got.s !== want.s) {
          wrong.push(`${code}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
        }
      }
      console.log(`${file}: ${checked - wrong.length}/${checked} decoded lines have the vector's flags`);
      for (const w of [...new Set(wrong)].slice(0, Number(process.env['SHOW_FLAGS'] ?? 0))) console.log(`  ${w}`);
      expect(checked).toBeGreaterThan(0);
      expect(wrong).toEqual([]);
    }, 120_000);
  }
});
