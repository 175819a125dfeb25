import { ascii, setU64, u64Safe, viewOf, writeAscii } from './byte-fields.js';
import { crc32cWithZeroField } from './crc32c.js';
import { StorageError } from './errors.js';
import { guidEquals } from './guid.js';

/**
 * The VHDX log ([MS-VHDX] 2.3): a circular buffer of entries, each a header, descriptors and 4 KiB
 * data sectors. On open, the active sequence (the newest run of valid, consecutive entries whose
 * head's tail points at its start) is replayed; tsvm writes each metadata update as an entry whose
 * tail is itself, applies it in place, and clears the log GUID when it closes cleanly.
 */

export const LOG_SECTOR = 4096;
const ENTRY_HEADER = 64;
const DESCRIPTOR = 32;
const DATA_BYTES = 4084;

/** A change to the file that a log entry records. */
export type LogPatch = { kind: 'data'; offset: number; data: Uint8Array } | { kind: 'zero'; offset: number; length: number };

export interface LogReplay {
  /** Every change of the active sequence, oldest first. */
  patches: LogPatch[];
  /** The file must be at least this long after replay. */
  lastFileOffset: number;
  /** The sequence number of the newest entry. */
  headSequence: bigint;
}

interface Entry {
  at: number;
  length: number;
  tail: number;
  sequence: bigint;
  patches: LogPatch[];
  flushedFileOffset: number;
  lastFileOffset: number;
}

/** `length` bytes of the circular log from `at`. */
function circular(log: Uint8Array, at: number, length: number): Uint8Array {
  if (at + length <= log.length) return log.subarray(at, at + length);
  const out = new Uint8Array(length);
  const first = log.length - at;
  out.set(log.subarray(at), 0);
  out.set(log.subarray(0, length - first), first);
  return out;
}

/** The entry at `at`, or undefined when none valid starts there. Never throws on bad bytes. */
function parseEntry(log: Uint8Array, at: number, logGuid: Uint8Array): Entry | undefined {
  const head = circular(log, at, ENTRY_HEADER);
  if (ascii(head, 0, 4) !== 'loge') return undefined;
  const hv = viewOf(head);
  const length = hv.getUint32(8, true);
  const tail = hv.getUint32(12, true);
  const sequence = hv.getBigUint64(16, true);
  const count = hv.getUint32(24, true);
  if (length < LOG_SECTOR || length % LOG_SECTOR !== 0 || length > log.length) return undefined;
  if (tail % LOG_SECTOR !== 0 || tail >= log.length || sequence === 0n) return undefined;
  if (!guidEquals(head.subarray(32, 48), logGuid)) return undefined;
  const descriptorBytes = Math.ceil((ENTRY_HEADER + count * DESCRIPTOR) / LOG_SECTOR) * LOG_SECTOR;
  if (count > length / DESCRIPTOR || descriptorBytes > length) return undefined;
  const entry = circular(log, at, length);
  if (hv.getUint32(4, true) !== crc32cWithZeroField(entry, 4)) return undefined;
  const v = viewOf(entry);
  let flushedFileOffset: number;
  let lastFileOffset: number;
  try {
    flushedFileOffset = u64Safe(v, 48, true, 'flushed file offset');
    lastFileOffset = u64Safe(v, 56, true, 'last file offset');
  } catch {
    return undefined;
  }
  const patches: LogPatch[] = [];
  let dataAt = descriptorBytes;
  for (let i = 0; i < count; i++) {
    const d = ENTRY_HEADER + i * DESCRIPTOR;
    const sig = ascii(entry, d, 4);
    if (v.getBigUint64(d + 24, true) !== sequence) return undefined;
    let offset: number;
    try {
      offset = u64Safe(v, d + 16, true, 'descriptor file offset');
    } catch {
      return undefined;
    }
    if (offset % LOG_SECTOR !== 0) return undefined;
    if (sig === 'zero') {
      let length: number;
      try {
        length = u64Safe(v, d + 8, true, 'zero length');
      } catch {
        return undefined;
      }
      if (length % LOG_SECTOR !== 0 || offset + length > lastFileOffset) return undefined;
      patches.push({ kind: 'zero', offset, length });
    } else if (sig === 'desc') {
      if (dataAt + LOG_SECTOR > length || offset + LOG_SECTOR > lastFileOffset) return undefined;
      const sector = entry.subarray(dataAt, dataAt + LOG_SECTOR);
      const sv = viewOf(sector);
      if (ascii(sector, 0, 4) !== 'data') return undefined;
      const seq = (BigInt(sv.getUint32(4, true)) << 32n) | BigInt(sv.getUint32(LOG_SECTOR - 4, true));
      if (seq !== sequence) return undefined;
      const data = new Uint8Array(LOG_SECTOR);
      data.set(entry.subarray(d + 8, d + 16), 0);
      data.set(sector.subarray(8, 8 + DATA_BYTES), 8);
      data.set(entry.subarray(d + 4, d + 8), LOG_SECTOR - 4);
      patches.push({ kind: 'data', offset, data });
      dataAt += LOG_SECTOR;
    } else {
      return undefined;
    }
  }
  return { at, length, tail, sequence, patches, flushedFileOffset, lastFileOffset };
}

