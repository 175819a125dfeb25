import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, parseArgs, positionals } from './args.js';
import { withImage } from './common.js';
import { snapshotTable } from './info.js';

export const SNAPSHOT_HELP = 'snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] filename';

/** `tsvm img snapshot`. */
export async function imgSnapshot(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-l', '-q', '-U', '--force-share'], values: ['-a', '-c', '-d', '-f'] });
  const [file] = positionals(p, ['filename']);
  const actions = ['-l', '-a', '-c', '-d'].filter((a) => p.flags.has(a) || p.values.has(a));
  if (actions.length !== 1) throw new CliError('Usage', 'give exactly one of -l, -a, -c, -d');
  const action = actions[0];
  return withImage(io, file, { format: last(p, '-f'), readOnly: action === '-l', backing: true }, async (dev) => {
    const store = dev.snapshots;
    if (store === undefined) throw new CliError('Usage', `the ${dev.format} format has no internal snapshots`);
    if (action === '-l') {
      const list = await store.list();
      if (list.length > 0) io.stdout.write(`Snapshot list:\n${snapshotTable(list)}`);
      return 0;
    }
    const name = last(p, action)!;
    if (action === '-c') await store.create(name);
    else if (action === '-a') await store.apply(name);
    else await store.delete(name);
    await dev.flush();
    return 0;
  });
}
