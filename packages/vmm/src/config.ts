import { CPU_MODEL_NAMES, type CpuModelName } from '@tsvm/cpu';
import { MAX_RAM_SIZE, PAGE_SIZE } from '@tsvm/mmu';
import { IDE_SLOTS, type IdeDrive } from './disks/attach-ide.js';
import { VmmError } from './errors.js';

/** What the machine boots. Images are the bytes of the files; loaders validate them as untrusted input. */
export type BootSource =
  /** A flat firmware image mapped at the top of 4 GiB and (its last 128 KiB) below 1 MiB. */
  | { kind: 'rom'; image: Uint8Array }
  /** A Linux bzImage entered through the 32-bit boot protocol. */
  | { kind: 'linux'; kernel: Uint8Array; initrd?: Uint8Array; cmdline?: string }
  /** A Multiboot v1 kernel (ELF or a.out kludge) with optional modules. */
  | { kind: 'multiboot'; kernel: Uint8Array; cmdline?: string; modules?: readonly MultibootModule[] };

export interface MultibootModule {
  data: Uint8Array;
  /** The module's string in the info structure (GRUB passes its path and arguments). */
  cmdline?: string;
}

/** The description of a machine. Every field but `boot` has a default. */
export interface MachineConfig {
  /** RAM in bytes, a multiple of 4 KiB, 1 MiB to 3.5 GiB. Default 64 MiB. */
  memory?: number;
  /** CPU model; default `p6`. */
  cpu?: CpuModelName;
  boot: BootSource;
  /** COM1..COMn are present (0-4). Default 1. */
  serialPorts?: number;
  /** PCI host bridge (i440FX) and PIIX3 ISA bridge at 0xCF8. Default true. */
  pci?: boolean;
  /** Local APIC at 0xFEE00000 and I/O APIC at 0xFEC00000. Default false. */
  apic?: boolean;
  /** `deterministic`: time from the instruction count; `realtime`: time from the host clock. Default realtime. */
  time?: 'deterministic' | 'realtime';
  /** Virtual ns per instruction in deterministic mode. Default 1. */
  nsPerInstruction?: number;
  /** On a guest reset, stop the machine instead of rebooting it (QEMU's -no-reboot). Default false. */
  noReboot?: boolean;
  /** The RTC's date at power-on, Unix seconds. Default: the host's time in realtime mode, 2000-01-01 in deterministic mode. */
  rtcStart?: number;
  /** Drives on the IDE channels (hda-hdd), for firmware boots. Default none (no IDE controller). */
  drives?: readonly IdeDrive[];
  /** Devices the firmware tries in order, QEMU's `-boot` letters: a floppy, c hard disk, d CD-ROM. Default "cad". */
  bootOrder?: string;
  /** An ISA VGA with this video BIOS (SeaVGABIOS `vgabios-isavga.bin`), for firmware boots. Default none. */
  vgaBios?: Uint8Array;
}

/** A configuration with every default filled in, as the machine uses it. */
export interface ResolvedMachineConfig {
  memory: number;
  cpu: CpuModelName;
  boot: BootSource;
  serialPorts: number;
  pci: boolean;
  apic: boolean;
  time: 'deterministic' | 'realtime';
  nsPerInstruction: number;
  noReboot: boolean;
  rtcStart: number;
  drives: readonly IdeDrive[];
  bootOrder: string;
  vgaBios: Uint8Array | undefined;
}

export const DEFAULT_MEMORY = 64 << 20;
export const MIN_MEMORY = 1 << 20;
/** 2000-01-01T00:00:00Z, the RTC's start date in deterministic mode. */
const DETERMINISTIC_RTC_START = 946_684_800;

function invalid(field: string, problem: string): never {
  throw new VmmError('InvalidConfig', `machine config '${field}': ${problem}`);
}

function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(field, `must be true or false, got ${typeof value}`);
  return value;
}

function bytesField(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) invalid(field, 'must be a Uint8Array with the image bytes');
  if (value.length === 0) invalid(field, 'is empty');
  return value;
}

function stringField(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') invalid(field, `must be a string, got ${typeof value}`);
  return value;
}

function resolveBoot(boot: unknown): BootSource {
  if (typeof boot !== 'object' || boot === null) invalid('boot', 'is required: { kind: "rom" | "linux" | "multiboot", ... }');
  const b = boot as Record<string, unknown>;
  switch (b.kind) {
    case 'rom':
      return { kind: 'rom', image: bytesField(b.image, 'boot.image') };
    case 'linux': {
      const initrd = b.initrd === undefined ? undefined : bytesField(b.initrd, 'boot.initrd');
      const cmdline = stringField(b.cmdline, 'boot.cmdline');
      return { kind: 'linux', kernel: bytesField(b.kernel, 'boot.kernel'), ...(initrd ? { initrd } : {}), ...(cmdline !== undefined ? { cmdline } : {}) };
    }
    case 'multiboot': {
      const cmdline = stringField(b.cmdline, 'boot.cmdline');
      const mods = b.modules === undefined ? [] : b.modules;
      if (!Array.isArray(mods)) invalid('boot.modules', 'must be an array');
      const modules = mods.map((m: unknown, i) => {
        if (typeof m !== 'object' || m === null) invalid(`boot.modules[${i}]`, 'must be { data, cmdline? }');
        const r = m as Record<string, unknown>;
        const line = stringField(r.cmdline, `boot.modules[${i}].cmdline`);
        return { data: bytesField(r.data, `boot.modules[${i}].data`), ...(line !== undefined ? { cmdline: line } : {}) };
      });
      return { kind: 'multiboot', kernel: bytesField(b.kernel, 'boot.kernel'), modules, ...(cmdline !== undefined ? { cmdline } : {}) };
    }
    default:
      return invalid('boot.kind', `must be "rom", "linux" or "multiboot", got ${JSON.stringify(b.kind)}`);
  }
}

