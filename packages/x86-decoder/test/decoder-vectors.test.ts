import { describe, expect, it } from 'vitest';
import { Instruction } from '../src/instruction.js';
import { checkVector, neededOption, readVectorFile } from './iced-vectors.js';
import baseline from './vector-baseline.json' with { type: 'json' };

/**
 * The upstream decoder vectors. Each file's pass count must not fall below the committed baseline
 * (raise the baseline as coverage grows); the counts are printed for the README.
 */
const FILES: readonly [string, number][] = [
  ['DecoderTest16.txt', 16],
  ['DecoderTest32.txt', 32],
  ['DecoderTest64.2021-10-01.txt', 64],
  ['DecoderTestMisc16.txt', 16],
  ['DecoderTestMisc32.txt', 32],
  ['DecoderTestMisc64.txt', 64],
];

describe('iced-x86 decoder vectors', () => {
  for (const [file, bitness] of FILES) {
    it(`${file}: no fewer passes than the baseline`, () => {
      const ins = new Instruction();
      let passed = 0;
      let total = 0;
      let skipped = 0;
      const failures = new Map<string, string>();
      for (const v of readVectorFile(file)) {
        if (neededOption(v) !== undefined) {
          skipped++;
          continue;
        }
        total++;
        const err = checkVector(v, bitness, ins);
        if (err === '') passed++;
        else if (!failures.has(v.code)) failures.set(v.code, `line ${v.lineNo}: ${err}`);
      }
      const min = (baseline as Record<string, number>)[file] ?? 0;
      console.log(`${file}: ${passed}/${total} pass (${skipped} need a decoder option)`);
      if (process.env['VECTOR_FAILURES'] !== undefined) {
        for (const [code, msg] of failures) console.log(`  ${code}: ${msg}`);
      }
      expect(passed).toBeGreaterThanOrEqual(min);
    }, 120_000);
  }
});
