import { resolve } from 'node:path';
import { kernelKind, readBootFile, VmmError, type BootSource, type MachineConfig } from '@tsvm/vmm';
import type { CliCommand, CliIo } from '../command.js';
import { parseRunArgs, type RunArgs } from './run/args.js';
import { describeExit, exitCodeOf, runSession } from './run/session.js';

const HELP = `Usage: tsvm run [options]

Runs a PC virtual machine with its serial console in the terminal. Flags follow QEMU's
(-m, -kernel, ... also work with one dash).

Boot (one of):
  --bios FILE             flat firmware image at the reset vector (top of 4 GiB and below 1 MiB)
  --kernel FILE           Linux bzImage (32-bit boot protocol) or Multiboot v1 kernel (ELF or a.out kludge)
  --initrd FILE[,FILE]    Linux: the initrd; Multiboot: modules, comma-separated ("FILE args" passes args)
  --append STRING         the kernel command line

Machine:
  -m, --memory SIZE       RAM: MiB, or with a K/M/G suffix (default 64M)
  --cpu MODEL             8086, 286, 386, 486, pentium, p6 (default p6)
  --apic                  add a local APIC and an I/O APIC
  --no-pci                no PCI host bridge (an ISA-only PC)

Host:
  --serial TARGET         COM1: stdio (default), file:PATH or none
  --debugcon TARGET       port 0xE9 debug console: stdio, file:PATH or none (default)
  --no-reboot             exit when the guest resets instead of rebooting it
  --deterministic         time from the instruction count: the same run gives the same output
  --max-instructions N    stop after N instructions (exit code 124)
  --trace[=all|insn|io|regs]
                          print each instruction and/or port access to stderr (slow); regs: each
                          instruction with the general registers and EFLAGS before it runs
  --break ADDR[,ADDR]     stop before the instruction at a linear address (0x1234, 1234h, decimal, or
                          SEG:OFF in hex) and print the registers (exit code 4)
  --break-action ACTION   stop (default), or print: report each hit on stderr and go on

On a terminal the console is raw: keys go to the guest; Ctrl-A X exits, Ctrl-A H lists the keys.

Exit code: the guest's isa-debug-exit status ((value << 1) | 1); 0 when it reset with --no-reboot,
halted or was stopped with Ctrl-A X; 124 when --max-instructions ran out; 4 at a --break stop;
1 for errors, 2 for usage.
`;

async function bootSource(args: RunArgs, cwd: string): Promise<BootSource> {
  const file = (path: string, what: string): Promise<Uint8Array> => readBootFile(resolve(cwd, path), what);
  if (args.bios !== undefined) return { kind: 'rom', image: await file(args.bios, 'BIOS image') };
  const kernelPath = args.kernel!;
  const kernel = await file(kernelPath, 'kernel');
  const kind = kernelKind(kernel);
  if (kind === 'linux') {
    const initrd = args.initrd !== undefined ? await file(args.initrd, 'initrd') : undefined;
    return { kind: 'linux', kernel, ...(initrd ? { initrd } : {}), ...(args.append !== undefined ? { cmdline: args.append } : {}) };
  }
  if (kind === 'multiboot') {
    const specs = args.initrd === undefined ? [] : args.initrd.split(',').filter((s) => s.length > 0);
    const modules = await Promise.all(
      specs.map(async (spec) => {
        const path = spec.split(' ')[0];
        return { data: await file(path, 'Multiboot module'), cmdline: spec };
      }),
    );
    return { kind: 'multiboot', kernel, modules, cmdline: args.append === undefined ? kernelPath : `${kernelPath} ${args.append}` };
  }
  throw new VmmError('InvalidImage', `kernel '${kernelPath}' is neither a Linux bzImage (no "HdrS" setup header) nor a Multiboot kernel (no Multiboot header in its first 8 KiB)`);
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseRunArgs(argv);
  const config: MachineConfig = {
    boot: await bootSource(args, io.cwd),
    time: args.deterministic ? 'deterministic' : 'realtime',
    noReboot: args.noReboot,
    apic: args.apic,
    pci: args.pci,
    ...(args.memory !== undefined ? { memory: args.memory } : {}),
    ...(args.cpu !== undefined ? { cpu: args.cpu } : {}),
  };
  const result = await runSession(
    config,
    {
      serial: args.serial,
      debugcon: args.debugcon,
      traceInstructions: args.traceInstructions,
      tracePorts: args.tracePorts,
      traceRegisters: args.traceRegisters,
      breakpoints: args.breakpoints,
      breakAction: args.breakAction,
      ...(args.maxInstructions !== undefined ? { maxInstructions: args.maxInstructions } : {}),
    },
    io,
  );
  if (result.exit.reason !== 'exit') io.stderr.write(`tsvm run: ${describeExit(result.exit)}\n`);
  return exitCodeOf(result.exit);
}

export const runCommand: CliCommand = { name: 'run', summary: 'run a virtual machine with its serial console in the terminal', help: HELP, run };
