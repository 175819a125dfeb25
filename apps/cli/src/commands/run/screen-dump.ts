import { readTextScreen } from '@tsvm/devices';
import type { Machine } from '@tsvm/vmm';

/**
 * The machine's VGA text screen as lines without trailing blanks (trailing empty lines dropped), or
 * undefined when the machine has no VGA or shows graphics.
 */
export function textScreen(machine: Machine): string | undefined {
  const display = machine.display;
  if (display === undefined) return undefined;
  const lines = readTextScreen(display.vga).map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}
