import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { VmmError } from '../errors.js';
import { policySchema, type PolicyDocument } from './schema.js';

/** `hardware.boot.kernel`-style path of an issue; `(root)` for the document itself. */
function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out === '' ? '(root)' : out;
}

/** One line per problem: `policy 'limits.disk.bytes.size': Too small: expected number to be >0`. */
function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `policy '${pathOf(issue.path)}': ${issue.message}`).join('\n');
}

/**
 * Validates an already-parsed policy document (untrusted: from a file, an API request) and fills in
 * the defaults. A bad document is `VmmError('InvalidConfig')` naming every bad field.
 */
export function validatePolicy(value: unknown): PolicyDocument {
  const result = policySchema.safeParse(value);
  if (!result.success) throw new VmmError('InvalidConfig', describe(result.error), { cause: result.error });
  return result.data;
}

/** Parses a policy file's text, JSON or YAML (JSON is YAML; `format` only sharpens the syntax error), and validates it. */
export function parsePolicy(text: string, format: 'json' | 'yaml' = 'yaml', source = 'policy'): PolicyDocument {
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100, uniqueKeys: true, logLevel: 'error' });
  } catch (cause) {
    throw new VmmError('InvalidConfig', `${source}: not valid ${format.toUpperCase()}: ${(cause as Error).message}`, { cause });
  }
  return validatePolicy(value);
}
