import type { CpuModelName } from '@tsvm/cpu';
import type { MachineConfig } from '../config.js';
import { validatePolicy } from './load.js';
import type { DISK_FORMATS, PolicyDocument } from './schema.js';

/** Where a character device goes, as `tsvm run` parses `--serial` / `--debugcon`. */
export type RunCharTarget = { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' };

/** The settings of `tsvm run`'s flags (the CLI's parsed arguments have this shape). */
export interface RunFlags {
  memory?: number | undefined;
  cpu?: CpuModelName | undefined;
  kernel?: string | undefined;
  initrd?: string | undefined;
  append?: string | undefined;
  bios?: string | undefined;
  serial?: RunCharTarget;
  debugcon?: RunCharTarget;
  noReboot?: boolean;
  deterministic?: boolean;
  traceInstructions?: boolean;
  tracePorts?: boolean;
  maxInstructions?: number | undefined;
  apic?: boolean;
  pci?: boolean;
  /** IDE drives (`--hda`, `--cdrom`, ...): the id names the position (hda-hdd, cdrom); paths absolute. */
  drives?: readonly { id: string; path: string; format: (typeof DISK_FORMATS)[number]; readOnly: boolean }[] | undefined;
  /** `--boot`: QEMU's letters, c hard disk, d CD-ROM (first to last). */
  bootOrder?: string | undefined;
}

/** QEMU's `-boot` letters as `hardware.boot.order` entries (a floppy has none: it is left out). */
function bootOrderEntries(letters: string): ('disk' | 'cdrom')[] {
  return [...letters].flatMap((c) => (c === 'c' ? ['disk' as const] : c === 'd' ? ['cdrom' as const] : []));
}

/** Each `tsvm run` flag and the policy field that holds its setting. */
export const RUN_FLAG_FIELDS: Readonly<Record<keyof RunFlags, { flag: string; field: string }>> = {
  memory: { flag: '-m, --memory SIZE', field: 'hardware.memory' },
  cpu: { flag: '--cpu MODEL', field: 'hardware.cpu' },
  kernel: { flag: '--kernel FILE', field: 'hardware.boot.kernel' },
  initrd: { flag: '--initrd FILE', field: 'hardware.boot.initrd' },
  append: { flag: '--append TEXT', field: 'hardware.boot.append' },
  bios: { flag: '--bios FILE', field: 'hardware.boot.bios' },
  serial: { flag: '--serial TARGET', field: 'hardware.serial[0]' },
  debugcon: { flag: '--debugcon TARGET', field: 'hardware.debugcon' },
  noReboot: { flag: '--no-reboot', field: 'hardware.noReboot' },
  deterministic: { flag: '--deterministic', field: 'hardware.time' },
  traceInstructions: { flag: '--trace[=all|insn]', field: 'debug.traceInstructions' },
  tracePorts: { flag: '--trace[=all|io]', field: 'debug.tracePorts' },
  maxInstructions: { flag: '--max-instructions N', field: 'limits.budget.instructions' },
  apic: { flag: '--apic', field: 'hardware.apic' },
  pci: { flag: '--no-pci', field: 'hardware.pci' },
  drives: { flag: '--hda/--hdb/--hdc/--hdd/--cdrom FILE', field: 'hardware.disks' },
  bootOrder: { flag: '--boot ORDER', field: 'hardware.boot.order' },
};

function target(t: RunCharTarget | undefined, fallback: string): string {
  if (t === undefined) return fallback;
  return t.kind === 'file' ? `file:${t.path}` : t.kind;
}

/**
 * A policy with the settings of the flags a command line gives put over it (flags win: `-m 128M`
 * replaces `hardware.memory`). `--kernel` or `--bios` replace `hardware.boot` as a whole, so a
 * kernel from the command line does not inherit the policy's initrd. The result is validated again.
 * Only flags that are set (not undefined) count.
 */
export function mergeRunFlags(document: PolicyDocument, flags: RunFlags): PolicyDocument {
  const hw = { ...document.hardware };
  if (flags.memory !== undefined) hw.memory = flags.memory;
  if (flags.cpu !== undefined) hw.cpu = flags.cpu;
  if (flags.kernel !== undefined || flags.bios !== undefined) {
    hw.boot = { order: [] };
    for (const key of ['kernel', 'initrd', 'append', 'bios'] as const) if (flags[key] !== undefined) hw.boot[key] = flags[key];
  } else if (flags.initrd !== undefined || flags.append !== undefined) {
    hw.boot = { ...hw.boot, ...(flags.initrd !== undefined ? { initrd: flags.initrd } : {}), ...(flags.append !== undefined ? { append: flags.append } : {}) };
  }
  if (flags.drives !== undefined) {
    const ids = new Set(flags.drives.map((d) => d.id));
    hw.disks = [...hw.disks.filter((d) => !ids.has(d.id)), ...flags.drives];
  }
  if (flags.bootOrder !== undefined) hw.boot = { ...hw.boot, order: bootOrderEntries(flags.bootOrder) };
  if (flags.serial !== undefined) hw.serial = [target(flags.serial, 'stdio'), ...hw.serial.slice(1)];
  if (flags.debugcon !== undefined) hw.debugcon = target(flags.debugcon, 'none');
  if (flags.noReboot !== undefined) hw.noReboot = flags.noReboot;
  if (flags.deterministic !== undefined) hw.time = flags.deterministic ? 'deterministic' : 'realtime';
  if (flags.apic !== undefined) hw.apic = flags.apic;
  if (flags.pci !== undefined) hw.pci = flags.pci;
  const limits = flags.maxInstructions === undefined ? document.limits : { ...document.limits, budget: { ...document.limits.budget, instructions: flags.maxInstructions } };
  const debug = {
    traceInstructions: flags.traceInstructions ?? document.debug.traceInstructions,
    tracePorts: flags.tracePorts ?? document.debug.tracePorts,
  };
  return validatePolicy({ ...document, hardware: hw, limits, debug });
}

/** The policy document equivalent to a `tsvm run` command line (validated like any policy). */
export function policyFromRunFlags(flags: RunFlags, vmId = 'vm'): PolicyDocument {
  const boot: Record<string, string> = {};
  for (const key of ['kernel', 'initrd', 'append', 'bios'] as const) {
    const value = flags[key];
    if (value !== undefined) boot[key] = value;
  }
  return validatePolicy({
    version: 1,
    vm: { id: vmId },
    hardware: {
      ...(flags.memory !== undefined ? { memory: flags.memory } : {}),
      ...(flags.cpu !== undefined ? { cpu: flags.cpu } : {}),
      apic: flags.apic ?? false,
      pci: flags.pci ?? true,
      serial: [target(flags.serial, 'stdio')],
      debugcon: target(flags.debugcon, 'none'),
      boot: { ...boot, ...(flags.bootOrder !== undefined ? { order: bootOrderEntries(flags.bootOrder) } : {}) },
      ...(flags.drives !== undefined ? { disks: flags.drives } : {}),
      time: flags.deterministic === true ? 'deterministic' : 'realtime',
      noReboot: flags.noReboot ?? false,
    },
    limits: { budget: flags.maxInstructions !== undefined ? { instructions: flags.maxInstructions } : {} },
    debug: { traceInstructions: flags.traceInstructions ?? false, tracePorts: flags.tracePorts ?? false },
  });
}

/** The machine settings a policy holds; the boot source is bytes the host reads from the policy's paths. */
export function machineConfigOf(document: PolicyDocument, boot: MachineConfig['boot']): MachineConfig {
  const hw = document.hardware;
  return {
    memory: hw.memory,
    cpu: hw.cpu,
    boot,
    serialPorts: hw.serial.length,
    pci: hw.pci,
    apic: hw.apic,
    time: hw.time,
    noReboot: hw.noReboot,
  };
}
