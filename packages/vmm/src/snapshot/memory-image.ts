import { deflateSync, inflateSync } from 'node:zlib';
import { VmmError } from '../errors.js';

const PAGE = 4096;
/** Nonzero pages are compressed in runs of at most this many (1 MiB): a damaged chunk stays local. */
const CHUNK_PAGES = 256;
const HEADER = 12;
const CHUNK_HEADER = 12;
/** zlib level 1: guest RAM compresses well already, and the save stays fast. */
const LEVEL = 1;

function corrupt(problem: string): never {
  throw new VmmError('SnapshotCorrupt', `snapshot memory: ${problem}`);
}

function zeroPage(ram32: Int32Array, page: number): boolean {
  const start = page * (PAGE / 4);
  const end = start + PAGE / 4;
  for (let i = start; i < end; i++) if (ram32[i] !== 0) return false;
  return true;
}

/**
 * Guest RAM without its zero pages: a header (page size, page count, chunk count; u32 LE) and
 * chunks of consecutive nonzero pages (first page, page count, compressed length, zlib data).
 */
export function encodeMemory(ram: Uint8Array): Uint8Array {
  if (ram.byteOffset % 4 !== 0 || ram.length % PAGE !== 0) throw new VmmError('InvalidArgument', 'RAM must be whole 4 KiB pages');
  const ram32 = new Int32Array(ram.buffer, ram.byteOffset, ram.length / 4);
  const pages = ram.length / PAGE;
  const parts: Uint8Array[] = [];
  let total = HEADER;
  let page = 0;
  while (page < pages) {
    if (zeroPage(ram32, page)) {
      page++;
      continue;
    }
    const first = page;
    while (page < pages && page - first < CHUNK_PAGES && !zeroPage(ram32, page)) page++;
    const data = deflateSync(ram.subarray(first * PAGE, page * PAGE), { level: LEVEL });
    const head = new Uint8Array(CHUNK_HEADER);
    const view = new DataView(head.buffer);
    view.setUint32(0, first, true);
    view.setUint32(4, page - first, true);
    view.setUint32(8, data.length, true);
    parts.push(head, data);
    total += CHUNK_HEADER + data.length;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, PAGE, true);
  view.setUint32(4, pages, true);
  view.setUint32(8, parts.length / 2, true);
  let at = HEADER;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One decoded run of pages. */
export interface MemoryChunk {
  readonly firstPage: number;
  readonly data: Uint8Array;
}

/** The RAM size a memory section was saved from, read from its header. */
export function memorySizeOf(section: Uint8Array): number {
  if (section.length < HEADER) corrupt('section is shorter than its header');
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  if (view.getUint32(0, true) !== PAGE) corrupt(`page size ${view.getUint32(0, true)} is not ${PAGE}`);
  return view.getUint32(4, true) * PAGE;
}

/**
 * Decodes and checks every chunk (in order, inside RAM, not overlapping, each inflating to exactly
 * its pages; inflation is capped, so a hostile chunk cannot balloon) without touching RAM.
 */
export function decodeMemory(section: Uint8Array, ramSize: number): MemoryChunk[] {
  const size = memorySizeOf(section);
  if (size !== ramSize) throw new VmmError('SnapshotMismatch', `snapshot memory: saved from ${size} bytes of RAM, this machine has ${ramSize}`);
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  const pages = size / PAGE;
  const count = view.getUint32(8, true);
  const chunks: MemoryChunk[] = [];
  let at = HEADER;
  let nextFree = 0;
  for (let i = 0; i < count; i++) {
    if (at + CHUNK_HEADER > section.length) corrupt(`chunk ${i} starts past the end of the section`);
    const first = view.getUint32(at, true);
    const n = view.getUint32(at + 4, true);
    const length = view.getUint32(at + 8, true);
    at += CHUNK_HEADER;
    if (n === 0 || n > CHUNK_PAGES) corrupt(`chunk ${i} has ${n} pages (1-${CHUNK_PAGES})`);
    if (first < nextFree || first + n > pages) corrupt(`chunk ${i} (pages ${first}-${first + n - 1}) is out of order or outside RAM`);
    if (length > section.length - at) corrupt(`chunk ${i} says ${length} bytes but only ${section.length - at} remain`);
    let data: Buffer;
    try {
      data = inflateSync(section.subarray(at, at + length), { maxOutputLength: n * PAGE });
    } catch (cause) {
      throw new VmmError('SnapshotCorrupt', `snapshot memory: chunk ${i} does not decompress (${(cause as Error).message})`, { cause });
    }
    if (data.length !== n * PAGE) corrupt(`chunk ${i} decompresses to ${data.length} bytes, not ${n * PAGE}`);
    chunks.push({ firstPage: first, data });
    at += length;
    nextFree = first + n;
  }
  if (at !== section.length) corrupt(`${section.length - at} bytes after the last chunk`);
  return chunks;
}

/** Writes decoded chunks over RAM, zeros everywhere else. */
export function applyMemory(ram: Uint8Array, chunks: readonly MemoryChunk[]): void {
  ram.fill(0);
  for (const c of chunks) ram.set(c.data, c.firstPage * PAGE);
}
