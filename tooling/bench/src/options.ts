import { BenchError } from './errors.js';

export const PEER_NAMES = ['tsvm', 'v86', 'v86-nojit', 'qemu'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/**
 * The kernel command line all peers boot with. It boots on each of the three PCs (QEMU's i440FX with
 * ACPI, v86's SeaBIOS PC, tsvm's PCI PC without firmware); `cryptomgr.notests` skips the crypto
 * self-tests, which would otherwise be most of the boot.
 */
export const DEFAULT_APPEND = 'console=ttyS0 cryptomgr.notests';

export interface LinuxBootOptions {
  peers: PeerName[];
  /** The kernel command line, with `tsvm.mode=bench` added when it names no mode. */
  append: string;
  kernel: string | undefined;
  initrd: string | undefined;
  bios: string | undefined;
  memoryMiB: number;
  runs: number;
  /** Wall-clock limit of one v86 or QEMU run, seconds. */
  timeout: number;
  /** Wall-clock limit of one tsvm run, seconds. */
  tsvmTimeout: number;
  /** Instruction limit of one tsvm run. */
  tsvmMaxInstructions: number;
  tsvmTime: 'deterministic' | 'realtime';
  tsvmCpu: string;
  /** Run QEMU a second time under -icount to count its instructions. */
  qemuIcount: boolean;
  json: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: pnpm --filter @tsvm/bench linux-boot [options]

Boots the Debian i386 Linux guest (guests/linux/out) on tsvm, v86 and QEMU (TCG) in one run and
prints, for each, the time to the init marker and to the end of the guest's job, the guest
instructions to each, MIPS, and tsvm's time as a ratio of v86's and QEMU's.

  --peers LIST               comma-separated, from tsvm, v86, v86-nojit, qemu (default tsvm,v86,qemu)
  --append STRING            kernel command line for all peers (default "${DEFAULT_APPEND}");
                             tsvm.mode=bench is added unless the line sets tsvm.mode
  --kernel FILE              bzImage (default guests/linux/out/vmlinuz)
  --initrd FILE              initramfs (default guests/linux/out/initramfs.cpio.gz)
  --bios FILE                SeaBIOS bios.bin (128 KiB) for v86 (default: the one fetch-bios unpacks)
  --memory MIB               guest RAM for every peer (default 128; v86 loads the initrd at 64 MiB)
  --runs N                   repetitions of every peer; the table shows medians (default 1)
  --timeout SECONDS          wall-clock limit of one v86 or QEMU run (default 300)
  --tsvm-timeout SECONDS     wall-clock limit of one tsvm run (default 600)
  --tsvm-max-instructions N  instruction limit of one tsvm run, K/M/G suffixes (default 20G)
  --tsvm-time MODE           deterministic (default: time from the instruction count) or realtime
  --tsvm-cpu MODEL           tsvm's CPU model (default p6)
  --no-qemu-icount           skip QEMU's second run under -icount (its instruction counts become n/a)
  --json FILE                also write every run and the summary as JSON
  -h, --help                 this text
`;

function usage(message: string): never {
  throw new BenchError('Usage', `${message}\n\n${USAGE}`);
}

/** "20G", "2.5g", "300M", "1000" → a number. */
export function parseCount(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  if (m === null) usage(`${flag}: expected a number with an optional K, M or G suffix, got ${JSON.stringify(text)}`);
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * scale);
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) usage(`${flag}: expected a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** Adds `tsvm.mode=bench` (the guest's /init runs the job and prints both markers) unless a mode is set. */
export function withBenchMode(append: string): string {
  return /(^|\s)tsvm\.mode=/.test(append) ? append.trim() : `${append.trim()} tsvm.mode=bench`.trim();
}

export function parseOptions(argv: readonly string[]): LinuxBootOptions {
  const o: LinuxBootOptions = {
    peers: ['tsvm', 'v86', 'qemu'],
    append: DEFAULT_APPEND,
    kernel: undefined,
    initrd: undefined,
    bios: undefined,
    memoryMiB: 128,
    runs: 1,
    timeout: 300,
    tsvmTimeout: 600,
    tsvmMaxInstructions: 20e9,
    tsvmTime: 'deterministic',
    tsvmCpu: 'p6',
    qemuIcount: true,
    json: undefined,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '-h' || arg === '--help') {
      o.help = true;
      continue;
    }
    if (arg === '--no-qemu-icount') {
      o.qemuIcount = false;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--peers': {
        const names = value().split(',').map((s) => s.trim()).filter((s) => s !== '');
        for (const n of names) if (!(PEER_NAMES as readonly string[]).includes(n)) usage(`--peers: unknown peer ${JSON.stringify(n)}`);
        if (names.length === 0) usage('--peers: name at least one peer');
        o.peers = [...new Set(names as PeerName[])];
        break;
      }
      case '--append':
        o.append = value();
        break;
      case '--kernel':
        o.kernel = value();
        break;
      case '--initrd':
        o.initrd = value();
        break;
      case '--bios':
        o.bios = value();
        break;
      case '--memory': {
        const mib = positive(value(), flag);
        if (!Number.isInteger(mib) || mib < 16 || mib > 3584) usage(`--memory: expected whole MiB, 16-3584, got ${mib}`);
        o.memoryMiB = mib;
        break;
      }
      case '--runs': {
        const n = positive(value(), flag);
        if (!Number.isInteger(n)) usage(`--runs: expected a whole number, got ${n}`);
        o.runs = n;
        break;
      }
      case '--timeout':
        o.timeout = positive(value(), flag);
        break;
      case '--tsvm-timeout':
        o.tsvmTimeout = positive(value(), flag);
        break;
      case '--tsvm-max-instructions':
        o.tsvmMaxInstructions = parseCount(value(), flag);
        break;
      case '--tsvm-time': {
        const v = value();
        if (v !== 'deterministic' && v !== 'realtime') usage(`--tsvm-time: expected deterministic or realtime, got ${JSON.stringify(v)}`);
        o.tsvmTime = v;
        break;
      }
      case '--tsvm-cpu':
        o.tsvmCpu = value();
        break;
      case '--json':
        o.json = value();
        break;
      default:
        usage(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  o.append = withBenchMode(o.append);
  return o;
}
