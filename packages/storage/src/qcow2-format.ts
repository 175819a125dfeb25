import type { BlockDevice } from './block-device.js';
import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import { readExact } from './host-file.js';
import type { CreateOptions, ImageDevice, ImageFormat, OpenContext } from './image-format.js';
import { qcow2Check } from './qcow2-check.js';
import { QCOW2_CREATE_OPTIONS, newHeader, writeEmptyQcow2 } from './qcow2-create.js';
import { Qcow2Device } from './qcow2-device.js';
import {
  AUTOCLEAR_BITMAPS,
  AUTOCLEAR_DATA_FILE_RAW,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
  MAX_CLUSTER_BITS,
  isQcow2,
  parseHeader,
} from './qcow2-header.js';
import { Qcow2Metadata } from './qcow2-metadata.js';
import { Qcow2Refcounts } from './qcow2-refcounts.js';
import { qcow2Resize } from './qcow2-resize.js';
import { Qcow2Snapshots, readSnapshotTable } from './qcow2-snapshots.js';

async function openQcow2(file: HostFile, context: OpenContext): Promise<ImageDevice> {
  const fileSize = await file.size();
  const first = new Uint8Array(Math.min(fileSize, 2 ** MAX_CLUSTER_BITS));
  await readExact(file, 0, first, 'qcow2 header');
  const header = parseHeader(file.path, first, fileSize);
  const cs = 2 ** header.clusterBits;
  if (header.nbSnapshots > 0 && (header.incompatible & INCOMPAT_DATA_FILE) !== 0) {
    throw new StorageError('CorruptHeader', `${file.path}: qcow2 image with an external data file cannot have internal snapshots`);
  }
  // Everything is read and validated before any write (dirty-bit repair, header update) may happen.
  const refcounts = await Qcow2Refcounts.load(
    file,
    header.clusterBits,
    header.refcountOrder,
    { offset: header.refcountTableOffset, clusters: header.refcountTableClusters },
    async (loc) => {
      header.refcountTableOffset = loc.offset;
      header.refcountTableClusters = loc.clusters;
      await meta.writeHeader();
    },
  );
  const l1 = await Qcow2Metadata.readL1(file, header.l1TableOffset, header.l1Size, cs, 'qcow2 L1 table');
  const snapshotTable = await readSnapshotTable(file, header);
  let data = file;
  let backing: BlockDevice | undefined;
  try {
    if ((header.incompatible & INCOMPAT_DATA_FILE) !== 0) {
      if (header.dataFile === undefined) {
        throw new StorageError('CorruptHeader', `${file.path}: qcow2 image uses an external data file but does not name it`);
      }
      data = await context.openFile(header.dataFile, { readOnly: context.readOnly });
    }
    if (header.backingFile !== undefined) backing = await context.openBacking(header.backingFile, header.backingFormat);
  } catch (err) {
    if (data !== file) await data.close().catch(() => undefined);
    throw err;
  }
  const meta = new Qcow2Metadata(file, data, header, l1, refcounts);
  const device = new Qcow2Device(meta, backing, context.readOnly, {
    check: qcow2Check,
    resize: qcow2Resize,
    snapshots: (d) => new Qcow2Snapshots(d, snapshotTable),
  });
  if (!context.readOnly) {
    try {
      let changed = false;
      if ((header.incompatible & INCOMPAT_DIRTY) !== 0) {
        changed = true;
        // A writer with lazy refcounts stopped without flushing them: rebuild them from the tables.
        await qcow2Check(device, 'all');
        header.incompatible &= ~INCOMPAT_DIRTY;
        await meta.writeIncompatible();
      }
      if ((header.autoclear & ~AUTOCLEAR_DATA_FILE_RAW) !== 0) {
        changed = true;
        // Bitmaps (and unknown autoclear features) are not kept up to date by this writer.
        header.autoclear &= AUTOCLEAR_DATA_FILE_RAW;
        header.otherExtensions = header.otherExtensions.filter((e) => e.type !== 0x23852875 || (header.autoclear & AUTOCLEAR_BITMAPS) !== 0);
        await meta.writeHeader();
      }
      if (changed) await file.flush();
    } catch (err) {
      await device.close().catch(() => undefined);
      throw err;
    }
  }
  return device;
}

export const qcow2Format: ImageFormat = {
  name: 'qcow2',
  createOptions: QCOW2_CREATE_OPTIONS,
  probe: ({ head }) => (isQcow2(head) ? 100 : 0),
  open: openQcow2,
  async create(file: HostFile, options: CreateOptions): Promise<void> {
    const header = newHeader(options);
    if (header.dataFile !== undefined) {
      const dataFile = await options.openFile(header.dataFile, { readOnly: false, create: true });
      try {
        await dataFile.truncate(options.size);
        await dataFile.flush();
      } finally {
        await dataFile.close();
      }
    }
    await writeEmptyQcow2(file, header);
  },
};
