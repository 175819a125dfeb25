import { validatePolicy } from './load.js';
import type { PolicyDocument } from './schema.js';

type Rule = Record<string, unknown>;

/** A valid document with `rules` and `extra` top-level fields, for tests. */
export function policyWith(rules: Rule[], extra: Record<string, unknown> = {}): PolicyDocument {
  return validatePolicy({ version: 1, vm: { id: 'test-vm' }, hardware: {}, access: { rules }, ...extra });
}
