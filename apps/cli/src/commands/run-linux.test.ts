import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';

/**
 * End to end: the Debian i386 kernel and busybox initramfs that `guests/linux/build.sh` builds boot
 * under `tsvm run` to /init, which prints a marker and runs a job (bench mode) or starts a shell.
 * `scripts/setup.sh` builds the guest; without it these tests fail and say how to build it.
 */
const guest = fileURLToPath(new URL('../../../../guests/linux/out/', import.meta.url));
const kernel = `${guest}vmlinuz`;
const initrd = `${guest}initramfs.cpio.gz`;
/** The minimal ISA-style line from the guest notes: no ACPI/PCI probing, no crypto self-tests. */
const APPEND = 'console=ttyS0 reboot=t noisapnp pnpbios=off cryptomgr.notests pci=off acpi=off nolapic noapic i8042.nokbd i8042.noaux io_delay=none edd=off 8250.nr_uarts=1';
/** A whole boot is about 3.6 G guest instructions: minutes on a loaded 2-core machine. */
const BOOT_TIMEOUT_MS = 30 * 60_000;

function requireGuest(): void {
  if (!existsSync(kernel) || !existsSync(initrd)) {
    throw new Error(`the Linux guest is not built (${kernel}, ${initrd}): run 'bash guests/linux/build.sh'`);
  }
}

const zeros8MiB = Buffer.alloc(8 << 20);
const BENCH_ARGS = ['--kernel', kernel, '--initrd', initrd, '--append', `${APPEND} tsvm.mode=bench`, '-m', '128M', '--no-reboot', '--deterministic'];
/** The serial output of the uninterrupted deterministic run (the first test), for the snapshot test. */
let uninterrupted: string | undefined;

describe('tsvm run boots Debian Linux', () => {
  it(
    'reaches /init and finishes the job in deterministic mode, then leaves on the guest reset',
    async () => {
      requireGuest();
      const io = captureIo();
      const code = await runCli(['run', ...BENCH_ARGS], io);
      const out = io.out();
      uninterrupted = out;
      expect(out).toMatch(/Linux version \d+\.\d+\.\d+-\d+-686 /);
      expect(out).toContain('TSVM-LINUX-MARKER: init started (mode bench)');
      expect(out).toContain(`TSVM-LINUX-JOB: sha256 ${createHash('sha256').update(zeros8MiB).digest('hex')}`);
      expect(out).toContain(`TSVM-LINUX-JOB: md5 ${createHash('md5').update(zeros8MiB).digest('hex')}`);
      expect(out).toMatch(/TSVM-LINUX-JOB-DONE: \d+ ms of guest time/);
      expect(code, io.err()).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    'answers commands typed into the serial console (uname -a, /proc/cpuinfo)',
    async () => {
      requireGuest();
      const keyboard = new PassThrough();
      const io = { ...captureIo(), stdin: keyboard };
      let typed = false;
      const exited = runCli(['run', '--kernel', kernel, '--initrd', initrd, '--append', `${APPEND} tsvm.mode=shell`, '-m', '128M', '--no-reboot'], io);
      // Type once the shell is up; the console echoes and the answers follow on stdout.
      const timer = setInterval(() => {
        if (!typed && io.out().includes('TSVM-LINUX-SHELL')) {
          typed = true;
          keyboard.write('uname -a\ncat /proc/cpuinfo\necho TSVM-TEST-$((40 + 2))\nreboot -f\n');
        }
      }, 200);
      let code: number;
      try {
        code = await exited;
      } finally {
        clearInterval(timer);
      }
      const out = io.out();
      expect(typed, out).toBe(true);
      expect(out).toMatch(/Linux \(none\) \d+\.\d+\.\d+-\d+-686 #1 SMP .* i686 GNU\/Linux/);
      expect(out).toMatch(/vendor_id\s*: GenuineIntel/);
      expect(out).toMatch(/cpu family\s*: 6/);
      expect(out).toMatch(/flags\s*: fpu .*cx8.*cmov/);
      expect(out).toContain('TSVM-TEST-42'); // computed by the guest's shell, not the echo of the line
      expect(code, io.err()).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    'snapshots mid-job and continues from the snapshot with the same output as the uninterrupted run',
    async () => {
      requireGuest();
      expect(uninterrupted, 'runs after the uninterrupted boot above').toBeDefined();
      const snapshot = join(mkdtempSync(join(tmpdir(), 'tsvm-linux-snap-')), 'linux.snap');
      // Stop inside the guest's job (after /init's marker), save everything, then restore and finish.
      const first = captureIo();
      const stopped = await runCli(['run', ...BENCH_ARGS, '--max-instructions', '3400000000', '--snapshot-on-exit', snapshot], first);
      expect(stopped, first.err()).toBe(124);
      expect(first.out()).toContain('TSVM-LINUX-MARKER');
      expect(first.out()).not.toContain('TSVM-LINUX-JOB-DONE');
      const second = captureIo();
      const code = await runCli(['run', '--restore', snapshot], second);
      expect(code, second.err()).toBe(0);
      expect(first.out() + second.out()).toBe(uninterrupted);
    },
    BOOT_TIMEOUT_MS,
  );
});