/**
 * Find the active sequence of `log` (the log region's bytes) for `logGuid`, or undefined when there
 * is nothing to replay. `fileSize` is checked against the entries' flushed file offset: a file
 * shorter than the log says it was has lost data, which is corruption, not something to replay over.
 */
export function findVhdxLogReplay(log: Uint8Array, logGuid: Uint8Array, fileSize: number, where: number): LogReplay | undefined {
  const entries = new Map<number, Entry>();
  for (let at = 0; at < log.length; at += LOG_SECTOR) {
    const e = parseEntry(log, at, logGuid);
    if (e !== undefined) entries.set(at, e);
  }
  const heads = [...entries.values()].sort((a, b) => (a.sequence < b.sequence ? 1 : a.sequence > b.sequence ? -1 : 0));
  for (const head of heads) {
    // Walk from the head's tail forward; the walk is bounded by the number of sectors in the log.
    const chain: Entry[] = [];
    let at = head.tail;
    for (let steps = 0; steps <= log.length / LOG_SECTOR; steps++) {
      const e = entries.get(at);
      if (e === undefined) break;
      if (chain.length > 0 && e.sequence !== chain[chain.length - 1].sequence + 1n) break;
      chain.push(e);
      if (e === head) break;
      at = (e.at + e.length) % log.length;
    }
    if (chain[chain.length - 1] !== head) continue;
    if (head.flushedFileOffset > fileSize) {
      throw new StorageError('CorruptHeader', `VHDX log at offset ${where}: the file is ${fileSize} bytes but the log says ${head.flushedFileOffset} were flushed`);
    }
    return { patches: chain.flatMap((e) => e.patches), lastFileOffset: head.lastFileOffset, headSequence: head.sequence };
  }
  return undefined;
}

/** One log entry recording `sectors` (4 KiB-aligned, 4 KiB each), its tail at itself. */
export function serializeVhdxLogEntry(options: {
  sequence: bigint;
  logGuid: Uint8Array;
  /** Where in the log the entry goes (its own tail). */
  at: number;
  flushedFileOffset: number;
  lastFileOffset: number;
  sectors: readonly { offset: number; data: Uint8Array }[];
}): Uint8Array {
  const { sectors, sequence } = options;
  const descriptorBytes = Math.ceil((ENTRY_HEADER + sectors.length * DESCRIPTOR) / LOG_SECTOR) * LOG_SECTOR;
  const entry = new Uint8Array(descriptorBytes + sectors.length * LOG_SECTOR);
  const v = viewOf(entry);
  writeAscii(entry, 0, 'loge');
  v.setUint32(8, entry.length, true);
  v.setUint32(12, options.at, true);
  v.setBigUint64(16, sequence, true);
  v.setUint32(24, sectors.length, true);
  entry.set(options.logGuid, 32);
  setU64(v, 48, options.flushedFileOffset, true);
  setU64(v, 56, options.lastFileOffset, true);
  sectors.forEach((s, i) => {
    if (s.data.length !== LOG_SECTOR || s.offset % LOG_SECTOR !== 0) throw new StorageError('InvalidArgument', 'a VHDX log sector is 4 KiB at a 4 KiB-aligned offset');
    const d = ENTRY_HEADER + i * DESCRIPTOR;
    writeAscii(entry, d, 'desc');
    entry.set(s.data.subarray(LOG_SECTOR - 4), d + 4);
    entry.set(s.data.subarray(0, 8), d + 8);
    setU64(v, d + 16, s.offset, true);
    v.setBigUint64(d + 24, sequence, true);
    const at = descriptorBytes + i * LOG_SECTOR;
    writeAscii(entry, at, 'data');
    v.setUint32(at + 4, Number(sequence >> 32n), true);
    entry.set(s.data.subarray(8, 8 + DATA_BYTES), at + 8);
    v.setUint32(at + LOG_SECTOR - 4, Number(sequence & 0xffff_ffffn), true);
  });
  v.setUint32(4, crc32cWithZeroField(entry, 4), true);
  return entry;
}
