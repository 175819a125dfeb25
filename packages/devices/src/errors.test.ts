import { describe, expect, it } from 'vitest';
import { DeviceError } from './index.js';

describe('DeviceError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new DeviceError('InvalidArgument', 'bad input at offset 4', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DeviceError');
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toBe('bad input at offset 4');
    expect(err.cause).toBe(cause);
  });
});
