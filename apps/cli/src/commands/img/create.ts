import { createImage } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, parseArgs, parseOptionList } from './args.js';
import { hostPath, sizeArg } from './common.js';

export const CREATE_HELP = 'create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]';

/** `tsvm img create`. */
export async function imgCreate(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-q', '-u'], values: ['-f', '-b', '-F', '-o'] });
  const [file, sizeText] = p.positional;
  if (file === undefined || p.positional.length > 2) throw new CliError('Usage', 'expected filename [size]');
  const format = last(p, '-f') ?? 'raw';
  const options = parseOptionList(p.values.get('-o') ?? []);
  const backingFile = last(p, '-b') ?? options.backing_file;
  const backingFormat = last(p, '-F') ?? options.backing_fmt;
  delete options.backing_file;
  delete options.backing_fmt;
  const size = sizeText !== undefined ? sizeArg(sizeText) : options.size !== undefined ? sizeArg(options.size) : undefined;
  delete options.size;
  if (size === undefined && backingFile === undefined) throw new CliError('Usage', 'an image size is needed (or -b to take it from a backing file)');
  await createImage(hostPath(io, file), { format, size, backingFile, backingFormat, options });
  if (!p.flags.has('-q')) {
    const extra = Object.entries(options).map(([k, v]) => ` ${k}=${v}`).join('');
    const backing = backingFile === undefined ? '' : ` backing_file=${backingFile}${backingFormat === undefined ? '' : ` backing_fmt=${backingFormat}`}`;
    io.stdout.write(`Formatting '${file}', fmt=${format}${extra}${size === undefined ? '' : ` size=${size}`}${backing}\n`);
  }
  return 0;
}
