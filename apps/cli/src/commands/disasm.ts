import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Instruction, decode, elfText, formatIntel } from '@tsvm/x86-decoder';
import type { CliCommand, CliIo } from '../command.js';
import { CliError } from '../errors.js';

const HELP = `Usage: tsvm disasm [options] FILE
       tsvm disasm [options] --hex "55 89 E5 C3"

Disassembles x86 machine code in Intel syntax, one instruction a line: address, bytes, text
(like ndisasm). An ELF file is recognised and its .text section disassembled at its own address and
bitness; any other file is raw code.

  --bits 16|32|64   decoding mode (default: 32, or the ELF file's class)
  --org ADDR        address of the first byte (0x1000, 1000h or decimal; default 0 or the .text address)
  --hex BYTES       disassemble these hex bytes instead of a file (spaces allowed)
  --offset N        skip N bytes of a raw file first
  --count N         stop after N instructions
  --raw             treat an ELF file as raw bytes
`;

/** Bytes shown on one line before the text column. */
const BYTES_COLUMN = 10;
/** Lines written per chunk to the output stream. */
const LINES_PER_WRITE = 1024;

interface Options {
  bits: number | undefined;
  org: number | undefined;
  hex: string | undefined;
  file: string | undefined;
  offset: number;
  count: number;
  raw: boolean;
}

/** A non-negative integer from `0x1F`, `1Fh` or `31`. */
export function parseNumber(text: string, what: string): number {
  let value: number;
  if (/^0x[0-9a-f]+$/i.test(text)) value = parseInt(text.slice(2), 16);
  else if (/^[0-9a-f]+h$/i.test(text)) value = parseInt(text.slice(0, -1), 16);
  else if (/^[0-9]+$/.test(text)) value = parseInt(text, 10);
  else throw new CliError('Usage', `${what} must be a number (0x1000, 1000h or 4096), got '${text}'`);
  if (!Number.isSafeInteger(value)) throw new CliError('Usage', `${what} is too large: '${text}'`);
  return value;
}

/** Bytes from hex text such as `55 89e5 c3`. */
export function parseHexBytes(text: string): Uint8Array {
  const clean = text.replace(/[\s,]+/g, '').replace(/^0x/i, '');
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(clean)) {
    throw new CliError('Usage', `--hex needs an even number of hex digits, got '${text}'`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { bits: undefined, org: undefined, hex: undefined, file: undefined, offset: 0, count: Infinity, raw: false };
  const value = (i: number, name: string): string => {
    const v = argv[i];
    if (v === undefined) throw new CliError('Usage', `${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const next = (): string => inline ?? value(++i, name);
    switch (name) {
      case '--bits': {
        const b = next();
        if (b !== '16' && b !== '32' && b !== '64') throw new CliError('Usage', `--bits must be 16, 32 or 64, got '${b}'`);
        o.bits = Number(b);
        break;
      }
      case '--org':
        o.org = parseNumber(next(), '--org');
        break;
      case '--hex':
        o.hex = next();
        break;
      case '--offset':
        o.offset = parseNumber(next(), '--offset');
        break;
      case '--count':
        o.count = parseNumber(next(), '--count');
        break;
      case '--raw':
        o.raw = true;
        break;
      default:
        if (arg.startsWith('-')) throw new CliError('Usage', `unknown option '${arg}'`);
        if (o.file !== undefined) throw new CliError('Usage', `one file at a time ('${o.file}' and '${arg}')`);
        o.file = arg;
    }
  }
  if ((o.file === undefined) === (o.hex === undefined)) throw new CliError('Usage', 'give a FILE or --hex BYTES');
  return o;
}

function hexByte(b: number): string {
  return (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
}

/** Disassemble `code` (mapped at `org`) and write the listing to `io.stdout`. Returns the instruction count. */
export function writeListing(code: Uint8Array, org: number, bits: number, maxCount: number, io: CliIo): number {
  const ins = new Instruction();
  const addressDigits = bits === 64 || org + code.length > 0xffffffff ? 16 : 8;
  let lines: string[] = [];
  let count = 0;
  for (let off = 0; off < code.length && count < maxCount; count++) {
    const address = org + off;
    decode(code, off, address, bits, ins);
    // Undecodable bytes are listed one at a time, so decoding picks up again at the next byte.
    const len = ins.code === 0 ? 1 : ins.length;
    let hex = '';
    for (let i = 0; i < len; i++) hex += hexByte(code[off + i] ?? 0);
    const text = ins.code === 0 ? `(bad)` : formatIntel(ins);
    lines.push(`${address.toString(16).toUpperCase().padStart(addressDigits, '0')}  ${hex.padEnd(BYTES_COLUMN * 2)}  ${text}`);
    if (lines.length === LINES_PER_WRITE) {
      io.stdout.write(lines.join('\n') + '\n');
      lines = [];
    }
    off += len;
  }
  if (lines.length > 0) io.stdout.write(lines.join('\n') + '\n');
  return count;
}

function disasm(argv: string[], io: CliIo): Promise<number> {
  const o = parseOptions(argv);
  let code: Uint8Array;
  let bits = o.bits ?? 32;
  let org = o.org ?? 0;
  if (o.hex !== undefined) {
    code = parseHexBytes(o.hex);
  } else {
    const path = resolve(io.cwd, o.file ?? '');
    const file = new Uint8Array(readFileSync(path));
    const isElf = file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
    if (isElf && !o.raw) {
      const text = elfText(file, o.file ?? path);
      code = text.bytes;
      bits = o.bits ?? text.bits;
      org = o.org ?? text.address;
    } else {
      if (o.offset > file.length) throw new CliError('Usage', `--offset ${o.offset} is past the end of '${o.file ?? ''}' (${file.length} bytes)`);
      code = file.subarray(o.offset);
    }
  }
  writeListing(code, org, bits, o.count, io);
  return Promise.resolve(0);
}

export const disasmCommand: CliCommand = {
  name: 'disasm',
  summary: 'disassemble x86 code (a file, an ELF .text, or hex bytes) in Intel syntax',
  help: HELP,
  run: disasm,
};
