import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { VhdDynamicHeader, VhdParentLocator } from './vhd-header.js';
import { VHD_PLATFORM_MACX, VHD_PLATFORM_W2KU, VHD_PLATFORM_W2RU } from './vhd-header.js';

/**
 * Parent locators of a differencing VHD: where the parent may be found, in the order a reader
 * should try them (relative path first: it survives moving the pair of files together).
 */

/** Locator data longer than this is not a path. */
const MAX_LOCATOR_BYTES = 64 * 1024;

function utf16le(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const c = bytes[i] | (bytes[i + 1] << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function toUtf16le(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    out[i * 2] = text.charCodeAt(i) & 0xff;
    out[i * 2 + 1] = text.charCodeAt(i) >>> 8;
  }
  return out;
}

/** A Windows path as a path for this host: backslashes become slashes, `.\` prefixes go. */
function hostPath(windowsPath: string): string {
  return windowsPath.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

async function readLocator(file: HostFile, l: VhdParentLocator, fileSize: number): Promise<Uint8Array> {
  if (l.dataLength > MAX_LOCATOR_BYTES || l.dataOffset + l.dataLength > fileSize) {
    throw new StorageError(
      'CorruptHeader',
      `VHD parent locator at offset ${l.dataOffset} (${l.dataLength} bytes) is too long or runs past the end of the file`,
    );
  }
  const data = new Uint8Array(l.dataLength);
  await readExact(file, l.dataOffset, data, 'VHD parent locator');
  return data;
}

/**
 * The parent's file names this differencing disk records, best first: the relative locator, the
 * absolute one, a MacX URL, and last the parent's bare file name from the header.
 */
export async function vhdParentCandidates(file: HostFile, header: VhdDynamicHeader, fileSize: number): Promise<string[]> {
  const ranked: { rank: number; name: string }[] = [];
  for (const l of header.locators) {
    if (l.platformCode === VHD_PLATFORM_W2RU) {
      ranked.push({ rank: 0, name: hostPath(utf16le(await readLocator(file, l, fileSize))) });
    } else if (l.platformCode === VHD_PLATFORM_W2KU) {
      ranked.push({ rank: 1, name: hostPath(utf16le(await readLocator(file, l, fileSize))) });
    } else if (l.platformCode === VHD_PLATFORM_MACX) {
      const url = new TextDecoder().decode(await readLocator(file, l, fileSize)).replace(/\0+$/, '');
      const name = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
      ranked.push({ rank: 2, name: name.replace(/^localhost\//, '/') });
    }
  }
  if (header.parentName.length > 0) ranked.push({ rank: 3, name: hostPath(header.parentName) });
  const names: string[] = [];
  for (const r of ranked.sort((a, b) => a.rank - b.rank)) {
    if (r.name.length > 0 && !names.includes(r.name)) names.push(r.name);
  }
  return names;
}

/** The data of a W2ru (relative) and a W2ku (absolute) locator for a parent named `name`. */
export function vhdLocatorData(name: string, absolutePath: string): { relative: Uint8Array; absolute: Uint8Array } {
  const relative = name.startsWith('/') ? name : `.\\${name.replace(/\//g, '\\')}`;
  return { relative: toUtf16le(relative), absolute: toUtf16le(absolutePath) };
}
