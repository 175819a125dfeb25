import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_DEPENDENCIES, forbiddenDependencies } from '@tsvm/eslint-config/boundaries';
import { REPO_ROOT, importsOf, productPackages, tsvmPackageOf, typescriptFiles } from './workspace.js';

const packages = productPackages();

describe('dependency direction (ARCHITECTURE.md)', () => {
  it('knows every product package', () => {
    expect(packages.length).toBeGreaterThanOrEqual(9);
    for (const p of packages) expect(Object.keys(ALLOWED_DEPENDENCIES)).toContain(p.name);
  });

  it('forbids the devices package from importing the cpu', () => {
    expect(forbiddenDependencies('@tsvm/devices')).toContain('@tsvm/cpu');
    expect(forbiddenDependencies('@tsvm/x86-decoder')).toEqual(
      expect.arrayContaining(['@tsvm/mmu', '@tsvm/cpu', '@tsvm/vmm', '@tsvm/devices', '@tsvm/storage']),
    );
  });

  for (const p of packages) {
    it(`${p.name}: package.json names only allowed @tsvm dependencies`, () => {
      const declared = [
        ...Object.keys(p.manifest.dependencies ?? {}),
        ...Object.keys(p.manifest.devDependencies ?? {}),
        ...Object.keys(p.manifest.peerDependencies ?? {}),
      ].filter((d) => ALLOWED_DEPENDENCIES[d] !== undefined || d.startsWith('@tsvm/'));
      const forbidden = forbiddenDependencies(p.name);
      expect(declared.filter((d) => forbidden.includes(d))).toEqual([]);
    });

    it(`${p.name}: sources import only allowed @tsvm packages`, () => {
      const forbidden = forbiddenDependencies(p.name);
      const offending: string[] = [];
      for (const file of typescriptFiles(join(REPO_ROOT, p.dir))) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          const target = tsvmPackageOf(spec);
          if (target !== undefined && forbidden.includes(target)) offending.push(`${file}: ${spec}`);
        }
      }
      expect(offending).toEqual([]);
    });
  }
});

describe('import scanner', () => {
  it('finds static, re-export and dynamic imports', () => {
    const src = `import { a } from '@tsvm/cpu';\nexport { b } from "./b.js";\nconst m = await import('@tsvm/vmm/x');`;
    expect(importsOf(src)).toEqual(['@tsvm/cpu', './b.js', '@tsvm/vmm/x']);
    expect(tsvmPackageOf('@tsvm/vmm/x')).toBe('@tsvm/vmm');
    expect(tsvmPackageOf('node:fs')).toBeUndefined();
  });
});
