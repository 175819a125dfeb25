import { describe, expect, it } from 'vitest';
import { CpuError } from './index.js';

describe('CpuError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new CpuError('InvalidArgument', 'bad input at offset 4', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CpuError');
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toBe('bad input at offset 4');
    expect(err.cause).toBe(cause);
  });
});
