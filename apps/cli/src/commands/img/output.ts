import type { CliIo } from '../../command.js';

/**
 * qemu's `size_to_str`: a binary unit chosen so the number stays below 1000, three significant
 * digits (`1 GiB`, `204 KiB`, `1.5 MiB`).
 */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const i = bytes <= 0 ? 0 : Math.min(6, Math.max(0, Math.floor(Math.floor(Math.log2(bytes * 1.024)) / 10)));
  return `${Number((bytes / 1024 ** i).toPrecision(3))} ${units[i]}`;
}

/** JSON as qemu-img prints it: four-space indentation and a trailing newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 4)}\n`);
}

/** A `-p` progress line as qemu-img draws it, rewritten in place. */
export function progressPrinter(io: CliIo, enabled: boolean): ((done: number, total: number) => void) & { finish(): void } {
  let lastShown = -1;
  const fn = (done: number, total: number): void => {
    if (!enabled) return;
    const pct = total === 0 ? 100 : (done / total) * 100;
    if (pct - lastShown < 1 && pct < 100) return;
    lastShown = pct;
    io.stdout.write(`    (${pct.toFixed(2)}/100%)\r`);
  };
  return Object.assign(fn, {
    finish(): void {
      if (enabled) io.stdout.write(`    (100.00/100%)\n`);
    },
  });
}
