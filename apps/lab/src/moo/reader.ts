import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { LabError } from '../errors.js';
import {
  MOO_REGS16,
  MOO_REGS32,
  type MooException,
  type MooFile,
  type MooMeta,
  type MooRegisters,
  type MooState,
  type MooTest,
} from './format.js';

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;
const CHUNK_HEADER = 8;

/** A bounds-checked little-endian cursor over one chunk's payload. */
class Cursor {
  constructor(
    readonly view: DataView,
    public pos: number,
    readonly end: number,
    readonly where: string,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.end) {
      throw new LabError('BadMooFile', `${this.where}: needs ${n} more bytes at offset ${this.pos}, chunk ends at ${this.end}`);
    }
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  id(): string {
    this.need(4);
    let s = '';
    for (let i = 0; i < 4; i++) s += String.fromCharCode(this.view.getUint8(this.pos + i));
    this.pos += 4;
    return s;
  }
  ascii(n: number): string {
    this.need(n);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.view.getUint8(this.pos + i));
    this.pos += n;
    return s;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.view.buffer, this.view.byteOffset + this.pos, n).slice();
    this.pos += n;
    return out;
  }
  /** Iterates the chunks; with `stopAtTruncated`, a chunk cut off by the end of the data ends the walk. */
  chunks(visit: (type: string, body: Cursor) => void, stopAtTruncated = false): void {
    while (this.pos + CHUNK_HEADER <= this.end) {
      const type = this.id();
      const length = this.u32();
      const bodyEnd = this.pos + length;
      if (bodyEnd > this.end) {
        if (stopAtTruncated) return;
        throw new LabError('BadMooFile', `${this.where}: chunk '${type}' at ${this.pos - CHUNK_HEADER} runs past its parent (length ${length})`);
      }
      visit(type, new Cursor(this.view, this.pos, bodyEnd, `${this.where}/${type.trim()}`));
      this.pos = bodyEnd; // the length, not the parsed size, advances (chunks may grow)
    }
  }
}

function readRegs(c: Cursor, names: readonly string[], wide: boolean, into: MooRegisters): void {
  const mask = wide ? c.u32() : c.u16();
  for (let bit = 0; bit < names.length; bit++) {
    if ((mask >>> bit) & 1) {
      const value = wide ? c.u32() : c.u16();
      (into as Record<string, number>)[names[bit]] = value;
    }
  }
}

function readState(c: Cursor): MooState {
  const regs: MooRegisters = {};
  let regMasks: MooRegisters | undefined;
  let ram = new Uint32Array(0);
  let queue: Uint8Array | undefined;
  c.chunks((type, body) => {
    switch (type) {
      case 'REGS':
        readRegs(body, MOO_REGS16, false, regs);
        break;
      case 'RG32':
        readRegs(body, MOO_REGS32, true, regs);
        break;
      case 'RMSK':
        readRegs(body, MOO_REGS16, false, (regMasks ??= {}));
        break;
      case 'RM32':
        readRegs(body, MOO_REGS32, true, (regMasks ??= {}));
        break;
      case 'RAM ': {
        const count = body.u32();
        body.need(count * 5);
        ram = new Uint32Array(count * 2);
        for (let i = 0; i < count; i++) {
          ram[2 * i] = body.u32();
          ram[2 * i + 1] = body.u8();
        }
        break;
      }
      case 'QUEU':
        queue = body.bytes(body.u32());
        break;
      default:
        break; // unknown subchunks are skipped by length, as the format asks
    }
  });
  return { regs, regMasks, ram, queue };
}

const EMPTY_STATE: () => MooState = () => ({ regs: {}, regMasks: undefined, ram: new Uint32Array(0), queue: undefined });

function readTest(c: Cursor, index: number): MooTest {
  c.u32(); // declared index (0 in v1.0 files); the position in the file is used instead
  let name = '';
  let bytes: Uint8Array = new Uint8Array(0);
  let initial: MooState | undefined;
  let final: MooState | undefined;
  let cycleCount = 0;
  let exception: MooException | undefined;
  let hash = '';
  c.chunks((type, body) => {
    switch (type) {
      case 'NAME':
        name = body.ascii(body.u32());
        break;
      case 'BYTS':
        bytes = body.bytes(body.u32());
        break;
      case 'INIT':
        initial = readState(body);
        break;
      case 'FINA':
        final = readState(body);
        break;
      case 'CYCL':
        cycleCount = body.u32();
        break;
      case 'EXCP':
        exception = { vector: body.u8(), flagsAddress: body.u32() };
        break;
      case 'HASH': {
        const h = body.bytes(20);
        hash = Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
        break;
      }
      default:
        break;
    }
  });
  if (initial === undefined) throw new LabError('BadMooFile', `${c.where}: test ${index} has no INIT chunk`);
  return { index, name, bytes, initial, final: final ?? EMPTY_STATE(), cycleCount, exception, hash };
}

