import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root, found from this file's location (tooling/checks/src). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface WorkspacePackage {
  /** Folder relative to the repository root, e.g. `packages/mmu`. */
  dir: string;
  name: string;
  manifest: {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    bin?: Record<string, string>;
    private?: boolean;
  };
}

/** Every package under packages/ and apps/ (tooling packages are build helpers, not products). */
export function productPackages(): WorkspacePackage[] {
  const out: WorkspacePackage[] = [];
  for (const group of ['packages', 'apps']) {
    const groupDir = join(REPO_ROOT, group);
    for (const entry of readdirSync(groupDir)) {
      const manifestPath = join(groupDir, entry, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as WorkspacePackage['manifest'];
      out.push({ dir: `${group}/${entry}`, name: manifest.name, manifest });
    }
  }
  return out;
}

/** All .ts files under `dir` (absolute), skipping node_modules and dist. */
export function typescriptFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry.endsWith('.ts')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The module specifiers a TypeScript source imports or re-exports. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined) found.push(spec);
  }
  return found;
}

/** The @tsvm package a specifier names, or undefined. `@tsvm/mmu/foo` → `@tsvm/mmu`. */
export function tsvmPackageOf(specifier: string): string | undefined {
  const m = /^(@tsvm\/[^/]+)/.exec(specifier);
  return m?.[1];
}
