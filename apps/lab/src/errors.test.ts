import { describe, expect, it } from 'vitest';
import { LabError } from './index.js';

describe('LabError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new LabError('Usage', 'bad input at offset 4', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('LabError');
    expect(err.code).toBe('Usage');
    expect(err.message).toBe('bad input at offset 4');
    expect(err.cause).toBe(cause);
  });
});
