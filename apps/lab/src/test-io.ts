import { PassThrough } from 'node:stream';
import type { LabIo } from './command.js';

/** A LabIo whose output is collected in strings, for tests. */
export function captureIo(cwd = process.cwd()): LabIo & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return { stdout, stderr, cwd, out: () => out, err: () => err };
}
