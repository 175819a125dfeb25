import { dirname, isAbsolute, join } from 'node:path';
import type { ImageDevice, SnapshotInfo } from './image-format.js';

/** `qemu-img info --output json` of one image, with qemu-img's field names. */
export interface ImageInfoJson {
  'virtual-size': number;
  filename: string;
  'cluster-size'?: number;
  format: string;
  'actual-size': number;
  'dirty-flag'?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  snapshots?: SnapshotInfo[];
  'format-specific'?: { type: string; data: Record<string, unknown> };
}

/** Describe an open image as `qemu-img info` does; `filename` is the name the user gave. */
export async function imageInfo(device: ImageDevice, filename: string): Promise<ImageInfoJson> {
  const f = await device.info();
  const out: ImageInfoJson = {
    'virtual-size': device.size,
    filename,
    format: device.format,
    'actual-size': await device.file.allocatedSize(),
  };
  if (f.clusterSize !== undefined) out['cluster-size'] = f.clusterSize;
  if (f.snapshots !== undefined && f.snapshots.length > 0) out.snapshots = f.snapshots;
  if (f.formatSpecific !== undefined) out['format-specific'] = f.formatSpecific;
  if (device.backingFile !== undefined) {
    out['backing-filename'] = device.backingFile;
    out['full-backing-filename'] = isAbsolute(device.backingFile) ? device.backingFile : join(dirname(filename), device.backingFile);
    if (device.backingFormat !== undefined) out['backing-filename-format'] = device.backingFormat;
  }
  out['dirty-flag'] = f.dirty ?? false;
  return out;
}
