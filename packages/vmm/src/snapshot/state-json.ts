import { VmmError } from '../errors.js';

/**
 * Plain state data (device and CPU states) as JSON, with what JSON cannot hold tagged: typed arrays
 * (`{"$typed": "Uint8Array", "base64": ...}`), non-finite numbers and -0 (`{"$num": "NaN"}`), bigints
 * (`{"$bigint": "123"}`), `undefined` (`{"$undef": 1}`), and objects whose own keys start with `$`
 * (`{"$obj": {...}}`). Anything else (functions, class instances, cycles) is refused.
 */

const TYPED = {
  Uint8Array,
  Uint8ClampedArray,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigUint64Array,
  BigInt64Array,
} as const;
type TypedName = keyof typeof TYPED;
const MAX_DEPTH = 64;

function bad(where: string, problem: string): never {
  throw new VmmError('SnapshotCorrupt', `snapshot ${where}: ${problem}`);
}

function encodeValue(value: unknown, path: string, depth: number, seen: Set<object>): unknown {
  if (depth > MAX_DEPTH) throw new VmmError('InvalidArgument', `state at '${path}' is nested deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { $num: Object.is(value, -0) ? '-0' : String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'undefined':
      return { $undef: 1 };
    case 'object': {
      if (value === null) return null;
      if (ArrayBuffer.isView(value)) {
        const name = value.constructor.name as TypedName;
        if (!(name in TYPED)) throw new VmmError('InvalidArgument', `state at '${path}' is a ${name}, which a snapshot cannot hold`);
        return { $typed: name, base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
      }
      if (seen.has(value)) throw new VmmError('InvalidArgument', `state at '${path}' refers to itself`);
      seen.add(value);
      try {
        if (Array.isArray(value)) return value.map((v: unknown, i) => encodeValue(v, `${path}[${i}]`, depth + 1, seen));
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) throw new VmmError('InvalidArgument', `state at '${path}' is not plain data`);
        const out: Record<string, unknown> = {};
        let dollar = false;
        for (const [k, v] of Object.entries(value)) {
          if (k.startsWith('$')) dollar = true;
          out[k] = encodeValue(v, `${path}.${k}`, depth + 1, seen);
        }
        return dollar ? { $obj: out } : out;
      } finally {
        seen.delete(value);
      }
    }
    default:
      throw new VmmError('InvalidArgument', `state at '${path}' is a ${typeof value}, which a snapshot cannot hold`);
  }
}

/** JSON text of plain state data, typed arrays and special numbers tagged. */
export function encodeState(value: unknown): string {
  return JSON.stringify(encodeValue(value, '$', 0, new Set()));
}

function decodeValue(value: unknown, where: string, depth: number): unknown {
  if (depth > MAX_DEPTH) bad(where, `nested deeper than ${MAX_DEPTH}`);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => decodeValue(v, where, depth + 1));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const tag = keys.length === 0 ? '' : keys[0];
  if (tag.startsWith('$')) {
    if (tag === '$typed' && keys.length === 2 && typeof record.$typed === 'string' && typeof record.base64 === 'string') {
      const name = record.$typed;
      if (!Object.hasOwn(TYPED, name)) bad(where, `unknown typed array ${JSON.stringify(name)}`);
      const ctor = TYPED[name as TypedName];
      const bytes = Buffer.from(record.base64, 'base64');
      if (bytes.length % ctor.BYTES_PER_ELEMENT !== 0) bad(where, `${name} of ${bytes.length} bytes`);
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      return new ctor(copy.buffer, 0, bytes.length / ctor.BYTES_PER_ELEMENT);
    }
    if (tag === '$num' && keys.length === 1) {
      const n = record.$num;
      if (n === 'NaN') return NaN;
      if (n === 'Infinity') return Infinity;
      if (n === '-Infinity') return -Infinity;
      if (n === '-0') return -0;
      bad(where, `bad number tag ${JSON.stringify(n)}`);
    }
    if (tag === '$bigint' && keys.length === 1 && typeof record.$bigint === 'string' && /^-?\d{1,80}$/.test(record.$bigint)) return BigInt(record.$bigint);
    if (tag === '$undef' && keys.length === 1) return undefined;
    if (tag === '$obj' && keys.length === 1 && typeof record.$obj === 'object' && record.$obj !== null && !Array.isArray(record.$obj)) {
      return decodeObject(record.$obj as Record<string, unknown>, where, depth);
    }
    bad(where, `bad tagged value with keys ${keys.join(', ')}`);
  }
  return decodeObject(record, where, depth);
}

function decodeObject(record: Record<string, unknown>, where: string, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    // Own data properties only: a "__proto__" key must not become the object's prototype.
    Object.defineProperty(out, k, { value: decodeValue(v, where, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Parses what `encodeState` wrote; `where` names the section in errors. */
export function decodeState(text: string, where: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new VmmError('SnapshotCorrupt', `snapshot ${where}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return decodeValue(parsed, where, 0);
}
