import { describe, expect, it } from 'vitest';
import baseline from './differential-baseline.json' with { type: 'json' };
import { type DiffKind, type Difference, diffStream, randomBytes } from './iced-diff.js';

/**
 * Differential test against the iced-x86 npm package: a fixed-seed stream of random bytes per mode is
 * decoded instruction after instruction by both decoders, comparing length, code, operands and the
 * Intel-syntax text. Each mode must have at least 100,000 instructions and no more differences of any
 * kind than `differential-baseline.json` records (lower the baseline as coverage grows).
 */
const STREAM_BYTES: Readonly<Record<number, number>> = { 16: 230_000, 32: 270_000, 64: 300_000 };

describe('differential against iced-x86 (random bytes, fixed seed)', () => {
  for (const bitness of [16, 32, 64]) {
    it(`${bitness}-bit: no more differences than the baseline`, () => {
      const counts: Record<DiffKind | 'total', number> = { total: 0, length: 0, code: 0, operands: 0, text: 0 };
      const found: Difference[] = [];
      diffStream(randomBytes(STREAM_BYTES[bitness] ?? 0, 0x5eed + bitness), bitness, counts, found, 5);
      console.log(`${bitness}-bit: ${JSON.stringify(counts)}`);
      for (const f of found) console.log(`  ${f.kind} ${f.bytes}: ours ${f.ours} | iced ${f.theirs}`);
      const max = (baseline as Record<string, Record<string, number>>)[String(bitness)] ?? {};
      expect(counts.total).toBeGreaterThanOrEqual(100_000);
      for (const kind of ['length', 'code', 'operands', 'text'] as const) {
        expect(counts[kind], `${kind} differences`).toBeLessThanOrEqual(max[kind] ?? 0);
      }
    }, 120_000);
  }
});
