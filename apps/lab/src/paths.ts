import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file holding `pnpm-workspace.yaml`. */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(from);
    dir = parent;
  }
}

/** The shared test data, kept beside the repository (`<repo>/../shared/testdata`). */
export function testdataDir(): string {
  return join(repoRoot(), '..', 'shared', 'testdata');
}

/** The 8086 single-step set (the default folder of the `moo` suite). */
export function singleStep8086Dir(): string {
  return join(testdataDir(), 'singlestep-8086');
}
