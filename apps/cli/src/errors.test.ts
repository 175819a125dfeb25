import { describe, expect, it } from 'vitest';
import { CliError } from './index.js';

describe('CliError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new CliError('Usage', 'bad input at offset 4', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CliError');
    expect(err.code).toBe('Usage');
    expect(err.message).toBe('bad input at offset 4');
    expect(err.cause).toBe(cause);
  });
});
