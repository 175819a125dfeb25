import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, productPackages, typescriptFiles } from './workspace.js';

describe('every package is usable on its own', () => {
  for (const p of productPackages()) {
    const dir = join(REPO_ROOT, p.dir);
    it(`${p.name}: has a README, an index with named exports, typed errors and tests`, () => {
      expect(existsSync(join(dir, 'README.md'))).toBe(true);
      const index = readFileSync(join(dir, 'src', 'index.ts'), 'utf8');
      expect(index).not.toMatch(/export \* from/);
      expect(index).toMatch(/export \{/);
      expect(existsSync(join(dir, 'src', 'errors.ts'))).toBe(true);
      expect(typescriptFiles(dir).some((f) => f.endsWith('.test.ts'))).toBe(true);
    });
  }
});
