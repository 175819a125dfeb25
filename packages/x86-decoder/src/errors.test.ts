import { describe, expect, it } from 'vitest';
import { DecoderError } from './index.js';

describe('DecoderError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new DecoderError('InvalidArgument', 'bad input at offset 4', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DecoderError');
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toBe('bad input at offset 4');
    expect(err.cause).toBe(cause);
  });
});
