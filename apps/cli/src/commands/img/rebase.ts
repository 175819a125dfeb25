import { StorageError, VmdkImage, openImage, rebaseImage, resolveRelative } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, parseArgs, positionals } from './args.js';
import { cacheArg, withImage } from './common.js';
import { progressPrinter } from './output.js';

export const REBASE_HELP = 'rebase [-f fmt] [-t cache] [-p] [-q] [-u] [-U] -b backing_file [-F backing_fmt] filename';

/** `tsvm img rebase`: safe by default (content kept), `-u` only rewrites the name. */
export async function imgRebase(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-p', '-q', '-u', '-U', '--force-share'], values: ['-f', '-b', '-F', '-t', '-T'] });
  const [file] = positionals(p, ['filename']);
  const backing = last(p, '-b');
  if (backing === undefined) throw new CliError('Usage', '-b backing_file is required (use -b "" to remove the backing file)');
  const name = backing === '' ? undefined : backing;
  const unsafe = p.flags.has('-u');
  const cache = cacheArg(last(p, '-t'), 'writeback');
  return withImage(io, file, { format: last(p, '-f'), readOnly: false, backing: !unsafe, cache }, async (dev) => {
    // qemu-img's words and exit status (1) for a format whose backing file cannot be changed.
    if (dev.setBackingFile === undefined) throw new StorageError('Unsupported', `Could not change the backing file to '${backing}': Operation not supported`);
    let format = last(p, '-F');
    if (!unsafe) {
      const progress = progressPrinter(io, p.flags.has('-p') && !p.flags.has('-q'));
      const next = name === undefined ? undefined : await openImage(resolveRelative(dev.file.path, name), { format, readOnly: true });
      try {
        format ??= next?.format;
        // Refused before any data is copied, not after.
        if (dev instanceof VmdkImage) VmdkImage.checkBackingFormat(format);
        await rebaseImage(dev, next, progress);
      } finally {
        await next?.close();
      }
      progress.finish();
    }
    await dev.setBackingFile(name, name === undefined ? undefined : format);
    return 0;
  });
}