/** Validates a configuration (from code, a CLI or a policy file) and fills in the defaults. */
export function resolveConfig(input: MachineConfig): ResolvedMachineConfig {
  if (typeof input !== 'object' || input === null) invalid('(root)', 'must be an object');
  const memory = input.memory ?? DEFAULT_MEMORY;
  if (typeof memory !== 'number' || !Number.isInteger(memory)) invalid('memory', `must be an integer number of bytes, got ${String(memory)}`);
  if (memory < MIN_MEMORY || memory > MAX_RAM_SIZE) {
    invalid('memory', `${memory} bytes is outside ${MIN_MEMORY} (1 MiB) .. ${MAX_RAM_SIZE} (3.5 GiB)`);
  }
  if (memory % PAGE_SIZE !== 0) invalid('memory', `${memory} bytes is not a multiple of 4 KiB`);
  const cpu = input.cpu ?? 'p6';
  if (!CPU_MODEL_NAMES.includes(cpu)) invalid('cpu', `unknown model ${JSON.stringify(cpu)}; known: ${CPU_MODEL_NAMES.join(', ')}`);
  const serialPorts = input.serialPorts ?? 1;
  if (!Number.isInteger(serialPorts) || serialPorts < 0 || serialPorts > 4) invalid('serialPorts', `must be 0-4, got ${String(serialPorts)}`);
  const time = input.time ?? 'realtime';
  if (time !== 'deterministic' && time !== 'realtime') invalid('time', `must be "deterministic" or "realtime", got ${JSON.stringify(time)}`);
  const nsPerInstruction = input.nsPerInstruction ?? 1;
  if (typeof nsPerInstruction !== 'number' || !Number.isInteger(nsPerInstruction) || nsPerInstruction < 1 || nsPerInstruction > 1000) {
    invalid('nsPerInstruction', `must be an integer 1-1000, got ${String(nsPerInstruction)}`);
  }
  const rtcStart = input.rtcStart ?? (time === 'deterministic' ? DETERMINISTIC_RTC_START : Math.floor(Date.now() / 1000));
  if ((typeof rtcStart !== 'number' || !Number.isFinite(rtcStart) || rtcStart < 0)) {
    invalid('rtcStart', `must be a non-negative number of Unix seconds, got ${String(rtcStart)}`);
  }
  const apic = bool(input.apic, 'apic', false);
  const cpuGeneration = CPU_MODEL_NAMES.indexOf(cpu);
  // The local APIC arrived with the P54C; an APIC on an older model has no MSR to find it by.
  if (apic && cpuGeneration < CPU_MODEL_NAMES.indexOf('pentium')) invalid('apic', `the ${cpu} has no local APIC`);
  const drives = input.drives ?? [];
  if (!Array.isArray(drives)) invalid('drives', 'must be an array of { slot, media, device }');
  drives.forEach((d: IdeDrive, i) => {
    if (!IDE_SLOTS.includes(d.slot)) invalid(`drives[${i}].slot`, `must be one of ${IDE_SLOTS.join(', ')}, got ${JSON.stringify(d.slot)}`);
    if (d.media !== 'disk' && d.media !== 'cdrom') invalid(`drives[${i}].media`, `must be "disk" or "cdrom", got ${JSON.stringify(d.media)}`);
    if (d.media === 'disk' && d.device === undefined) invalid(`drives[${i}].device`, 'a hard disk needs an image');
  });
  const bootOrder = input.bootOrder ?? 'cad';
  if (typeof bootOrder !== 'string' || !/^[acd]{1,3}$/.test(bootOrder) || new Set(bootOrder).size !== bootOrder.length) {
    invalid('bootOrder', `must be up to three different letters of a (floppy), c (hard disk), d (CD-ROM), got ${JSON.stringify(bootOrder)}`);
  }
  const vgaBios = input.vgaBios === undefined ? undefined : bytesField(input.vgaBios, 'vgaBios');
  return {
    drives,
    bootOrder,
    vgaBios,
    memory,
    cpu,
    boot: resolveBoot(input.boot),
    serialPorts,
    pci: bool(input.pci, 'pci', true),
    apic,
    time,
    nsPerInstruction,
    noReboot: bool(input.noReboot, 'noReboot', false),
    rtcStart,
  };
}
