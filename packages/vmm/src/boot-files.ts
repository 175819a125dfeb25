import { readFile, stat } from 'node:fs/promises';
import { findMultibootHeader } from './boot/multiboot.js';
import { VmmError } from './errors.js';

/** Refuse files larger than this as boot images: more than any machine's RAM could hold. */
export const MAX_BOOT_FILE = 4 * 1024 * 1024 * 1024 - 1;

/**
 * Reads a boot file (firmware, kernel, initrd, module) with an error that names it and says what is
 * wrong: missing, a directory, unreadable, empty or too large.
 */
export async function readBootFile(path: string, what: string): Promise<Uint8Array> {
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new VmmError('FileUnreadable', `${what} '${path}' is a directory, not a file`);
    size = s.size;
  } catch (err) {
    if (err instanceof VmmError) throw err;
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : 'cannot be read';
    throw new VmmError('FileUnreadable', `${what} '${path}' ${why}`, { cause: err });
  }
  if (size > MAX_BOOT_FILE) throw new VmmError('InvalidImage', `${what} '${path}' is ${size} bytes, larger than any machine's memory`);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory, not a file' : 'cannot be read';
    throw new VmmError('FileUnreadable', `${what} '${path}' ${why}`, { cause: err });
  }
  if (data.length === 0) throw new VmmError('InvalidImage', `${what} '${path}' is empty`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** What kind of kernel image `image` is, judged from its content: a bzImage, a Multiboot kernel, or neither. */
export function kernelKind(image: Uint8Array): 'linux' | 'multiboot' | 'unknown' {
  // "HdrS" at 0x202 marks a Linux kernel's setup header (boot.rst); Multiboot has its own magic.
  if (image.length >= 0x206 && new TextDecoder('latin1').decode(image.subarray(0x202, 0x206)) === 'HdrS') return 'linux';
  return findMultibootHeader(image) !== null ? 'multiboot' : 'unknown';
}
