import { describe, expect, it } from 'vitest';
import { ServerError } from './index.js';

describe('ServerError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new ServerError('Usage', 'bad input at offset 4', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ServerError');
    expect(err.code).toBe('Usage');
    expect(err.message).toBe('bad input at offset 4');
    expect(err.cause).toBe(cause);
  });
});
