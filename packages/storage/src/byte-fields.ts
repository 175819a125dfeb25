import { StorageError } from './errors.js';

/**
 * 64-bit fields of on-disk structures as JavaScript numbers. Image offsets and sizes fit in 53 bits;
 * a field that does not is corrupt for our purposes, and the caller says which structure it was.
 */

const TWO_32 = 0x1_0000_0000;

/** The raw 64-bit value (inexact above 2^53; use `u64Safe` for anything used as an offset or size). */
export function u64(view: DataView, at: number, littleEndian: boolean): number {
  const lo = view.getUint32(at + (littleEndian ? 0 : 4), littleEndian);
  const hi = view.getUint32(at + (littleEndian ? 4 : 0), littleEndian);
  return hi * TWO_32 + lo;
}

/** True when all 64 bits are set (the "no offset" marker of VHD and VMDK). */
export function u64AllOnes(view: DataView, at: number): boolean {
  return view.getUint32(at) === 0xffff_ffff && view.getUint32(at + 4) === 0xffff_ffff;
}

/** A 64-bit field that must be a safe integer, or a `code` error naming `what`. */
export function u64Safe(
  view: DataView,
  at: number,
  littleEndian: boolean,
  what: string,
  code: 'CorruptHeader' | 'CorruptTable' = 'CorruptHeader',
): number {
  const hi = view.getUint32(at + (littleEndian ? 4 : 0), littleEndian);
  if (hi >= 0x20_0000) throw new StorageError(code, `${what} (0x${hi.toString(16)}xxxxxxxx) is too large to be an offset or size`);
  return u64(view, at, littleEndian);
}

export function setU64(view: DataView, at: number, value: number, littleEndian: boolean): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new StorageError('InvalidArgument', `${value} is not a 64-bit field value`);
  const hi = Math.floor(value / TWO_32);
  const lo = value - hi * TWO_32;
  view.setUint32(at + (littleEndian ? 0 : 4), lo, littleEndian);
  view.setUint32(at + (littleEndian ? 4 : 0), hi, littleEndian);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** ASCII text of `bytes[at, at + length)`. */
export function ascii(bytes: Uint8Array, at: number, length: number): string {
  let s = '';
  for (let i = at; i < at + length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

export function writeAscii(bytes: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i) & 0x7f;
}

let zeroPage = new Uint8Array(0);

/** True when every byte is zero (a native memcmp against a shared zero buffer). */
export function isAllZero(bytes: Uint8Array): boolean {
  if (zeroPage.length < bytes.length) zeroPage = new Uint8Array(Math.max(bytes.length, 1 << 20));
  return Buffer.compare(bytes, zeroPage.subarray(0, bytes.length)) === 0;
}
