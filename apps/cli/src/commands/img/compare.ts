import { compareImages } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { last, parseArgs, positionals } from './args.js';
import { withImage } from './common.js';

export const COMPARE_HELP = 'compare [-f fmt] [-F fmt] [-s] [-q] [-p] [-U] filename1 filename2';

/** `tsvm img compare`: exit 0 identical, 1 different, 2 on errors (as qemu-img). */
export async function imgCompare(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-s', '-q', '-p', '-U', '--force-share'], values: ['-f', '-F'] });
  const [a, b] = positionals(p, ['filename1', 'filename2']);
  const quiet = p.flags.has('-q');
  try {
    return await withImage(io, a, { format: last(p, '-f') }, (da) =>
      withImage(io, b, { format: last(p, '-F') ?? last(p, '-f') }, async (db) => {
        const r = await compareImages(da, db, { strict: p.flags.has('-s') });
        if (r.identical) {
          if (!quiet) io.stdout.write('Images are identical.\n');
          return 0;
        }
        if (!quiet) io.stdout.write(r.reason === 'size' ? 'Strict mode: Image size mismatch!\n' : `Content mismatch at offset ${r.offset}!\n`);
        return 1;
      }),
    );
  } catch (err) {
    io.stderr.write(`tsvm img compare: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
