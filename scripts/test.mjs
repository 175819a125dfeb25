#!/usr/bin/env node
// Runs every package's tests through turbo, then prints one summary line for the whole repository
// from the vitest JSON reports ("Tests: N passed, N failed, N skipped"), so a run that executed no
// test is visible at the end of the output.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const groups = ['packages', 'apps', 'tooling'];
const packageDirs = groups.flatMap((g) =>
  existsSync(join(root, g)) ? readdirSync(join(root, g)).map((d) => join(root, g, d)) : [],
);
for (const dir of packageDirs) rmSync(join(dir, '.vitest', 'report.json'), { force: true });

// The JSON reporter is added here, for every package at once, so no package config has to remember it.
// A generous per-test timeout: CI is a shared 2-core machine, and a slow host is not a failed test.
const vitestArgs = ['--reporter=default', '--reporter=json', '--outputFile.json=.vitest/report.json', '--testTimeout=60000'];
// Two packages at a time: each vitest run uses the cores itself.
const concurrency = process.env.TSVM_TEST_CONCURRENCY ?? '2';
const turbo = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--continue', `--concurrency=${concurrency}`, ...process.argv.slice(2), '--', ...vitestArgs], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});

function hasTestScript(dir) {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  return typeof JSON.parse(readFileSync(manifest, 'utf8')).scripts?.test === 'string';
}

let passed = 0;
let failed = 0;
let skipped = 0;
let files = 0;
const missing = [];
for (const dir of packageDirs) {
  if (!hasTestScript(dir)) continue;
  const report = join(dir, '.vitest', 'report.json');
  if (!existsSync(report)) {
    // With a turbo filter only some packages run; a missing report counts only in a full run.
    if (process.argv.length <= 2) missing.push(dir.slice(root.length + 1));
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  files += r.numTotalTestSuites ?? 0;
}
if (missing.length > 0) console.log(`no test report from: ${missing.join(', ')}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
const status = turbo.status ?? 1;
process.exit(status !== 0 ? status : failed > 0 || missing.length > 0 ? 1 : passed === 0 ? 1 : 0);
