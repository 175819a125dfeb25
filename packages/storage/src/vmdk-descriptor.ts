import { StorageError } from './errors.js';

/**
 * The VMDK descriptor ("Virtual Disk Format 5.0", "The Descriptor File"): text naming the disk's
 * type, its extents in order, its parent and the disk database (geometry, adapter).
 */

export type VmdkExtentType = 'SPARSE' | 'FLAT' | 'ZERO' | 'VMFS' | 'VMFSSPARSE';

export interface VmdkExtentLine {
  access: 'RW' | 'RDONLY' | 'NOACCESS';
  /** Size in sectors. */
  sectors: number;
  type: VmdkExtentType;
  fileName: string;
  /** Start of the data in the extent file, in sectors (flat extents). */
  offset: number;
}

export interface VmdkDescriptor {
  createType: string;
  cid: number;
  parentCid: number;
  parentFileNameHint?: string;
  extents: VmdkExtentLine[];
  ddb: Map<string, string>;
}

/** Descriptors longer than this are not descriptors. */
export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;
const MAX_EXTENTS = 4096;
const EXTENT_LINE = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(SPARSE|FLAT|ZERO|VMFS|VMFSSPARSE|VMFSRDM|VMFSRAW)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/;

/** Parse descriptor text found at byte `where` of `path`. */
export function parseVmdkDescriptor(text: string, path: string, where: number): VmdkDescriptor {
  const bad = (what: string): StorageError => new StorageError('CorruptHeader', `${path}: VMDK descriptor at offset ${where}: ${what}`);
  const fields = new Map<string, string>();
  const ddb = new Map<string, string>();
  const extents: VmdkExtentLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\0.*$/, '').trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const ext = EXTENT_LINE.exec(line);
    if (ext !== null) {
      const type = ext[3];
      if (type === 'VMFSRDM' || type === 'VMFSRAW') throw new StorageError('Unsupported', `${path}: VMDK extent type ${type} (a raw device mapping) is not supported`);
      const sectors = Number(ext[2]);
      const offset = Number(ext[5] ?? '0');
      if (!Number.isSafeInteger(sectors) || !Number.isSafeInteger(offset) || sectors > 2 ** 53 / 512) throw bad(`extent line "${line}" has sizes out of range`);
      if (type !== 'ZERO' && (ext[4] === undefined || ext[4].length === 0)) throw bad(`extent line "${line}" names no file`);
      if (extents.length >= MAX_EXTENTS) throw bad(`more than ${MAX_EXTENTS} extents`);
      extents.push({ access: ext[1] as VmdkExtentLine['access'], sectors, type: type as VmdkExtentType, fileName: ext[4] ?? '', offset });
      continue;
    }
    const kv = /^([A-Za-z0-9_.]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (kv === null) throw bad(`cannot read line "${line.slice(0, 80)}"`);
    if (kv[1].startsWith('ddb.')) ddb.set(kv[1], kv[2]);
    else fields.set(kv[1], kv[2]);
  }
  const createType = fields.get('createType');
  if (createType === undefined) throw bad('no createType');
  if (extents.length === 0) throw bad('no extents');
  const hex = (name: string, fallback: number): number => {
    const v = fields.get(name);
    if (v === undefined) return fallback;
    const n = parseInt(v, 16);
    if (!/^[0-9a-fA-F]{1,8}$/.test(v) || Number.isNaN(n)) throw bad(`${name}=${v} is not a hexadecimal CID`);
    return n;
  };
  const d: VmdkDescriptor = { createType, cid: hex('CID', 0xffff_fffe), parentCid: hex('parentCID', 0xffff_ffff), extents, ddb };
  const hint = fields.get('parentFileNameHint');
  if (hint !== undefined && hint.length > 0) d.parentFileNameHint = hint;
  return d;
}

export function serializeVmdkDescriptor(d: VmdkDescriptor): string {
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  const lines = ['# Disk DescriptorFile', 'version=1', `CID=${hex(d.cid)}`, `parentCID=${hex(d.parentCid)}`, `createType="${d.createType}"`];
  if (d.parentFileNameHint !== undefined) lines.push(`parentFileNameHint="${d.parentFileNameHint}"`);
  lines.push('', '# Extent description');
  for (const e of d.extents) lines.push(`${e.access} ${e.sectors} ${e.type}${e.type === 'ZERO' ? '' : ` "${e.fileName}"`}${e.type === 'FLAT' ? ` ${e.offset}` : ''}`);
  lines.push('', '# The Disk Data Base', '#DDB', '');
  for (const [k, v] of d.ddb) lines.push(`${k} = "${v}"`);
  return `${lines.join('\n')}\n`;
}

/** The geometry VMware records for an IDE disk: 16 heads, 63 sectors, cylinders capped at 16383. */
export function vmdkDdb(capacitySectors: number, adapterType = 'ide'): Map<string, string> {
  return new Map([
    ['ddb.virtualHWVersion', '4'],
    ['ddb.geometry.cylinders', String(Math.min(16383, Math.floor(capacitySectors / (16 * 63))))],
    ['ddb.geometry.heads', '16'],
    ['ddb.geometry.sectors', '63'],
    ['ddb.adapterType', adapterType],
  ]);
}
