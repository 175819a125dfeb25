import { PassThrough } from 'node:stream';
import type { CliIo } from './command.js';

/** A CliIo whose output is collected in strings, for tests. */
export function captureIo(cwd = process.cwd()): CliIo & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return { stdout, stderr, stdin: new PassThrough(), cwd, out: () => out, err: () => err };
}
