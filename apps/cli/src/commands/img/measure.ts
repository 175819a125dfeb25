import { measureImage } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, outputFormat, parseArgs, parseOptionList } from './args.js';
import { sizeArg, withImage } from './common.js';
import { printJson } from './output.js';

export const MEASURE_HELP = 'measure [--output=human|json] [-O output_fmt] [-o options] [--size N | [-f fmt] filename]';

/** `tsvm img measure`. */
export async function imgMeasure(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-U', '--force-share'], values: ['-f', '-O', '-o', '--size', '--output'] });
  const output = outputFormat(p);
  const format = last(p, '-O') ?? 'raw';
  const createOptions = parseOptionList(p.values.get('-o') ?? []);
  const sizeText = last(p, '--size');
  const [file] = p.positional;
  if ((sizeText === undefined) === (file === undefined) || p.positional.length > 1) {
    throw new CliError('Usage', 'give either --size N or one filename');
  }
  const result =
    file === undefined
      ? await measureImage(format, { size: sizeArg(sizeText!), createOptions })
      : await withImage(io, file, { format: last(p, '-f') }, (source) => measureImage(format, { source, createOptions }));
  if (output === 'json') printJson(io, result);
  else io.stdout.write(`required size: ${result.required}\nfully allocated size: ${result['fully-allocated']}\n`);
  return 0;
}
