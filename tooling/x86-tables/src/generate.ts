import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileTable } from './compile.js';
import { emitTables } from './emit.js';
import { parseTable } from './table-parser.js';

/** The decoder package, found from this file's location (tooling/x86-tables/src). */
export const DECODER_DIR = resolve(import.meta.dirname, '..', '..', '..', 'packages', 'x86-decoder');
/** The opcode-table source, relative to the decoder package. */
export const TABLE_SOURCE = 'tables/opcodes.txt';
/** Where the generated files go, relative to the decoder package. */
export const GENERATED_DIR = 'src/generated';

/** Read the table source and return the generated files by name. */
export function generate(decoderDir: string = DECODER_DIR): Map<string, string> {
  const text = readFileSync(resolve(decoderDir, TABLE_SOURCE), 'utf8');
  const parsed = parseTable(text, TABLE_SOURCE);
  return emitTables(compileTable(parsed, TABLE_SOURCE), TABLE_SOURCE);
}
