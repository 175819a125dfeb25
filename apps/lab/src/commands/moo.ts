import { resolve, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CPU_MODEL_NAMES, type CpuModelName } from '@tsvm/cpu';
import type { LabCommand, LabIo } from '../command.js';
import { LabError } from '../errors.js';
import { MooMetadata, parseRevocations } from '../moo/metadata.js';
import { runMooSuite, type MooFileResult, type MooSuiteResult } from '../moo/suite.js';
import { singleStep8086Dir } from '../paths.js';

const HELP = `Usage: tsvm-lab moo [options]

Runs MOO single-step test files (SingleStepTests 8086/80286/80386 format) against a CPU model and
prints, per opcode file and in total, the tests passed and failed. Registers and the listed RAM bytes
are compared; flags the metadata marks undefined are masked (per ModR/M reg where they vary), also in
the FLAGS image an exception pushes; tests on the revocation list are skipped.

Options:
  --dir DIR         folder of .MOO/.MOO.gz files (default: the 8086 set beside the repository,
                    ../shared/testdata/singlestep-8086/moo)
  --model NAME      CPU model: ${CPU_MODEL_NAMES.join(', ')} (default: 8086)
  --metadata FILE   metadata.json (default: in DIR or its parent)
  --revoked FILE    revocation list, one SHA-1 per line (default: revocation_list.txt in DIR or its parent)
  --limit N         run only the first N tests of each file
  --only REGEX      run only the files whose name (e.g. F6.6) matches
  --diff            show the first failing test's difference for each failing file
  --json            print the results as JSON
`;

interface MooArgs {
  dir: string;
  model: CpuModelName;
  metadata?: string;
  revoked?: string;
  limit?: number;
  only?: RegExp;
  diff: boolean;
  json: boolean;
}

function parseArgs(args: string[], io: LabIo): MooArgs {
  const out: MooArgs = { dir: join(singleStep8086Dir(), 'moo'), model: '8086', diff: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new LabError('Usage', `${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--dir': out.dir = resolve(io.cwd, value()); break;
      case '--model': {
        const m = value();
        if (!(CPU_MODEL_NAMES as readonly string[]).includes(m)) throw new LabError('Usage', `unknown model '${m}' (known: ${CPU_MODEL_NAMES.join(', ')})`);
        out.model = m as CpuModelName;
        break;
      }
      case '--metadata': out.metadata = resolve(io.cwd, value()); break;
      case '--revoked': out.revoked = resolve(io.cwd, value()); break;
      case '--limit': {
        const n = Number(value());
        if (!Number.isInteger(n) || n <= 0) throw new LabError('Usage', '--limit needs a positive integer');
        out.limit = n;
        break;
      }
      case '--only':
        try {
          out.only = new RegExp(value(), 'i');
        } catch (cause) {
          throw new LabError('Usage', '--only needs a valid regular expression', { cause });
        }
        break;
      case '--diff': out.diff = true; break;
      case '--json': out.json = true; break;
      default: throw new LabError('Usage', `unknown option '${a}'`);
    }
  }
  return out;
}

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

function pct(p: number, total: number): string {
  return total === 0 ? '-' : `${((100 * p) / total).toFixed(2)}%`;
}

/** The per-file table and totals as text (also what the README's table is made from). */
export function formatMooReport(result: MooSuiteResult, diff: boolean): string {
  const lines: string[] = [];
  lines.push(`model ${result.model}`);
  lines.push(`${'file'.padEnd(8)} ${'status'.padEnd(13)} ${'passed'.padStart(7)} ${'failed'.padStart(7)}  rate`);
  for (const f of result.files) {
    lines.push(`${f.stem.padEnd(8)} ${(f.status || '-').padEnd(13)} ${String(f.passed).padStart(7)} ${String(f.failed).padStart(7)}  ${pct(f.passed, f.passed + f.failed)}`);
    if (diff && f.firstFailure !== null) lines.push(formatFailure(f));
  }
  const total = result.passed + result.failed;
  lines.push('');
  lines.push(`total: ${result.passed} passed, ${result.failed} failed, ${result.revoked} revoked (${pct(result.passed, total)})`);
  const docTotal = result.documentedPassed + result.documentedFailed;
  lines.push(`normal/undocumented/alias: ${result.documentedPassed} passed, ${result.documentedFailed} failed (${pct(result.documentedPassed, docTotal)})`);
  return `${lines.join('\n')}\n`;
}

function formatFailure(f: MooFileResult): string {
  const ff = f.firstFailure!;
  const diffs = ff.differences.map((d) => {
    const digits = d.where.startsWith('ram') ? 2 : 4;
    return `      ${d.where.padEnd(12)} expected ${hex(d.expected, digits)} got ${hex(d.actual, digits)}`;
  });
  return [`    first failure: test #${ff.index} '${ff.name}' (${ff.bytes})`, ...diffs].join('\n');
}

export const mooCommand: LabCommand = {
  name: 'moo',
  summary: 'CPU single-step vectors (MOO files) against a CPU model',
  help: HELP,
  async run(args, io) {
    const a = parseArgs(args, io);
    const metadata = a.metadata === undefined ? undefined : MooMetadata.parse(readFile(a.metadata), a.metadata);
    const revoked = a.revoked === undefined ? undefined : parseRevocations(readFile(a.revoked), a.revoked);
    const started = Date.now();
    const result = runMooSuite({
      dir: a.dir,
      model: a.model,
      ...(metadata !== undefined ? { metadata } : {}),
      ...(revoked !== undefined ? { revoked } : {}),
      ...(a.limit !== undefined ? { limit: a.limit } : {}),
      ...(a.only !== undefined ? { filter: a.only } : {}),
    });
    const seconds = (Date.now() - started) / 1000;
    if (a.json) io.stdout.write(`${JSON.stringify({ ...result, seconds }, null, 2)}\n`);
    else io.stdout.write(`${formatMooReport(result, a.diff)}time: ${seconds.toFixed(1)} s\n`);
    return result.failed === 0 ? 0 : 1;
  },
};

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new LabError('Io', `cannot read ${path}`, { cause });
  }
}
