import { copyImage, createImage } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, parseArgs, parseOptionList } from './args.js';
import { cacheArg, hostPath, open, sizeArg } from './common.js';
import { progressPrinter } from './output.js';

export const CONVERT_HELP =
  'convert [-c] [-p] [-q] [-n] [-f fmt] [-O output_fmt] [-o options] [-B backing_file [-F backing_fmt]] [-S sparse_size] [-t cache] [-U] [-W] [-m num] filename output_filename';

/** `tsvm img convert`. */
export async function imgConvert(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-c', '-p', '-q', '-n', '-U', '-W', '--force-share'], values: ['-f', '-O', '-o', '-S', '-m', '-t', '-T', '-B', '-F'] });
  if (p.positional.length !== 2) throw new CliError('Usage', 'expected one input filename and the output filename');
  const [input, output] = p.positional as [string, string];
  const outFormat = last(p, '-O') ?? 'raw';
  const options = parseOptionList(p.values.get('-o') ?? []);
  const sparseText = last(p, '-S');
  const sparseSize = sparseText === undefined ? 4096 : sizeArg(sparseText, 'sparse size');
  if (sparseSize !== 0 && sparseSize % 512 !== 0) throw new CliError('Usage', '-S must be a multiple of 512');
  // qemu-img convert writes its output with cache=unsafe unless told otherwise: no fdatasync.
  const cache = cacheArg(last(p, '-t'), 'unsafe');
  const src = await open(io, input, { format: last(p, '-f') });
  try {
    const skipCreate = p.flags.has('-n');
    const backingFile = last(p, '-B');
    if (!skipCreate) {
      await createImage(hostPath(io, output), { format: outFormat, size: src.size, options, backingFile, backingFormat: last(p, '-F') });
    }
    const dst = await open(io, output, { format: outFormat, readOnly: false, cache });
    const progress = progressPrinter(io, p.flags.has('-p') && !p.flags.has('-q'));
    try {
      await copyImage(src, dst, {
        compress: p.flags.has('-c'),
        sparseSize,
        targetIsZero: !skipCreate,
        baseline: backingFile === undefined ? undefined : dst.backing,
        onProgress: progress,
      });
      await dst.flush();
    } finally {
      await dst.close();
    }
    progress.finish();
  } finally {
    await src.close();
  }
  return 0;
}
