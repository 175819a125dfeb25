import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { singleStep8086Dir } from '../paths.js';
import { runMooSuite } from './suite.js';

/**
 * The CI slice of the 8086 single-step vectors: the first 100 tests of every opcode file (322 files).
 * The full set runs in the lab: `tsvm-lab moo`.
 */
describe('8086 single-step vectors (CI slice)', () => {
  it('passes every sampled test of normal, undocumented and alias opcodes, and 99.9% overall', () => {
    const result = runMooSuite({ dir: join(singleStep8086Dir(), 'moo'), model: '8086', limit: 100 });
    expect(result.files.length).toBe(322);
    const failing = result.files.filter((f) => f.failed > 0).map((f) => `${f.stem}: ${f.failed} (${JSON.stringify(f.firstFailure)})`);
    const documented = result.files.filter((f) => ['normal', 'undocumented', 'alias'].includes(f.status));
    expect(documented.filter((f) => f.failed > 0).map((f) => f.stem)).toEqual([]);
    expect(result.passed / (result.passed + result.failed), failing.join('\n')).toBeGreaterThanOrEqual(0.999);
  }, 180_000);
});
