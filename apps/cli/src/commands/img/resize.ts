import { StorageError } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, parseArgs } from './args.js';
import { sizeArg, withImage } from './common.js';

export const RESIZE_HELP = 'resize [-f fmt] [--shrink] [-q] filename [+|-]size';

/** `tsvm img resize`. */
export async function imgResize(args: string[], io: CliIo): Promise<number> {
  // A size like "-1G" must not be taken for an option: split it off before parsing.
  const sizeText = args[args.length - 1];
  const p = parseArgs(args.slice(0, -1), { flags: ['--shrink', '-q', '-U'], values: ['-f'] });
  const [file] = p.positional;
  if (file === undefined || sizeText === undefined || p.positional.length !== 1) throw new CliError('Usage', 'expected filename [+|-]size');
  return withImage(io, file, { format: last(p, '-f'), readOnly: false }, async (dev) => {
    // qemu-img's words and exit status (1) for a format that cannot be resized.
    if (dev.resize === undefined) throw new StorageError('Unsupported', 'Image format driver does not support resize');
    const relative = sizeText.startsWith('+') || sizeText.startsWith('-');
    const amount = sizeArg(relative ? sizeText.slice(1) : sizeText);
    const newSize = !relative ? amount : sizeText.startsWith('+') ? dev.size + amount : dev.size - amount;
    if (newSize < 0) throw new CliError('Usage', 'new size would be negative');
    if (newSize < dev.size && !p.flags.has('--shrink')) {
      throw new CliError('Usage', 'Use the --shrink option to perform a shrink operation.');
    }
    await dev.resize(newSize);
    await dev.flush();
    if (!p.flags.has('-q')) io.stdout.write('Image resized.\n');
    return 0;
  });
}
