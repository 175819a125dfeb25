/**
 * Reads the opcode-table source text. One encoding a line, columns separated by `|`:
 *
 *     encoding | code | mnemonic | operands | attributes
 *
 * `{a,b,c}` groups expand a line into one line per alternative; every group in a line advances
 * together (the second line takes the second alternative of each group).
 * Directives: `@cpu NAME` sets the CPU feature of the lines that follow; `@flags MNEMONIC r=.. w=..
 * u=.. c=.. s=..` gives the EFLAGS facts of a mnemonic (letters: see FLAG_LETTERS).
 */

export interface TableLine {
  /** 1-based line number in the source, for error messages. */
  lineNo: number;
  encoding: string[];
  code: string;
  mnemonic: string;
  operands: string[];
  attrs: string[];
  cpu: string;
}

export interface FlagFacts {
  read: number;
  written: number;
  undefined: number;
  cleared: number;
  set: number;
}

export interface ParsedTable {
  lines: TableLine[];
  flags: Map<string, FlagFacts>;
}

/** EFLAGS bit of each flag letter used by `@flags` and the `f*=` attributes. */
export const FLAG_LETTERS: Readonly<Record<string, number>> = {
  c: 1 << 0,
  p: 1 << 2,
  a: 1 << 4,
  z: 1 << 6,
  s: 1 << 7,
  t: 1 << 8,
  i: 1 << 9,
  d: 1 << 10,
  o: 1 << 11,
  n: 1 << 14,
  r: 1 << 16,
  v: 1 << 17,
  x: 1 << 18,
  f: 1 << 19,
  g: 1 << 20,
  j: 1 << 21,
};

export class TableError extends Error {
  override readonly name = 'TableError';
  readonly code: 'Syntax' | 'Semantics';
  constructor(code: 'Syntax' | 'Semantics', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Bits of a flag-letter string such as `oszapc`. */
export function flagBits(letters: string, where: string): number {
  let bits = 0;
  for (const ch of letters) {
    const bit = FLAG_LETTERS[ch];
    if (bit === undefined) throw new TableError('Syntax', `${where}: unknown flag letter '${ch}' in '${letters}'`);
    bits |= bit;
  }
  return bits;
}

/** The flag facts of `key=letters` words (`r=c w=oszapc`). */
export function parseFlagWords(words: readonly string[], where: string, into: FlagFacts): void {
  for (const w of words) {
    const m = /^(f?)([rwucs])=([a-z]*)$/.exec(w);
    if (m === null) throw new TableError('Syntax', `${where}: expected r=, w=, u=, c= or s= flags, got '${w}'`);
    const bits = flagBits(m[3] ?? '', where);
    switch (m[2]) {
      case 'r': into.read = bits; break;
      case 'w': into.written = bits; break;
      case 'u': into.undefined = bits; break;
      case 'c': into.cleared = bits; break;
      default: into.set = bits; break;
    }
  }
}

/**
 * Expand `{a,b}` groups. Groups of the same size advance together (zipped); groups of different
 * sizes combine every way (`{o16,o32} {70,71}` gives four lines, `{o16,o32} {Jo16,Jo32}` two).
 */
export function expandBraces(text: string, where: string): string[] {
  const re = /\{([^{}]*)\}/g;
  const groups: string[][] = [];
  for (const m of text.matchAll(re)) groups.push((m[1] ?? '').split(','));
  if (groups.length === 0) return [text];
  const sizes = [...new Set(groups.map((g) => g.length))];
  if (sizes.includes(1)) throw new TableError('Syntax', `${where}: a brace group needs at least two alternatives`);
  let combos: number[][] = [[]];
  for (let s = 0; s < sizes.length; s++) {
    const next: number[][] = [];
    for (const c of combos) for (let i = 0; i < (sizes[s] ?? 0); i++) next.push([...c, i]);
    combos = next;
  }
  return combos.map((combo) => {
    let k = 0;
    return text.replace(re, () => {
      const g = groups[k++] ?? [];
      return g[combo[sizes.indexOf(g.length)] ?? 0] ?? '';
    });
  });
}

export function parseTable(text: string, fileName: string): ParsedTable {
  const lines: TableLine[] = [];
  const flags = new Map<string, FlagFacts>();
  let cpu = 'INTEL8086';
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const lineNo = i + 1;
    const where = `${fileName}:${lineNo}`;
    const raw = (rows[i] ?? '').replace(/#.*$/, '').trim();
    if (raw === '') continue;
    if (raw.startsWith('@')) {
      const words = raw.split(/\s+/);
      if (words[0] === '@cpu' && words.length === 2) {
        cpu = words[1] ?? cpu;
      } else if (words[0] === '@flags' && words.length >= 2) {
        for (const mn of expandBraces(words[1] ?? '', where)) {
          const facts: FlagFacts = { read: 0, written: 0, undefined: 0, cleared: 0, set: 0 };
          parseFlagWords(words.slice(2), where, facts);
          if (flags.has(mn)) throw new TableError('Semantics', `${where}: flags of '${mn}' given twice`);
          flags.set(mn, facts);
        }
      } else {
        throw new TableError('Syntax', `${where}: unknown directive '${raw}'`);
      }
      continue;
    }
    for (const line of expandBraces(raw, where)) {
      const cols = line.split('|').map((c) => c.trim());
      if (cols.length < 3 || cols.length > 5) {
        throw new TableError('Syntax', `${where}: expected 'encoding | code | mnemonic | operands | attributes', got ${cols.length} columns`);
      }
      const [enc = '', code = '', mnemonic = '', ops = '', attrs = ''] = cols;
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(code)) throw new TableError('Syntax', `${where}: bad code name '${code}'`);
      if (!/^[A-Z][A-Za-z0-9_]*$/.test(mnemonic)) throw new TableError('Syntax', `${where}: bad mnemonic '${mnemonic}'`);
      const words = enc.split(/\s+/).filter((s) => s !== '');
      // `W0/64`: W must be 0 in 64-bit mode and is ignored outside it, which is two entries.
      const wAt = words.indexOf('W0/64');
      const encodings = wAt < 0 ? [words] : [words.with(wAt, 'no64'), [...words.slice(0, wAt), 'only64', 'W0', ...words.slice(wAt + 1)]];
      for (const encoding of encodings) lines.push({
        lineNo,
        encoding,
        code,
        mnemonic,
        operands: ops === '' ? [] : ops.split(',').map((s) => s.trim()),
        attrs: attrs.split(/\s+/).filter((s) => s !== ''),
        cpu,
      });
    }
  }
  return { lines, flags };
}
