import { describe, expect, it } from 'vitest';
import { VmmError } from '../errors.js';
import { parsePolicy, validatePolicy } from './load.js';

const VALID = {
  version: 1,
  vm: { id: 'fuzz' },
  hardware: { memory: '32M', disks: [{ id: 'd', path: 'd.img', format: 'qcow2' }], boot: { kernel: 'k', append: 'x' } },
  limits: { cpu: { weight: 10, cap: { percent: 50 } }, disk: { bytes: { size: 100, refillTime: 10 } }, budget: { instructions: 5 } },
  access: { rules: [{ id: 'r', actions: ['io.read'], resource: { ports: [1, 2] }, effect: 'deny', gp: true }] },
  events: { panicPatterns: [{ pattern: 'panic', action: 'stop' }] },
};

/** A deterministic xorshift generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

const ODD_VALUES: unknown[] = [null, undefined, -1, 0, 1.5, 2 ** 53, NaN, '', 'x', '64Q', true, [], {}, [1, 2, 3], { a: 1 }, '__proto__'];

/** Replaces one random node of `value` with an odd value (or deletes it, or adds a stray key). */
function mutate(value: unknown, random: () => number): unknown {
  if (typeof value !== 'object' || value === null || random() < 0.25) return ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...value };
  const keys = Object.keys(copy);
  if (keys.length === 0 || random() < 0.1) {
    copy[random() < 0.5 ? 'stray' : '0'] = 1;
    return copy;
  }
  const key = keys[Math.floor(random() * keys.length)];
  if (random() < 0.15) delete copy[key];
  else copy[key] = mutate(copy[key], random);
  return copy;
}

describe('policy validation against hostile documents', () => {
  it('accepts the base document', () => {
    expect(validatePolicy(VALID).vm.id).toBe('fuzz');
  });

  it('answers every mutated document with a document or a VmmError naming a field', () => {
    const random = rng(0x7e57);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const doc = mutate(mutate(VALID, random), random);
      try {
        validatePolicy(doc);
      } catch (e) {
        expect(e).toBeInstanceOf(VmmError);
        expect((e as VmmError).message).toMatch(/^policy '[^']+': ./);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000);
  });

  it('refuses YAML alias bombs and garbage text without crashing', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(() => parsePolicy(bomb)).toThrow(/not valid YAML/);
    const random = rng(99);
    for (let i = 0; i < 200; i++) {
      const text = Array.from({ length: 40 }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join('');
      expect(() => parsePolicy(text)).toThrow(VmmError);
    }
  });
});
