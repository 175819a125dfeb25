import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createPolicyMachine, Machine, parseSnapshot, policyFromRunFlags, validatePolicy, VmmError, type MachineOptions, type PolicyDocument, type VmEvent } from '@tsvm/vmm';
import type { CliCommand, CliIo } from '../command.js';
import { CliError } from '../errors.js';
import { parseCharTarget, parseRunArgs } from './run/args.js';
import { runPolicy } from './run/policy-args.js';
import { textScreen } from './run/screen-dump.js';
import { describeExit, exitCodeOf, runSession } from './run/session.js';

const HELP = `Usage: tsvm run [options]

Runs a PC virtual machine with its serial console in the terminal. Flags follow QEMU's
(-m, -kernel, ... also work with one dash).

Policy and snapshots:
  --policy FILE           run the VM a policy file (YAML, or JSON by its .json name) describes: hardware,
                          limits, access rules, event actions. Its relative paths are relative to the
                          file. The machine flags below override its fields (flags win; --kernel or
                          --bios replace hardware.boot). Without --policy, the flags are the policy.
  --events                print every event (lifecycle, denials, traps, policy changes) to stderr, JSON
  --snapshot-on-exit FILE save the machine's complete state to FILE when the run ends
  --restore FILE          continue from a snapshot (machine and policy come from it; only the Host
                          flags go with it; --max-instructions becomes a change to its policy)

Boot (one of, or hardware.boot of the policy):
  --bios FILE             flat firmware image at the reset vector (top of 4 GiB, and below 1 MiB through
                          the i440FX shadow RAM on a PCI PC); SeaBIOS from Debian's seabios package
                          (/usr/share/seabios) when only drives are given
  --hda, --hdb, --hdc, --hdd FILE
                          IDE hard disk image (raw, qcow2, VHD, VHDX, VMDK; detected) at that position
  --cdrom FILE            CD-ROM image on the secondary master (hdc), read-only
  --boot ORDER            the firmware's boot order, QEMU's letters: c hard disk, d CD-ROM (default cad)
  --display none|text     text: print the VGA text screen when the run ends (an ISA VGA with SeaVGABIOS
                          is there when the BIOS is Debian's SeaBIOS)
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
  --debugcon TARGET       debug console (port 0xE9, and 0x402 for SeaBIOS's log): stdio, file:PATH or none (default)
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
halted or was stopped with Ctrl-A X; 124 when --max-instructions (or the policy's budget) ran out;
3 when the policy stopped or paused the VM (a trap, or an event action); 4 at a --break stop;
1 for errors, 2 for usage.
`;

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseRunArgs(argv);
  let build: (options: MachineOptions) => Promise<Machine>;
  let document: PolicyDocument;
  if (args.restore !== undefined) {
    const bytes = await readSnapshotFile(resolve(io.cwd, args.restore));
    build = (options) => Promise.resolve(restoredMachine(bytes, args.maxInstructions, { ...options, onSnapshot: eventSnapshot(io) }));
    const saved = parseSnapshot(bytes).policy;
    document = saved === undefined ? policyFromRunFlags({}) : validatePolicy(saved);
  } else {
    const policy = await runPolicy(args, io.cwd);
    document = policy.document;
    build = (options) => createPolicyMachine(policy.document, policy.baseDir, { ...options, onSnapshot: eventSnapshot(io) });
  }
  const targets = document.hardware.serial.map((t) => parseCharTarget(t, 'serial'));
  const debugcon = parseCharTarget(document.hardware.debugcon, 'debugcon');
  if (targets.slice(1).some((t) => t.kind === 'stdio')) throw new CliError('Usage', 'only COM1 can use stdio (policy hardware.serial)');
  if (targets[0]?.kind === 'stdio' && debugcon.kind === 'stdio') throw new CliError('Usage', 'only one of the serial console and the debug console can use stdio');
  let built: Machine | undefined;
  const result = await runSession(
    async (options) => (built = await build(options)),
    {
      serial: args.given.has('serial') ? args.serial : (targets[0] ?? { kind: 'none' }),
      extraSerial: targets.slice(1),
      debugcon: args.given.has('debugcon') ? args.debugcon : debugcon,
      traceInstructions: document.debug.traceInstructions,
      tracePorts: document.debug.tracePorts,
      traceRegisters: args.traceRegisters,
      breakpoints: args.breakpoints,
      breakAction: args.breakAction,
      events: args.events,
      ...(args.snapshotOnExit !== undefined ? { snapshotOnExit: args.snapshotOnExit } : {}),
    },
    io,
  );
  if (args.display === 'text' && built !== undefined) printScreen(built, io);
  // The drives' images were opened for this machine: flush and close them.
  const images = (built?.config.drives ?? []).flatMap((d) => (d.device !== undefined ? [d.device.close()] : []));
  await Promise.all(images);
  if (result.exit.reason !== 'exit') io.stderr.write(`tsvm run: ${describeExit(result.exit)}\n`);
  return exitCodeOf(result.exit);
}

/** `--display text`: the VGA text screen as the run left it, on stdout. */
function printScreen(machine: Machine, io: CliIo): void {
  const screen = textScreen(machine);
  if (screen === undefined) io.stderr.write('tsvm run: --display text: the machine has no VGA (boot Debian\'s SeaBIOS, which brings SeaVGABIOS)\n');
  else io.stdout.write(`${screen}\n`);
}

/**
 * A machine from a snapshot, under the policy saved in it. `--max-instructions` is the policy's
 * `limits.budget.instructions` here too: a change to the restored policy (recorded, and refused if
 * a `resource.set` rule forbids it). Budgets count from when the machine is restored.
 */
function restoredMachine(bytes: Uint8Array, maxInstructions: number | undefined, options: MachineOptions): Machine {
  const machine = Machine.fromSnapshot(bytes, options);
  const policy = machine.policy;
  if (maxInstructions !== undefined && policy !== undefined) {
    const doc = policy.document;
    policy.update({ ...doc, limits: { ...doc.limits, budget: { ...doc.limits.budget, instructions: maxInstructions } } });
  }
  return machine;
}

/** The `snapshot` event action: each snapshot to `VMID-event-SEQ.tsnap` in the working directory. */
function eventSnapshot(io: CliIo): (bytes: Uint8Array, event: VmEvent) => void {
  return (bytes, event) => {
    const path = resolve(io.cwd, `${event.vmId}-event-${event.seq}.tsnap`);
    writeFileSync(path, bytes);
    io.stderr.write(`tsvm run: ${event.kind}: snapshot saved to ${path}\n`);
  };
}

async function readSnapshotFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new VmmError('FileUnreadable', `snapshot '${path}' ${code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`, { cause });
  }
}

export const runCommand: CliCommand = { name: 'run', summary: 'run a virtual machine with its serial console in the terminal', help: HELP, run };
