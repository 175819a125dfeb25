import { createHash } from 'node:crypto';
import { VmmError } from '../errors.js';

/** The first bytes of every snapshot file. */
export const SNAPSHOT_MAGIC = 'TSVMSNAP';
/** The container format this package writes and reads. */
export const SNAPSHOT_FORMAT_VERSION = 1;
const HEADER_SIZE = 16;
const CHECKSUM_SIZE = 32;
const MAX_SECTIONS = 64;
const MAX_NAME = 32;

function corrupt(problem: string): never {
  throw new VmmError('SnapshotCorrupt', `snapshot: ${problem}`);
}

/**
 * Writes named sections into one file: the magic `TSVMSNAP`, the format version (u32 LE), the
 * section count (u32), the sections (u8 name length, ASCII name, u32 length, bytes), then the SHA-256
 * of everything before it.
 */
export function writeContainer(sections: ReadonlyMap<string, Uint8Array>): Uint8Array {
  let size = HEADER_SIZE + CHECKSUM_SIZE;
  for (const [name, data] of sections) {
    if (!/^[a-z][a-z0-9-]*$/.test(name) || name.length > MAX_NAME) throw new VmmError('InvalidArgument', `snapshot section name '${name}' is not a short lower-case name`);
    if (data.length > 0xffff_ffff) throw new VmmError('InvalidArgument', `snapshot section '${name}' is larger than 4 GiB`);
    size += 1 + name.length + 4 + data.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(SNAPSHOT_MAGIC, 'latin1'), 0);
  view.setUint32(8, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint32(12, sections.size, true);
  let at = HEADER_SIZE;
  for (const [name, data] of sections) {
    out[at++] = name.length;
    out.set(Buffer.from(name, 'latin1'), at);
    at += name.length;
    view.setUint32(at, data.length, true);
    at += 4;
    out.set(data, at);
    at += data.length;
  }
  out.set(createHash('sha256').update(out.subarray(0, at)).digest(), at);
  return out;
}

/**
 * Reads a container: the magic and version first (a newer file is `SnapshotVersion`, not
 * "corrupt"), then the checksum over the whole file, then the section table with every length
 * checked against the bytes there are. Sections are views into `bytes`.
 */
export function readContainer(bytes: Uint8Array): Map<string, Uint8Array> {
  if (!(bytes instanceof Uint8Array)) throw new VmmError('InvalidArgument', 'snapshot: expected the file bytes as a Uint8Array');
  if (bytes.length < HEADER_SIZE + CHECKSUM_SIZE) corrupt(`${bytes.length} bytes is too short to be a snapshot file`);
  if (Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') !== SNAPSHOT_MAGIC) corrupt('not a tsvm snapshot file (no TSVMSNAP magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new VmmError('SnapshotVersion', `snapshot: format version ${version} is not supported (this tsvm reads version ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const body = bytes.length - CHECKSUM_SIZE;
  const want = bytes.subarray(body);
  const got = createHash('sha256').update(bytes.subarray(0, body)).digest();
  if (!got.equals(want)) corrupt('checksum mismatch: the file is damaged or truncated');
  const count = view.getUint32(12, true);
  if (count > MAX_SECTIONS) corrupt(`${count} sections is more than the ${MAX_SECTIONS} allowed`);
  const sections = new Map<string, Uint8Array>();
  let at = HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + 1 > body) corrupt(`section ${i} starts past the end of the file`);
    const nameLength = bytes[at++];
    if (nameLength === 0 || nameLength > MAX_NAME || at + nameLength + 4 > body) corrupt(`section ${i} has a bad name length ${nameLength}`);
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + at, nameLength).toString('latin1');
    if (!/^[a-z][a-z0-9-]*$/.test(name)) corrupt(`section ${i} has a bad name`);
    at += nameLength;
    const length = view.getUint32(at, true);
    at += 4;
    if (length > body - at) corrupt(`section '${name}' says ${length} bytes but only ${body - at} remain`);
    if (sections.has(name)) corrupt(`section '${name}' appears twice`);
    sections.set(name, bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== body) corrupt(`${body - at} bytes after the last section`);
  return sections;
}

/** A section that must be there. */
export function section(sections: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  const s = sections.get(name);
  if (s === undefined) corrupt(`section '${name}' is missing`);
  return s;
}
