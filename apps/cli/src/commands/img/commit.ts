import type { BlockDevice } from '@tsvm/storage';
import { commitImage, openImage, resolveRelative } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, parseArgs, positionals } from './args.js';
import { cacheArg, hostPath, withImage } from './common.js';
import { progressPrinter } from './output.js';

export const COMMIT_HELP = 'commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename';

/** `tsvm img commit`: write the image's data into its backing file (or `-b base` further down), then empty it unless `-d` or `-b`. */
export async function imgCommit(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-q', '-d', '-p'], values: ['-f', '-b', '-t', '-r'] });
  const [file] = positionals(p, ['filename']);
  const baseArg = last(p, '-b');
  const keep = p.flags.has('-d') || baseArg !== undefined;
  const cache = cacheArg(last(p, '-t'), 'writeback');
  return withImage(io, file, { format: last(p, '-f'), readOnly: keep, cache }, async (top) => {
    if (top.backingFile === undefined) throw new CliError('Usage', `image '${file}' does not have a backing file`);
    // Find the base layer: the direct backing file, or the one `-b` names, and its depth.
    const layers: { path: string; format: string | undefined }[] = [];
    let path = top.file.path;
    let dev: BlockDevice | undefined = top;
    let name: string | undefined = top.backingFile;
    let format = top.backingFormat;
    while (dev?.backing !== undefined && name !== undefined) {
      path = resolveRelative(path, name);
      layers.push({ path, format });
      const next = dev.backing as BlockDevice & { backingFile?: string; backingFormat?: string };
      name = next.backingFile;
      format = next.backingFormat;
      dev = next;
    }
    const wanted = baseArg === undefined ? 0 : layers.findIndex((l) => l.path === hostPath(io, baseArg));
    if (wanted < 0) throw new CliError('Usage', `'${baseArg}' is not in the backing chain of '${file}'`);
    const base = layers[wanted];
    const progress = progressPrinter(io, p.flags.has('-p') && !p.flags.has('-q'));
    const target = await openImage(base.path, { format: base.format, readOnly: false, backing: false, cache });
    try {
      await commitImage(top, target, wanted + 1, progress);
    } finally {
      await target.close();
    }
    progress.finish();
    if (!keep) {
      if (top.makeEmpty === undefined) throw new CliError('Usage', `the ${top.format} format cannot be emptied; use -d`);
      await top.makeEmpty();
    }
    if (!p.flags.has('-q')) io.stdout.write('Image committed.\n');
    return 0;
  });
}
