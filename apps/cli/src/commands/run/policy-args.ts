import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { openImage } from '@tsvm/storage';
import { DISK_FORMATS, mergeRunFlags, parsePolicy, policyFromRunFlags, VmmError, type PolicyDocument, type RunFlags } from '@tsvm/vmm';
import { CliError } from '../../errors.js';
import { DRIVE_FIELDS, type RunArgs } from './args.js';

/** The machine flags the command line gave, as policy settings; paths made absolute against `cwd`. */
export function givenFlags(args: RunArgs, cwd: string): RunFlags {
  const flags: Record<string, unknown> = {};
  for (const field of args.given) {
    if ((DRIVE_FIELDS as readonly string[]).includes(field) || field === 'display') continue;
    const value = args[field];
    flags[field] = (field === 'kernel' || field === 'bios') && typeof value === 'string' ? resolve(cwd, value) : value;
  }
  // Multiboot modules ("FILE args,FILE2") and the initrd are paths too.
  if (args.given.has('initrd') && args.initrd !== undefined) {
    flags.initrd = args.initrd
      .split(',')
      .map((spec) => {
        const [file, ...rest] = spec.split(' ');
        return file === '' ? spec : [resolve(cwd, file), ...rest].join(' ');
      })
      .join(',');
  }
  return flags;
}

/**
 * The drive flags as policy disks, each image's format detected from its content (as QEMU does without
 * `format=`); a CD-ROM image is read-only. An image that cannot be opened is an error naming it.
 */
async function driveFlags(args: RunArgs, cwd: string): Promise<RunFlags['drives']> {
  const drives: { id: string; path: string; format: (typeof DISK_FORMATS)[number]; readOnly: boolean }[] = [];
  if (args.cdrom !== undefined && args.hdc !== undefined) throw new CliError('Usage', '--cdrom is the drive at hdc: give --cdrom or --hdc, not both');
  for (const id of DRIVE_FIELDS) {
    const file = args[id];
    if (file === undefined) continue;
    const path = resolve(cwd, file);
    const image = await openImage(path, { readOnly: true });
    const format = image.format;
    await image.close();
    if (!(DISK_FORMATS as readonly string[]).includes(format)) throw new CliError('Usage', `--${id}: '${file}' is a ${format} image, which cannot be attached`);
    drives.push({ id, path, format: format as (typeof DISK_FORMATS)[number], readOnly: id === 'cdrom' });
  }
  return drives.length > 0 ? drives : undefined;
}

/** A policy file's text, read with an error that names it; YAML unless it ends in `.json`. */
async function readPolicyFile(path: string): Promise<PolicyDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new VmmError('FileUnreadable', `policy file '${path}' ${code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`, { cause });
  }
  return parsePolicy(text, extname(path).toLowerCase() === '.json' ? 'json' : 'yaml', `policy file '${path}'`);
}

/**
 * The policy a `tsvm run` command line means, and the directory its relative paths are taken from:
 * with `--policy FILE`, the file with the machine flags given on the command line put over it
 * (flags win; `--kernel`/`--bios` replace `hardware.boot`); without, the policy the flags alone mean.
 */
export async function runPolicy(args: RunArgs, cwd: string): Promise<{ document: PolicyDocument; baseDir: string }> {
  const flags = givenFlags(args, cwd);
  const drives = await driveFlags(args, cwd);
  if (drives !== undefined) flags.drives = drives;
  if (args.policy === undefined) return { document: policyFromRunFlags(flags), baseDir: cwd };
  const path = resolve(cwd, args.policy);
  return { document: mergeRunFlags(await readPolicyFile(path), flags), baseDir: dirname(path) };
}
