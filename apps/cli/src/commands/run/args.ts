import { CPU_MODEL_NAMES, type CpuModelName } from '@tsvm/cpu';
import { CliError } from '../../errors.js';
import { BREAK_ACTIONS, parseBreakAddress, type BreakAction } from './debug-output.js';

/** Where a character device (serial port, debug console) goes. */
export type CharTarget = { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' };

export interface RunArgs {
  memory: number | undefined;
  cpu: CpuModelName | undefined;
  kernel: string | undefined;
  initrd: string | undefined;
  append: string | undefined;
  bios: string | undefined;
  /** IDE drives by QEMU's names: hard disk images at hda-hdd, a CD-ROM image (hdc). */
  hda: string | undefined;
  hdb: string | undefined;
  hdc: string | undefined;
  hdd: string | undefined;
  cdrom: string | undefined;
  /** `--boot`: QEMU's letters, c hard disk, d CD-ROM. */
  bootOrder: string | undefined;
  /** `--display`: none, or text (the VGA text screen printed to stdout when the run ends). */
  display: 'none' | 'text';
  serial: CharTarget;
  debugcon: CharTarget;
  noReboot: boolean;
  deterministic: boolean;
  traceInstructions: boolean;
  tracePorts: boolean;
  maxInstructions: number | undefined;
  apic: boolean;
  pci: boolean;
  /** `--break`: linear addresses to stop at. */
  breakpoints: number[];
  /** `--break-action`: stop at a breakpoint (default) or print and go on. */
  breakAction: BreakAction;
  /** `--trace=regs`: instructions with the general registers and EFLAGS. */
  traceRegisters: boolean;
  /** A policy file (YAML or JSON) describing the VM; the other machine flags override its fields. */
  policy: string | undefined;
  /** Print every event (JSON, one a line) to stderr. */
  events: boolean;
  /** Save a snapshot of the machine to this file when the run ends. */
  snapshotOnExit: string | undefined;
  /** Start from this snapshot file instead of booting. */
  restore: string | undefined;
  /** The machine flags given on the command line (by field), which override a policy's fields. */
  given: Set<keyof RunArgs>;
}

/** The drive flags, by the policy disk id each becomes. */
export const DRIVE_FIELDS = ['hda', 'hdb', 'hdc', 'hdd', 'cdrom'] as const;

/** Flags that take a value, by every name they answer to (QEMU spells them with one dash). */
const VALUE_FLAGS: Record<string, keyof RunArgs> = {
  m: 'memory',
  memory: 'memory',
  cpu: 'cpu',
  kernel: 'kernel',
  initrd: 'initrd',
  append: 'append',
  bios: 'bios',
  hda: 'hda',
  hdb: 'hdb',
  hdc: 'hdc',
  hdd: 'hdd',
  cdrom: 'cdrom',
  boot: 'bootOrder',
  display: 'display',
  serial: 'serial',
  debugcon: 'debugcon',
  'max-instructions': 'maxInstructions',
  break: 'breakpoints',
  'break-action': 'breakAction',
  policy: 'policy',
  'snapshot-on-exit': 'snapshotOnExit',
  restore: 'restore',
};
const BOOLEAN_FLAGS: Record<string, (a: RunArgs) => void> = {
  'no-reboot': (a) => {
    a.noReboot = true;
    a.given.add('noReboot');
  },
  deterministic: (a) => {
    a.deterministic = true;
    a.given.add('deterministic');
  },
  apic: (a) => {
    a.apic = true;
    a.given.add('apic');
  },
  'no-pci': (a) => {
    a.pci = false;
    a.given.add('pci');
  },
  events: (a) => {
    a.events = true;
  },
};
const TRACE_KINDS = ['all', 'insn', 'io', 'regs'] as const;

/** Flags about the host side of a run (where output goes, how long), which go with --restore too. */
const HOST_FIELDS = new Set<keyof RunArgs>(['display', 'serial', 'debugcon', 'maxInstructions', 'traceInstructions', 'tracePorts', 'snapshotOnExit', 'restore', 'breakpoints', 'breakAction']);

function flagName(field: keyof RunArgs): string {
  return Object.entries(VALUE_FLAGS).find(([name, f]) => f === field && name.length > 1)?.[0] ?? field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** QEMU's -m: a number of MiB, or a number with a K/M/G suffix. */
export function parseMemory(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?)?$/i.exec(text.trim());
  if (m === null) throw new CliError('Usage', `-m/--memory: '${text}' is not a size (e.g. 64, 64M, 1G)`);
  const unit = (m[2] ?? 'M')[0].toUpperCase();
  const bytes = Math.round(Number(m[1]) * (unit === 'K' ? 1024 : unit === 'G' ? 1 << 30 : 1 << 20));
  if (bytes % 4096 !== 0) throw new CliError('Usage', `-m/--memory: ${text} is not a multiple of 4 KiB`);
  return bytes;
}

/** `stdio`, `file:PATH`, or `none` (QEMU's -serial syntax, the subset tsvm supports). */
export function parseCharTarget(text: string, flag: string): CharTarget {
  if (text === 'stdio') return { kind: 'stdio' };
  if (text === 'none' || text === 'null') return { kind: 'none' };
  if (text.startsWith('file:') && text.length > 5) return { kind: 'file', path: text.slice(5) };
  throw new CliError('Usage', `--${flag}: '${text}' is not one of stdio, file:PATH, none`);
}

/** Parses `tsvm run`'s arguments; every problem is a `CliError('Usage')` naming the flag. */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const a: RunArgs = {
    memory: undefined,
    cpu: undefined,
    kernel: undefined,
    initrd: undefined,
    append: undefined,
    bios: undefined,
    hda: undefined,
    hdb: undefined,
    hdc: undefined,
    hdd: undefined,
    cdrom: undefined,
    bootOrder: undefined,
    display: 'none',
    serial: { kind: 'stdio' },
    debugcon: { kind: 'none' },
    noReboot: false,
    deterministic: false,
    traceInstructions: false,
    tracePorts: false,
    maxInstructions: undefined,
    apic: false,
    pci: true,
    breakpoints: [],
    breakAction: 'stop',
    traceRegisters: false,
    policy: undefined,
    events: false,
    snapshotOnExit: undefined,
    restore: undefined,
    given: new Set(),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (m === null) throw new CliError('Usage', `unexpected argument '${arg}' (tsvm run takes only flags)`);
    const name = m[1];
    let inline = m[2];
    if (name === 'trace') {
      const kind = inline ?? 'all';
      if (!(TRACE_KINDS as readonly string[]).includes(kind)) throw new CliError('Usage', `--trace=${kind}: expected one of ${TRACE_KINDS.join(', ')}`);
      if (kind !== 'io') a.traceInstructions = true;
      if (kind === 'all' || kind === 'io') a.tracePorts = true;
      if (kind === 'regs') a.traceRegisters = true;
      a.given.add('traceInstructions').add('tracePorts');
      continue;
    }
    const setFlag = BOOLEAN_FLAGS[name];
    if (setFlag !== undefined) {
      if (inline !== undefined) throw new CliError('Usage', `--${name} takes no value`);
      setFlag(a);
      continue;
    }
    const field = VALUE_FLAGS[name];
    if (field === undefined) throw new CliError('Usage', `unknown flag '${arg}'`);
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new CliError('Usage', `${arg} needs a value`);
    }
    const value = inline;
    a.given.add(field);
    switch (field) {
      case 'memory':
        a.memory = parseMemory(value);
        break;
      case 'cpu':
        if (!(CPU_MODEL_NAMES as readonly string[]).includes(value)) {
          throw new CliError('Usage', `--cpu: unknown model '${value}'; known: ${CPU_MODEL_NAMES.join(', ')}`);
        }
        a.cpu = value as CpuModelName;
        break;
      case 'serial':
      case 'debugcon':
        a[field] = parseCharTarget(value, field);
        break;
      case 'breakpoints':
        for (const part of value.split(',')) a.breakpoints.push(parseBreakAddress(part));
        break;
      case 'breakAction':
        if (!(BREAK_ACTIONS as readonly string[]).includes(value)) throw new CliError('Usage', `--break-action: expected one of ${BREAK_ACTIONS.join(', ')}, got '${value}'`);
        a.breakAction = value as BreakAction;
        break;
      case 'display':
        if (value !== 'none' && value !== 'text') throw new CliError('Usage', `--display: '${value}' is not one of none, text`);
        a.display = value;
        break;
      case 'bootOrder': {
        const order = value.startsWith('order=') ? value.slice(6) : value;
        if (!/^[acd]{1,3}$/.test(order) || new Set(order).size !== order.length) {
          throw new CliError('Usage', `--boot: '${value}' is not up to three different letters of c (hard disk), d (CD-ROM), a (floppy)`);
        }
        a.bootOrder = order;
        break;
      }
      case 'maxInstructions': {
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n <= 0) throw new CliError('Usage', `--max-instructions: '${value}' is not a positive integer`);
        a.maxInstructions = n;
        break;
      }
      default:
        if (value === '' && field !== 'append') throw new CliError('Usage', `${arg} needs a non-empty value`);
        (a as unknown as Record<string, string>)[field] = value;
    }
  }
  if (a.restore !== undefined) {
    const machineFlags = [...a.given].filter((f) => !HOST_FIELDS.has(f));
    if (machineFlags.length > 0 || a.policy !== undefined) {
      throw new CliError('Usage', `--restore takes the machine and its policy from the snapshot; it cannot be combined with ${[...machineFlags.map((f) => `--${flagName(f)}`), ...(a.policy !== undefined ? ['--policy'] : [])].join(', ')}`);
    }
  } else if (a.kernel === undefined && a.bios === undefined && a.policy === undefined && DRIVE_FIELDS.every((f) => a[f] === undefined)) {
    throw new CliError('Usage', 'nothing to boot: give --kernel FILE, --bios FILE, --hda FILE, --cdrom FILE, --policy FILE or --restore FILE');
  }
  if (a.kernel !== undefined && a.bios !== undefined) throw new CliError('Usage', '--kernel boots without firmware; it cannot be combined with --bios');
  if (a.policy === undefined && a.kernel === undefined && (a.initrd !== undefined || a.append !== undefined)) throw new CliError('Usage', '--initrd and --append need --kernel');
  if (a.serial.kind === 'stdio' && a.debugcon.kind === 'stdio') throw new CliError('Usage', 'only one of --serial and --debugcon can use stdio');
  return a;
}
