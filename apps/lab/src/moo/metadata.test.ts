import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { singleStep8086Dir } from '../paths.js';
import { MooMetadata, parseRevocations } from './metadata.js';

describe('test-set metadata', () => {
  const meta = MooMetadata.parse(readFileSync(join(singleStep8086Dir(), 'metadata.json'), 'utf8'));

  it('gives status and undefined-flag mask per opcode and per ModR/M reg', () => {
    expect(meta.info('00')).toEqual({ status: 'normal', flagsMask: 0xffff });
    expect(meta.info('08')).toEqual({ status: 'normal', flagsMask: 0xffef }); // OR: AF undefined
    expect(meta.info('F6.6')).toEqual({ status: 'normal', flagsMask: 63274 });
    expect(meta.info('F6.1').status).toBe('alias');
    expect(meta.info('D2.6')).toEqual({ status: 'undocumented', flagsMask: 63274 });
    expect(meta.info('D8').status).toBe('fpu');
    expect(meta.info('C7').status).toBe('normal/undefined'); // one file, statuses listed per reg
  });

  it('rejects malformed metadata', () => {
    expect(() => MooMetadata.parse('{')).toThrow(/not valid JSON/);
    expect(() => MooMetadata.parse('{"x":1}')).toThrow(/opcodes/);
  });

  it('parses revocation lists', () => {
    const set = parseRevocations(`# revoked\n${'AB'.repeat(20)}\n\n`);
    expect(set.has('ab'.repeat(20))).toBe(true);
    expect(() => parseRevocations('xyz')).toThrow(/:1: not a SHA-1/);
  });
});
