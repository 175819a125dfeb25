import { isAbsolute, resolve } from 'node:path';
import { kernelKind, readBootFile } from '../boot-files.js';
import type { BootSource, MachineConfig } from '../config.js';
import { openDrives } from '../disks/open-drives.js';
import { VmmError } from '../errors.js';
import { defaultBiosPath, defaultVgaBiosPath, SEABIOS_DIR } from '../firmware/default-bios.js';
import { Machine, type MachineOptions } from '../machine.js';
import { compilePolicy } from './compiled-policy.js';
import { DECIDE_TRAP } from './decision.js';
import { machineConfigOf } from './run-flags.js';
import type { PolicyDocument } from './schema.js';

/** What `machineFromPolicy` gives: the machine's configuration and options, and what it left out. */
export interface PolicyMachine {
  config: MachineConfig;
  options: MachineOptions & { policy: PolicyDocument };
  /** Devices and disks of `hardware` a `device.attach` rule denied (left out of the machine). */
  denied: string[];
}

function fail(field: string, problem: string): never {
  throw new VmmError('InvalidConfig', `policy '${field}': ${problem}`);
}

/**
 * The boot source `hardware.boot` names, its files read relative to `baseDir` (the policy file's
 * directory). A kernel is a Linux bzImage or a Multiboot kernel, told apart by content; for a
 * Multiboot kernel `initrd` lists modules, comma-separated, each `FILE args`.
 */
export async function bootSourceOf(document: PolicyDocument, baseDir: string): Promise<BootSource> {
  const boot = document.hardware.boot;
  const file = (path: string, what: string): Promise<Uint8Array> => readBootFile(isAbsolute(path) ? path : resolve(baseDir, path), what);
  if (boot.bios !== undefined) return { kind: 'rom', image: await file(boot.bios, 'BIOS image') };
  if (boot.kernel === undefined) {
    // Booting from a disk: the firmware does it (Debian's SeaBIOS unless boot.bios names one).
    if (document.hardware.disks.length > 0) return { kind: 'rom', image: await file(defaultBiosPath(document.hardware.pci), 'BIOS image') };
    fail('hardware.boot', 'nothing to boot: give boot.kernel, boot.bios or a disk (hda-hdd, cdrom)');
  }
  const kernel = await file(boot.kernel, 'kernel');
  const kind = kernelKind(kernel);
  if (kind === 'linux') {
    const initrd = boot.initrd !== undefined ? await file(boot.initrd, 'initrd') : undefined;
    return { kind: 'linux', kernel, ...(initrd ? { initrd } : {}), ...(boot.append !== undefined ? { cmdline: boot.append } : {}) };
  }
  if (kind === 'multiboot') {
    const specs = boot.initrd === undefined ? [] : boot.initrd.split(',').filter((s) => s.length > 0);
    const modules = await Promise.all(specs.map(async (spec) => ({ data: await file(spec.split(' ')[0], 'Multiboot module'), cmdline: spec })));
    return { kind: 'multiboot', kernel, modules, cmdline: boot.append === undefined ? boot.kernel : `${boot.kernel} ${boot.append}` };
  }
  throw new VmmError('InvalidImage', `kernel '${boot.kernel}' is neither a Linux bzImage (no "HdrS" setup header) nor a Multiboot kernel (no Multiboot header in its first 8 KiB)`);
}

/** `hardware.boot.order` as QEMU's -boot letters (c hard disk, d CD-ROM); hard disk, CD-ROM when empty. */
function bootOrderOf(document: PolicyDocument): string {
  const letters = document.hardware.boot.order.map((d) => (d === 'disk' ? 'c' : d === 'cdrom' ? 'd' : '')).join('');
  const unique = [...new Set(letters)].join('');
  return unique.length > 0 ? unique : 'cad';
}

/**
 * Turns a validated policy into what `new Machine(config, options)` takes. Devices and disks in
 * `hardware` are checked against the `device.attach` rules first: a denied one is left out (and
 * listed in `denied`); an allowed one this machine has no model for is refused with an error naming
 * it, rather than silently missing.
 */
export async function machineFromPolicy(document: PolicyDocument, baseDir: string): Promise<PolicyMachine> {
  const compiled = compilePolicy(document);
  const denied: string[] = [];
  const wanted = [
    ...document.hardware.devices.map((d, i) => ({ id: d.id, field: `hardware.devices[${i}]`, what: `a ${d.kind} device` })),
    ...document.hardware.disks.map((d, i) => ({ id: d.id, field: `hardware.disks[${i}]`, what: 'a disk' })),
  ];
  for (const w of wanted) {
    if (compiled.decideDevice(w.id).decision >= DECIDE_TRAP) {
      denied.push(w.id);
      continue;
    }
    if (w.what !== 'a disk') fail(w.field, `${w.what} (${w.id}) cannot be attached yet: the PC board has no extra device models wired in`);
  }
  if (document.hardware.boot.kernel !== undefined && document.hardware.disks.some((d) => !denied.includes(d.id))) {
    fail('hardware.disks', 'disks are reached through the firmware: boot with a BIOS (boot.bios, or none to use SeaBIOS), not a kernel');
  }
  const boot = await bootSourceOf(document, baseDir);
  const allowed = new Set(document.hardware.disks.map((d) => d.id).filter((id) => !denied.includes(id)));
  const drives = await openDrives(document, baseDir, allowed);
  // With Debian's SeaBIOS (chosen here, or a boot.bios from its directory) the screen comes with it:
  // an ISA VGA with SeaVGABIOS from the same package.
  const bios = document.hardware.boot.bios;
  const debianFirmware = bios === undefined || resolve(baseDir, bios).startsWith(`${SEABIOS_DIR}/`);
  const vgaPath = debianFirmware && boot.kind === 'rom' ? defaultVgaBiosPath() : undefined;
  const vgaBios = vgaPath === undefined ? undefined : await readBootFile(vgaPath, 'VGA BIOS image');
  const config = { ...machineConfigOf(document, boot), drives, bootOrder: bootOrderOf(document), ...(vgaBios !== undefined ? { vgaBios } : {}) };
  return { config, options: { policy: document }, denied };
}

/**
 * A machine built from a policy (`machineFromPolicy`), with `extra` options (traces, a snapshot
 * sink). The devices and disks the policy's rules kept out are recorded as `denied` events.
 */
export async function createPolicyMachine(document: PolicyDocument, baseDir: string, extra: Omit<MachineOptions, 'policy' | 'wrapPorts'> = {}): Promise<Machine> {
  const { config, options, denied } = await machineFromPolicy(document, baseDir);
  const machine = new Machine(config, { ...extra, ...options });
  for (const id of denied) machine.policy?.attachDevice(id);
  return machine;
}
