import { CliError } from '../../errors.js';

/** Which options a verb takes: flags without a value, and options with one (short `-f` or long `--output`). */
export interface VerbSpec {
  flags: readonly string[];
  values: readonly string[];
}

export interface ParsedArgs {
  flags: Set<string>;
  /** Every value given for an option, in order (`-o` may repeat). */
  values: Map<string, string[]>;
  positional: string[];
}

/**
 * Parse `qemu-img`-style arguments: `-f qcow2`, `-fqcow2`, `--output json`, `--output=json`, `--`
 * ends the options. An option the verb does not know is a usage error.
 */
export function parseArgs(args: readonly string[], spec: VerbSpec): ParsedArgs {
  const out: ParsedArgs = { flags: new Set(), values: new Map(), positional: [] };
  const add = (name: string, value: string): void => {
    const list = out.values.get(name) ?? [];
    list.push(value);
    out.values.set(name, list);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      if (spec.flags.includes(name) && eq < 0) out.flags.add(name);
      else if (spec.values.includes(name)) {
        const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
        if (value === undefined) throw new CliError('Usage', `option ${name} needs a value`);
        add(name, value);
      } else throw new CliError('Usage', `unknown option ${a}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const name = a.slice(0, 2);
      if (spec.values.includes(name)) {
        const value = a.length > 2 ? a.slice(2) : args[++i];
        if (value === undefined) throw new CliError('Usage', `option ${name} needs a value`);
        add(name, value);
      } else if (spec.flags.includes(name) && a.length === 2) out.flags.add(name);
      else throw new CliError('Usage', `unknown option ${a}`);
      continue;
    }
    out.positional.push(a);
  }
  return out;
}

/** The last value of an option, or undefined. */
export function last(p: ParsedArgs, name: string): string | undefined {
  const v = p.values.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

/** `-o a=b,c=d` (repeatable) as a record; a key without `=` means `on`; `,,` escapes a comma. */
export function parseOptionList(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    if (v === 'help' || v === '?') throw new CliError('Usage', 'use the format documentation for the list of -o options');
    const parts = v.replace(/,,/g, '\0').split(',');
    for (const part of parts) {
      if (part.length === 0) continue;
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      out[key] = (eq < 0 ? 'on' : part.slice(eq + 1)).replace(/\0/g, ',');
    }
  }
  return out;
}

/** `--output human|json`. */
export function outputFormat(p: ParsedArgs): 'human' | 'json' {
  const o = last(p, '--output') ?? 'human';
  if (o !== 'human' && o !== 'json') throw new CliError('Usage', `--output must be human or json, not '${o}'`);
  return o;
}

/** Exactly `n` positional arguments named `names`, or a usage error. */
export function positionals(p: ParsedArgs, names: readonly string[], optional = 0): string[] {
  const min = names.length - optional;
  if (p.positional.length < min || p.positional.length > names.length) {
    throw new CliError('Usage', `expected ${names.join(' ')}, got ${p.positional.length} argument(s)`);
  }
  return p.positional;
}
