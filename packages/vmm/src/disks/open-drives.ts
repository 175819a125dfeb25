import { isAbsolute, resolve } from 'node:path';
import { openImage, type ImageDevice } from '@tsvm/storage';
import { VmmError } from '../errors.js';
import type { PolicyDocument } from '../policy/schema.js';
import { IDE_SLOTS, type IdeDrive, type IdeSlot } from './attach-ide.js';

/** Where a policy disk goes by its id: `hda`-`hdd` are hard disks at those IDE positions, `cdrom` is a CD-ROM drive at hdc. */
export function ideSlotOf(id: string): { slot: IdeSlot; media: 'disk' | 'cdrom' } | undefined {
  if (id === 'cdrom') return { slot: 'hdc', media: 'cdrom' };
  return (IDE_SLOTS as readonly string[]).includes(id) ? { slot: id as IdeSlot, media: 'disk' } : undefined;
}

/**
 * Opens the policy's disks (those in `ids`) with `@tsvm/storage` as IDE drives. A disk's path is
 * relative to `baseDir`; a CD-ROM image is always read-only. On a failure the images opened so far
 * are closed again.
 */
export async function openDrives(document: PolicyDocument, baseDir: string, ids: ReadonlySet<string>): Promise<IdeDrive[]> {
  const opened: ImageDevice[] = [];
  const drives: IdeDrive[] = [];
  try {
    for (const [i, disk] of document.hardware.disks.entries()) {
      if (!ids.has(disk.id)) continue;
      const place = ideSlotOf(disk.id);
      if (place === undefined) {
        throw new VmmError('InvalidConfig', `policy 'hardware.disks[${i}].id': ${JSON.stringify(disk.id)} names no IDE position; use hda, hdb, hdc, hdd or cdrom`);
      }
      if (disk.overlay !== undefined) throw new VmmError('InvalidConfig', `policy 'hardware.disks[${i}].overlay': IDE drives do not take overlays yet`);
      const path = isAbsolute(disk.path) ? disk.path : resolve(baseDir, disk.path);
      const readOnly = disk.readOnly || place.media === 'cdrom';
      const image = await openImage(path, { format: disk.format, readOnly });
      opened.push(image);
      drives.push({ slot: place.slot, media: place.media, device: image });
    }
  } catch (error) {
    await Promise.allSettled(opened.map((d) => d.close()));
    throw error;
  }
  return drives;
}
