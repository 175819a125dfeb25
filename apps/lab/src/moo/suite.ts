import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CpuModelName } from '@tsvm/cpu';
import { LabError } from '../errors.js';
import { MooMetadata, parseRevocations } from './metadata.js';
import { readMoo } from './reader.js';
import { MooRunner, type MooDifference } from './runner.js';

export interface MooSuiteOptions {
  /** Folder of `.MOO` / `.MOO.gz` files. */
  dir: string;
  model: CpuModelName;
  /** Metadata (undefined-flag masks, statuses); default: `metadata.json` in or above `dir`. */
  metadata?: MooMetadata;
  /** Revoked test hashes; default: `revocation_list.txt` in or above `dir` when present. */
  revoked?: Set<string>;
  /** Run only the first N tests of each file. */
  limit?: number;
  /** Run only files whose stem matches. */
  filter?: RegExp;
  /** Called after each file (progress display). */
  onFile?: (result: MooFileResult) => void;
}

export interface MooFailure {
  index: number;
  name: string;
  bytes: string;
  differences: MooDifference[];
}

export interface MooFileResult {
  /** The opcode file's stem, e.g. `F6.6`. */
  stem: string;
  status: string;
  passed: number;
  failed: number;
  /** Tests skipped because the revocation list names them. */
  revoked: number;
  firstFailure: MooFailure | null;
}

export interface MooSuiteResult {
  model: CpuModelName;
  files: MooFileResult[];
  passed: number;
  failed: number;
  revoked: number;
  /** Tests of files whose status is normal, undocumented or alias. */
  documentedPassed: number;
  documentedFailed: number;
}

const MOO_FILE = /\.moo(\.gz)?$/i;
const DOCUMENTED = new Set(['normal', 'undocumented', 'alias']);

function findUp(dir: string, name: string): string | null {
  for (const candidate of [join(dir, name), join(dir, '..', name)]) if (existsSync(candidate)) return candidate;
  return null;
}

/** Opcode-file order: by opcode, then ModR/M reg. */
function compareStems(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: false });
}

/** Runs every MOO file of a folder against one CPU model. */
export function runMooSuite(options: MooSuiteOptions): MooSuiteResult {
  let entries: string[];
  try {
    entries = readdirSync(options.dir).filter((f) => MOO_FILE.test(f));
  } catch (cause) {
    throw new LabError('Io', `cannot read the MOO folder ${options.dir}`, { cause });
  }
  if (entries.length === 0) throw new LabError('Io', `no .MOO or .MOO.gz files in ${options.dir}`);
  let metadata = options.metadata;
  if (metadata === undefined) {
    const path = findUp(options.dir, 'metadata.json');
    metadata = path === null ? MooMetadata.none() : MooMetadata.parse(readFileSync(path, 'utf8'), path);
  }
  let revoked = options.revoked;
  if (revoked === undefined) {
    const path = findUp(options.dir, 'revocation_list.txt');
    revoked = path === null ? new Set() : parseRevocations(readFileSync(path, 'utf8'), path);
  }
  const runner = new MooRunner(options.model);
  const files: MooFileResult[] = [];
  const stems = entries.map((f) => ({ file: f, stem: basename(f).replace(MOO_FILE, '') })).sort((a, b) => compareStems(a.stem, b.stem));
  for (const { file, stem } of stems) {
    if (options.filter !== undefined && !options.filter.test(stem)) continue;
    const path = join(options.dir, file);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (cause) {
      throw new LabError('Io', `cannot read ${path}`, { cause });
    }
    const moo = readMoo(data, path, options.limit !== undefined ? { limit: options.limit } : {});
    const info = metadata.info(stem);
    const result: MooFileResult = { stem, status: info.status, passed: 0, failed: 0, revoked: 0, firstFailure: null };
    const count = options.limit === undefined ? moo.tests.length : Math.min(options.limit, moo.tests.length);
    for (let i = 0; i < count; i++) {
      const test = moo.tests[i];
      if (test.hash !== '' && revoked.has(test.hash)) {
        result.revoked++;
        continue;
      }
      const r = runner.run(test, info.flagsMask, moo.regMasks);
      if (r.passed) {
        result.passed++;
      } else {
        result.failed++;
        result.firstFailure ??= {
          index: test.index,
          name: test.name,
          bytes: Array.from(test.bytes, (b) => b.toString(16).padStart(2, '0')).join(' '),
          differences: r.differences,
        };
      }
    }
    files.push(result);
    options.onFile?.(result);
  }
  const sum = (f: (r: MooFileResult) => number, only = (_: MooFileResult) => true): number =>
    files.filter(only).reduce((n, r) => n + f(r), 0);
  const documented = (r: MooFileResult): boolean => DOCUMENTED.has(r.status);
  return {
    model: options.model,
    files,
    passed: sum((r) => r.passed),
    failed: sum((r) => r.failed),
    revoked: sum((r) => r.revoked),
    documentedPassed: sum((r) => r.passed, documented),
    documentedFailed: sum((r) => r.failed, documented),
  };
}
