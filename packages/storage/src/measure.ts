import type { BlockDevice } from './block-device.js';
import type { ImageDevice } from './image-format.js';
import { StorageError } from './errors.js';
import { parseSize } from './qcow2-create.js';
import { MAX_L1_BYTES } from './qcow2-header.js';

/** `qemu-img measure` output: bytes a new image needs now, and fully allocated. */
export interface MeasureResult {
  required: number;
  'fully-allocated': number;
  bitmaps?: number;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * Refcount table and blocks needed to count `clusters` host clusters, including themselves: the
 * fixed point where adding them needs no further block or table cluster.
 */
function refcountMetadataBytes(clusters: number, clusterSize: number, refcountOrder: number): number {
  const perTableCluster = clusterSize / 8;
  const perBlock = (clusterSize * 8) / 2 ** refcountOrder;
  let table = 0;
  let blocks = 0;
  let n = 0;
  let last: number;
  // Monotone and bounded: converges in a handful of rounds.
  do {
    last = n;
    blocks = Math.ceil((clusters + table + blocks) / perBlock);
    table = Math.ceil(blocks / perTableCluster);
    n = clusters + blocks + table;
  } while (n !== last);
  return (blocks + table) * clusterSize;
}

/** Bytes of a fully allocated qcow2 image of `size` (header, L1, L2, refcounts and data). */
function qcow2FullSize(size: number, clusterSize: number, refcountOrder: number): number {
  const aligned = roundUp(size, clusterSize);
  let meta = clusterSize;
  const l2Entries = roundUp(aligned / clusterSize, clusterSize / 8);
  meta += l2Entries * 8;
  const l1Entries = roundUp((l2Entries * 8) / clusterSize, clusterSize / 8);
  meta += l1Entries * 8;
  meta += refcountMetadataBytes((meta + aligned) / clusterSize, clusterSize, refcountOrder);
  return meta + aligned;
}

/**
 * How big an image of `format` would be for `size` bytes, or for the content of `source` (only its
 * data clusters count), as `qemu-img measure` computes it for qcow2 and raw.
 */
export async function measureImage(
  format: string,
  options: { size?: number; source?: BlockDevice; createOptions?: Readonly<Record<string, string>> },
): Promise<MeasureResult> {
  const o = options.createOptions ?? {};
  let size = options.size ?? options.source?.size;
  if (size === undefined) throw new StorageError('InvalidArgument', 'measure needs a size or a source image');
  if (format === 'raw') {
    let required = size;
    if (options.source !== undefined) {
      required = 0;
      for (const e of await options.source.allocation(0, options.source.size)) if (e.status === 'data') required += e.length;
    }
    return { required, 'fully-allocated': size };
  }
  if (format !== 'qcow2') throw new StorageError('Unsupported', `measure does not know the format '${format}'`);
  const clusterSize = o.cluster_size === undefined ? 65536 : parseSize(o.cluster_size, 'cluster_size');
  const refcountOrder = Math.log2(o.refcount_bits === undefined ? 16 : Number(o.refcount_bits));
  size = roundUp(size, clusterSize);
  if (Math.ceil(size / clusterSize / (clusterSize / 8)) * 8 > MAX_L1_BYTES) {
    throw new StorageError('InvalidArgument', 'the image size is too large (try a larger cluster size)');
  }
  // Without a source only metadata is required; with a backing file every cluster may be written.
  let required = options.source === undefined ? 0 : size;
  if (options.source !== undefined && o.backing_file === undefined) {
    required = 0;
    let clusterEnd = 0;
    for (const e of await options.source.allocation(0, options.source.size)) {
      if (e.status !== 'data') continue;
      const start = Math.max(Math.floor(e.offset / clusterSize) * clusterSize, clusterEnd);
      const end = roundUp(e.offset + e.length, clusterSize);
      if (end > start) required += end - start;
      clusterEnd = Math.max(clusterEnd, end);
    }
  }
  const full = qcow2FullSize(size, clusterSize, refcountOrder);
  const result: MeasureResult = { required: full - size + required, 'fully-allocated': full };
  // qemu-img reports bitmaps only when source and target can both hold them (qcow2 v3 to qcow2 v3).
  const source = options.source as Partial<ImageDevice> | undefined;
  if (source?.format === 'qcow2' && source.info !== undefined && (o.compat ?? '1.1') !== '0.10') {
    if ((await source.info()).formatSpecific?.data.compat === '1.1') result.bitmaps = 0;
  }
  return result;
}
