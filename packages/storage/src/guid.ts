import { randomBytes } from 'node:crypto';

/**
 * GUIDs as Microsoft stores them: Data1 (32-bit), Data2 and Data3 (16-bit) little-endian, then
 * eight bytes in order. Text form is `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower case.
 */

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

function hex(bytes: Uint8Array, order: readonly number[]): string {
  return order.map((i) => bytes[i].toString(16).padStart(2, '0')).join('');
}

/** The text form of the 16 bytes at `at`. */
export function guidToString(bytes: Uint8Array, at = 0): string {
  const b = bytes.subarray(at, at + 16);
  return `${hex(b, [3, 2, 1, 0])}-${hex(b, [5, 4])}-${hex(b, [7, 6])}-${hex(b, [8, 9])}-${hex(b, [10, 11, 12, 13, 14, 15])}`;
}

/** The 16 on-disk bytes of a GUID in text form, or `undefined` when the text is not a GUID. */
export function guidFromString(text: string): Uint8Array | undefined {
  const m = GUID_TEXT.exec(text.trim());
  if (m === null) return undefined;
  const flat = m.slice(1).join('');
  const raw = new Uint8Array(16);
  for (let i = 0; i < 16; i++) raw[i] = parseInt(flat.slice(i * 2, i * 2 + 2), 16);
  const out = new Uint8Array(16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  for (let i = 0; i < 16; i++) out[i] = raw[order[i]]!;
  return out;
}

/** A parsed GUID constant from its text form (for the well-known GUIDs of a specification). */
export function guidConstant(text: string): Uint8Array {
  const g = guidFromString(text);
  if (g === undefined) throw new TypeError(`not a GUID: ${text}`);
  return g;
}

export function guidEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length < 16 || b.length < 16) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function guidIsZero(g: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (g[i] !== 0) return false;
  return true;
}

/** A random (version 4) GUID. */
export function randomGuid(): Uint8Array {
  const g = new Uint8Array(randomBytes(16));
  g[7] = (g[7] & 0x0f) | 0x40;
  g[8] = (g[8] & 0x3f) | 0x80;
  return g;
}