function readMeta(c: Cursor): MooMeta {
  const major = c.u8();
  const minor = c.u8();
  const cpuType = c.u8();
  const opcode = c.u32();
  const mnemonic = c.ascii(8).trimEnd();
  const testCount = c.u32();
  c.pos += 8; // file seed
  const cpuMode = c.pos < c.end ? c.u8() : 0;
  return { major, minor, cpuType, opcode, mnemonic, testCount, cpuMode };
}

export interface ReadMooOptions {
  /** Read only the first N tests (a gzip file is then only decompressed as far as needed). */
  limit?: number;
}

/** Bytes of compressed input tried first per requested test when reading a prefix. */
const PREFIX_BYTES_PER_TEST = 1024;

function gunzip(data: Uint8Array, source: string, prefix: boolean): Uint8Array {
  try {
    // A prefix of a gzip stream inflates to a prefix of the data with a sync flush.
    return prefix ? gunzipSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : gunzipSync(data);
  } catch (cause) {
    throw new LabError('BadMooFile', `${source}: gzip stream is corrupt`, { cause });
  }
}

/**
 * Parses a MOO file (gzip-compressed or not) from `data`. Unknown chunks are skipped; a truncated or
 * inconsistent file is a `LabError('BadMooFile')` naming `source` and the offending chunk.
 */
export function readMoo(data: Uint8Array, source = 'MOO', options: ReadMooOptions = {}): MooFile {
  const limit = options.limit;
  const gz = data.length >= 2 && data[0] === GZIP_MAGIC0 && data[1] === GZIP_MAGIC1;
  if (gz && limit !== undefined) {
    // Inflate growing prefixes until they hold `limit` whole tests (or the file ends).
    for (let size = Math.max(4096, limit * PREFIX_BYTES_PER_TEST); size < data.length; size *= 2) {
      const file = parseMoo(gunzip(data.subarray(0, size), source, true), source, limit, true);
      if (file.tests.length >= limit) return file;
    }
  }
  return parseMoo(gz ? gunzip(data, source, false) : data, source, limit, false);
}

function parseMoo(raw: Uint8Array, source: string, limit: number | undefined, partial: boolean): MooFile {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const top = new Cursor(view, 0, raw.byteLength, source);
  if (raw.byteLength < CHUNK_HEADER || top.id() !== 'MOO ') {
    throw new LabError('BadMooFile', `${source}: not a MOO file (no 'MOO ' header chunk)`);
  }
  top.pos = 0;
  let formatMajor = 0;
  let formatMinor = 0;
  let cpuId = '';
  let declared = -1;
  let meta: MooMeta | undefined;
  let regMasks: MooRegisters | undefined;
  const tests: MooTest[] = [];
  const max = limit ?? Infinity;
  top.chunks((type, body) => {
    if (tests.length >= max) return;
    switch (type) {
      case 'MOO ':
        formatMajor = body.u8();
        formatMinor = body.u8();
        body.pos += 2;
        declared = body.u32();
        cpuId = body.pos + 4 <= body.end ? body.ascii(4).trim() : '';
        break;
      case 'META':
        meta = readMeta(body);
        break;
      case 'RMSK':
        readRegs(body, MOO_REGS16, false, (regMasks ??= {}));
        break;
      case 'RM32':
        readRegs(body, MOO_REGS32, true, (regMasks ??= {}));
        break;
      case 'TEST':
        tests.push(readTest(body, tests.length));
        break;
      default:
        break;
    }
  }, partial);
  if (limit === undefined && declared >= 0 && declared !== tests.length) {
    throw new LabError('BadMooFile', `${source}: header declares ${declared} tests, file holds ${tests.length}`);
  }
  return { formatMajor, formatMinor, cpuId, meta, regMasks, tests };
}
