import { LabError } from '../errors.js';

/** What the test set's metadata says about one opcode (or opcode + ModR/M reg) file. */
export interface OpcodeInfo {
  /** normal, undocumented, alias, undefined, prefix, fpu; '' when the metadata does not list it. */
  status: string;
  /** Bits of FLAGS to compare (the undefined flags cleared); 0xFFFF when all are defined. */
  flagsMask: number;
}

interface RawEntry {
  status?: unknown;
  'flags-mask'?: unknown;
  reg?: Record<string, RawEntry>;
}

/** The `metadata.json` of a SingleStepTests set. */
export class MooMetadata {
  private constructor(private readonly opcodes: Record<string, RawEntry>) {}

  /** Parses and checks the metadata text; a malformed file is `LabError('BadMetadata')`. */
  static parse(text: string, source = 'metadata.json'): MooMetadata {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new LabError('BadMetadata', `${source}: not valid JSON`, { cause });
    }
    const opcodes = (json as { opcodes?: unknown }).opcodes;
    if (typeof opcodes !== 'object' || opcodes === null) throw new LabError('BadMetadata', `${source}: no 'opcodes' object`);
    return new MooMetadata(opcodes as Record<string, RawEntry>);
  }

  /** An empty metadata: every file normal, every flag compared. */
  static none(): MooMetadata {
    return new MooMetadata({});
  }

  /** Looks up a file by its stem: `F6.6` is opcode F6 with ModR/M reg 6, `0F01.7` likewise. */
  info(stem: string): OpcodeInfo {
    const [opcode = '', reg] = stem.toUpperCase().split('.');
    let entry = this.opcodes[opcode];
    if (entry !== undefined && reg !== undefined && entry.reg !== undefined) entry = entry.reg[reg] ?? entry;
    if (entry === undefined) return { status: '', flagsMask: 0xffff };
    if (entry.status === undefined && entry.reg !== undefined) {
      // One file for an opcode whose metadata varies by ModR/M reg: every status, the common mask.
      const parts = Object.keys(entry.reg).map((r) => this.info(`${opcode}.${r}`));
      const statuses = [...new Set(parts.map((p) => p.status))];
      return { status: statuses.join('/'), flagsMask: parts.reduce((m, p) => m & p.flagsMask, 0xffff) };
    }
    const mask = entry['flags-mask'];
    return {
      status: typeof entry.status === 'string' ? entry.status : '',
      flagsMask: typeof mask === 'number' && Number.isInteger(mask) ? mask & 0xffff : 0xffff,
    };
  }
}

/** Parses a revocation list: one SHA-1 hash (40 hex digits) per line, '#' comments allowed. */
export function parseRevocations(text: string, source = 'revocations'): Set<string> {
  const out = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.replace(/#.*/, '').trim();
    if (t === '') return;
    if (!/^[0-9a-fA-F]{40}$/.test(t)) throw new LabError('BadMetadata', `${source}:${i + 1}: not a SHA-1 hash: '${t}'`);
    out.add(t.toLowerCase());
  });
  return out;
}
