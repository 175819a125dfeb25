import type { BlockDevice } from './block-device.js';
import type { HostFile } from './host-file.js';

/**
 * The format-driver contract. A driver knows one on-disk format: how to recognise it from its bytes,
 * open it as a `BlockDevice`, create a new image, and describe it. Drivers are registered in a
 * `FormatRegistry`; `openImage` and `createImage` pick the driver and wire the backing chain.
 */
export interface ImageFormat {
  /** qemu-img's name of the format: `raw`, `qcow2`, `vpc`, `vhdx`, `vmdk`. */
  readonly name: string;
  /**
   * How sure the driver is that these bytes are its format: 0 (not mine) to 100 (magic and checksums
   * agree). `raw` answers 1 for anything, so it wins only when no one else claims the file.
   */
  probe(probe: ProbeInput): number;
  /** Open `file` (already validated as this format by nothing but `probe`): validate every field before use. */
  open(file: HostFile, context: OpenContext): Promise<ImageDevice>;
  /** Write a new, empty image of `options.size` bytes into `file` (which is empty). */
  create(file: HostFile, options: CreateOptions): Promise<void>;
  /** The `-o` option names `create` accepts, for help and to reject unknown ones early. */
  readonly createOptions: readonly string[];
}

/** What `probe` sees: the first bytes of the file (up to 64 KiB), its last bytes (up to 4 KiB) and its size. */
export interface ProbeInput {
  head: Uint8Array;
  tail: Uint8Array;
  fileSize: number;
}

/** What a driver needs from the outside world while opening an image. */
export interface OpenContext {
  readOnly: boolean;
  /** The path of the image; names inside it (backing file, data file, extents) are relative to its directory. */
  path: string;
  /** Open another host file named by this image, resolved relative to it as qemu-img does. */
  openFile(name: string, options: { readOnly: boolean; create?: boolean }): Promise<HostFile>;
  /**
   * Open the backing image the header names (read-only, its own chain too). Returns `undefined`
   * when the caller asked not to open backing files (`qemu-img info`, `rebase -u`): the driver then
   * reads unallocated ranges as zeros and must refuse writes that would need the backing data.
   */
  openBacking(name: string, format: string | undefined): Promise<BlockDevice | undefined>;
}

/** Input of `ImageFormat.create`. */
export interface CreateOptions {
  /** Virtual size in bytes. */
  size: number;
  /** The path of the new image, to resolve relative names against. */
  path: string;
  /** Backing file name as it is to be stored in the image (relative names stay relative). */
  backingFile?: string;
  backingFormat?: string;
  /** qemu-img's `-o` options (`cluster_size`, `compat`, `lazy_refcounts`, `subformat`, ...), values as strings. */
  options: Readonly<Record<string, string>>;
  /** Open or create another host file (external data file, extents). */
  openFile(name: string, options: { readOnly: boolean; create?: boolean }): Promise<HostFile>;
}

/** A snapshot stored inside an image, with the fields of `qemu-img info --output json`. */
export interface SnapshotInfo {
  id: string;
  name: string;
  'vm-state-size': number;
  'date-sec': number;
  'date-nsec': number;
  'vm-clock-sec': number;
  'vm-clock-nsec': number;
  icount?: number;
}

/** What a driver reports about its image; `imageInfo` adds the generic fields (filename, actual-size, chain). */
export interface FormatInfo {
  clusterSize?: number;
  dirty?: boolean;
  /** qemu-img's `format-specific` object, e.g. `{ type: 'qcow2', data: { compat: '1.1', ... } }`. */
  formatSpecific?: { type: string; data: Record<string, unknown> };
  snapshots?: SnapshotInfo[];
}

/** The outcome of a consistency check, with `qemu-img check`'s counters. */
export interface CheckReport {
  /** Metadata that is wrong (refcount too low, overlapping clusters, bad pointers). */
  corruptions: number;
  /** Clusters marked in use that nothing references. */
  leaks: number;
  corruptionsFixed: number;
  leaksFixed: number;
  /** Problems that stop the check from going on (a table pointer out of the file). */
  checkErrors: number;
  /** One line per finding, as `qemu-img check` prints them. */
  messages: string[];
  totalClusters?: number;
  allocatedClusters?: number;
  fragmentedClusters?: number;
  compressedClusters?: number;
  imageEndOffset?: number;
}

/** Internal snapshots, where the format has them (qcow2). */
export interface SnapshotStore {
  list(): Promise<SnapshotInfo[]>;
  create(name: string): Promise<SnapshotInfo>;
  /** Make the snapshot's content the current content (the current content is lost). */
  apply(nameOrId: string): Promise<void>;
  delete(nameOrId: string): Promise<void>;
  /** A read-only view of the disk as the snapshot saw it. */
  open(nameOrId: string): Promise<BlockDevice>;
}

/**
 * An opened image: a `BlockDevice` plus what the image tool needs. Optional members are features a
 * format may lack; callers test for them and report `Unsupported` otherwise.
 */
export interface ImageDevice extends BlockDevice {
  /** The driver's name (`ImageFormat.name`). */
  readonly format: string;
  /** The host file holding the image. */
  readonly file: HostFile;
  /** The backing file name as stored in the image, if any. */
  readonly backingFile: string | undefined;
  readonly backingFormat: string | undefined;
  info(): Promise<FormatInfo>;
  /** Check consistency; with `repair`, fix what can be fixed without losing data. */
  check?(options: { repair: 'none' | 'leaks' | 'all' }): Promise<CheckReport>;
  /** Change the virtual size (growing reads as zeros). */
  resize?(newSize: number): Promise<void>;
  /** Drop every allocation of this layer, so all of it reads from the backing file again (`commit`). */
  makeEmpty?(): Promise<void>;
  /** Rewrite the backing file name in the header (`rebase`); no data is copied. */
  setBackingFile?(name: string | undefined, format: string | undefined): Promise<void>;
  readonly snapshots?: SnapshotStore;
  /**
   * Write a whole cluster of compressed data (for `convert -c`); `offset` and `data.length` are one
   * aligned cluster. Formats without compression leave it out.
   */
  writeCompressed?(offset: number, data: Uint8Array): Promise<void>;
  /** The allocation unit for `writeCompressed` and the natural copy granularity. */
  readonly clusterSize?: number;
  /**
   * The smallest write into a new image that needs no read-modify-write, when it is less than
   * `clusterSize`: formats whose new blocks are holes in the file (VHD, VHDX) take any sector, so
   * `convert` skips zeros inside them too. Absent: `clusterSize`.
   */
  readonly writeUnit?: number;
}
