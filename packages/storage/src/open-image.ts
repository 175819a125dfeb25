import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { BlockDevice } from './block-device.js';
import { StorageError } from './errors.js';
import type { FormatRegistry } from './format-registry.js';
import { FORMATS } from './formats.js';
import type { CacheMode, HostFile } from './host-file.js';
import { NodeHostFile } from './host-file.js';
import type { ImageDevice, OpenContext } from './image-format.js';

/** The deepest backing chain `openImage` follows; deeper chains (or loops) are a `BackingChain` error. */
export const MAX_CHAIN_DEPTH = 256;

export interface OpenImageOptions {
  /** The format's name; detected from the content when absent. */
  format?: string;
  /** Open read-only (the default). Backing images are always read-only. */
  readOnly?: boolean;
  /** Open the backing chain (default true). Without it, unallocated ranges read as zeros. */
  backing?: boolean;
  registry?: FormatRegistry;
  maxChainDepth?: number;
  /** How `flush()` reaches the disk (qemu-img's `-t`): `writeback` (default) or `unsafe` (no fdatasync). */
  cache?: CacheMode;
}

/**
 * Where qemu-img looks for a file named inside the image at `imagePath`: absolute names as they
 * are, relative names against the directory of the image (not the working directory).
 */
export function resolveRelative(imagePath: string, name: string): string {
  if (name.length === 0) throw new StorageError('BackingChain', `${imagePath}: names an empty file name`);
  if (name.includes('\0')) throw new StorageError('BackingChain', `${imagePath}: names a file with a NUL byte`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(name) && !isAbsolute(name)) {
    throw new StorageError('Unsupported', `${imagePath}: names '${name}', a protocol or json: file name, which is not supported`);
  }
  return isAbsolute(name) ? name : resolve(dirname(imagePath), name);
}

async function openHostFile(path: string, options: { readOnly: boolean; create?: boolean }, cache?: CacheMode): Promise<HostFile> {
  return options.create === true ? NodeHostFile.create(path, { cache }) : NodeHostFile.open(path, { readOnly: options.readOnly, cache });
}

/**
 * Open the image at `path` with its whole backing chain, each layer's format detected from its content
 * (or given by the layer above it). Returns the top layer; closing it closes the chain.
 */
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<ImageDevice> {
  const registry = options.registry ?? FORMATS;
  const maxDepth = options.maxChainDepth ?? MAX_CHAIN_DEPTH;
  const withBacking = options.backing ?? true;

  const openAt = async (
    at: string,
    format: string | undefined,
    readOnly: boolean,
    depth: number,
    seen: ReadonlySet<string>,
  ): Promise<ImageDevice> => {
    if (depth > maxDepth) {
      throw new StorageError('BackingChain', `${at}: backing chain is deeper than ${maxDepth} images`);
    }
    let real: string;
    try {
      real = await realpath(at);
    } catch (err) {
      throw new StorageError('Io', `${at}: cannot open: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (seen.has(real)) throw new StorageError('BackingChain', `${at}: backing chain loops back to ${real}`);
    const nextSeen = new Set(seen).add(real);
    const file = await NodeHostFile.open(at, { readOnly, cache: options.cache });
    try {
      const driver = format === undefined ? await registry.detectFile(file) : registry.get(format);
      const context: OpenContext = {
        readOnly,
        path: at,
        openFile: (name, o) => openHostFile(resolveRelative(at, name), o, options.cache),
        openBacking: async (name, backingFormat): Promise<BlockDevice | undefined> => {
          if (!withBacking) return undefined;
          return openAt(resolveRelative(at, name), backingFormat, true, depth + 1, nextSeen);
        },
      };
      return await driver.open(file, context);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  };

  return openAt(path, options.format, options.readOnly ?? true, 0, new Set());
}

export interface CreateImageOptions {
  /** The format's name (qemu-img's). */
  format: string;
  /** Virtual size in bytes; taken from the backing image when absent. */
  size?: number;
  backingFile?: string;
  /** The backing image's format; detected from its content when absent. */
  backingFormat?: string;
  /** qemu-img's `-o` options. */
  options?: Readonly<Record<string, string>>;
  registry?: FormatRegistry;
}

/** Create a new image file at `path` (replacing any file there), as `qemu-img create` does. */
export async function createImage(path: string, options: CreateImageOptions): Promise<void> {
  const registry = options.registry ?? FORMATS;
  const driver = registry.get(options.format);
  const opts = options.options ?? {};
  for (const key of Object.keys(opts)) {
    if (!driver.createOptions.includes(key)) {
      throw new StorageError(
        'Unsupported',
        `format '${driver.name}' does not support the option '${key}' (it supports: ${driver.createOptions.join(', ') || 'none'})`,
      );
    }
  }
  let size = options.size;
  let backingFormat = options.backingFormat;
  if (options.backingFile !== undefined) {
    const backingPath = resolveRelative(path, options.backingFile);
    const backing = await openImage(backingPath, { format: backingFormat, readOnly: true, registry });
    try {
      size ??= backing.size;
      backingFormat ??= backing.format;
    } finally {
      await backing.close();
    }
  }
  if (size === undefined) throw new StorageError('InvalidArgument', `${path}: an image size is needed (or a backing file to take it from)`);
  if (!Number.isSafeInteger(size) || size < 0) throw new StorageError('InvalidArgument', `${path}: image size ${size} is not a byte count`);
  const file = await NodeHostFile.create(path);
  try {
    await driver.create(file, {
      size,
      path,
      backingFile: options.backingFile,
      backingFormat,
      options: opts,
      openFile: (name, o) => openHostFile(resolveRelative(path, name), o),
    });
    await file.flush();
  } finally {
    await file.close();
  }
}
