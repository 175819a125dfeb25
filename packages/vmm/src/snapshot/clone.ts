import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { createImage } from '@tsvm/storage';
import { VmmError } from '../errors.js';
import { Machine, type MachineOptions } from '../machine.js';
import { validatePolicy } from '../policy/load.js';
import type { PolicyDocument } from '../policy/schema.js';
import { parseSnapshot, type DiskReference } from './machine-snapshot.js';

/** At most this many clones from one call. */
export const MAX_CLONES = 256;

export interface CloneOptions {
  /** How many machines to start from the snapshot. */
  count: number;
  /** Where each clone's disk overlays are created (made if missing). */
  overlayDir: string;
  /** What relative disk paths in the snapshot are relative to (the original policy file's directory). */
  baseDir: string;
  /** Options for every clone's machine (its policy is the snapshot's, with the clone's id and overlays). */
  machineOptions?: Omit<MachineOptions, 'policy'>;
}

export interface Clone {
  readonly machine: Machine;
  /** The clone's VM id: the snapshot's, with `-clone-N`. */
  readonly vmId: string;
  /** The copy-on-write overlay each disk of the clone writes to, by disk id. */
  readonly overlays: ReadonlyMap<string, string>;
}

/**
 * Starts `count` machines from one snapshot, each in the snapshot's exact state and each with its
 * own qcow2 overlay over every disk the snapshot refers to, so their writes never meet. A disk's
 * backing image is what the VM saw at the snapshot: its overlay if it had one, else its image; that
 * file must not be written afterwards (the original VM stops, or moves to a fresh overlay).
 * The clones' policies are the snapshot's with `vm.id` made unique and `hardware.disks` pointing
 * at the new overlays.
 */
export async function cloneFromSnapshot(snapshot: Uint8Array, options: CloneOptions): Promise<Clone[]> {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_CLONES) throw new VmmError('InvalidArgument', `clone count must be 1-${MAX_CLONES}, got ${count}`);
  const parsed = parseSnapshot(snapshot);
  const saved = parsed.policy === undefined ? undefined : validatePolicy(parsed.policy);
  const baseId = parsed.meta.vmId ?? saved?.vm.id ?? 'vm';
  await mkdir(options.overlayDir, { recursive: true });
  const clones: Clone[] = [];
  for (let i = 1; i <= count; i++) {
    const vmId = `${baseId}-clone-${i}`.slice(0, 64);
    const overlays = new Map<string, string>();
    for (const disk of parsed.disks) overlays.set(disk.id, await createOverlay(disk, options, vmId));
    const policy = saved === undefined ? undefined : clonePolicy(saved, vmId, parsed.disks, overlays, options.baseDir);
    const machine = Machine.fromSnapshot(snapshot, { ...options.machineOptions, ...(policy !== undefined ? { policy } : {}) });
    clones.push({ machine, vmId, overlays });
  }
  return clones;
}

function backingOf(disk: DiskReference, baseDir: string): string {
  const path = disk.overlay ?? disk.path;
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

async function createOverlay(disk: DiskReference, options: CloneOptions, vmId: string): Promise<string> {
  const path = resolve(join(options.overlayDir, `${vmId}-${disk.id.replace(/[^A-Za-z0-9._-]/g, '_')}.qcow2`));
  const backing = backingOf(disk, options.baseDir);
  try {
    await createImage(path, { format: 'qcow2', backingFile: backing, ...(disk.overlay === undefined ? { backingFormat: disk.format } : {}) });
  } catch (cause) {
    throw new VmmError('FileUnreadable', `clone ${vmId}: cannot create an overlay for disk ${disk.id} over '${backing}': ${(cause as Error).message}`, { cause });
  }
  return path;
}

function clonePolicy(saved: PolicyDocument, vmId: string, disks: readonly DiskReference[], overlays: ReadonlyMap<string, string>, baseDir: string): PolicyDocument {
  return validatePolicy({
    ...saved,
    vm: { id: vmId },
    hardware: {
      ...saved.hardware,
      disks: saved.hardware.disks.map((d) => {
        const ref = disks.find((r) => r.id === d.id);
        const overlay = overlays.get(d.id);
        return ref === undefined || overlay === undefined ? d : { ...d, path: backingOf(ref, baseDir), format: ref.overlay !== undefined ? 'qcow2' : d.format, overlay };
      }),
    },
  });
}
