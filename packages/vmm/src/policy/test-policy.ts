import { validatePolicy } from './load.js';
import type { PolicyDocument } from './schema.js';

type Rule = Record<string, unknown>;

/** A valid document with `rules` and `extra` top-level fields (`extra.access` merged with the rules), for tests. */
export function policyWith(rules: Rule[], extra: Record<string, unknown> = {}): PolicyDocument {
  const access = { rules, ...(extra.access as Record<string, unknown> | undefined) };
  return validatePolicy({ version: 1, vm: { id: 'test-vm' }, hardware: {}, ...extra, access });
}
