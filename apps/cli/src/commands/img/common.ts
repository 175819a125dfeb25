import { resolve } from 'node:path';
import type { CacheMode, ImageDevice } from '@tsvm/storage';
import { CACHE_MODES, openImage, parseSize } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';

/** A path as the user wrote it, resolved against the working directory of the command. */
export function hostPath(io: CliIo, path: string): string {
  return resolve(io.cwd, path);
}

/** Open an image named on the command line. */
export function open(
  io: CliIo,
  path: string,
  options: { format?: string; readOnly?: boolean; backing?: boolean; cache?: CacheMode } = {},
): Promise<ImageDevice> {
  return openImage(hostPath(io, path), {
    format: options.format,
    readOnly: options.readOnly ?? true,
    backing: options.backing ?? true,
    cache: options.cache,
  });
}

/**
 * `-t cache`: how the written image reaches the disk. qemu-img's `writeback` flushes at the end,
 * `unsafe` never does (`convert`'s default); `none`, `directsync` and `writethrough` need direct or
 * synchronous I/O that tsvm does not do.
 */
export function cacheArg(text: string | undefined, fallback: CacheMode): CacheMode {
  if (text === undefined) return fallback;
  const mode = CACHE_MODES.find((m) => m === text);
  if (mode === undefined) throw new CliError('Usage', `cache mode '${text}' is not supported (use ${CACHE_MODES.join(' or ')})`);
  return mode;
}

/** Run `fn` with an open image and close it afterwards, whatever happens. */
export async function withImage<T>(
  io: CliIo,
  path: string,
  options: { format?: string; readOnly?: boolean; backing?: boolean; cache?: CacheMode },
  fn: (device: ImageDevice) => Promise<T>,
): Promise<T> {
  const device = await open(io, path, options);
  try {
    return await fn(device);
  } finally {
    await device.close();
  }
}

/** A size argument: bytes, or with a k/M/G/T/P/E suffix (binary), as qemu-img reads it. */
export function sizeArg(text: string, what = 'size'): number {
  try {
    return parseSize(text, what);
  } catch (err) {
    throw new CliError('Usage', `invalid ${what} '${text}' (use bytes or a k, M, G, T suffix)`, { cause: err });
  }
}
