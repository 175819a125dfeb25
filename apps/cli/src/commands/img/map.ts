import type { AllocationExtent, ImageDevice } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { last, outputFormat, parseArgs, positionals } from './args.js';
import { sizeArg, withImage } from './common.js';

export const MAP_HELP = 'map [-f fmt] [--output=human|json] [--start-offset=offset] [--max-length=len] [-U] filename';

/** One line of `qemu-img map --output json`. */
function jsonLine(e: AllocationExtent): string {
  const present = e.status !== 'unallocated';
  const offset = e.status === 'data' && e.hostOffset !== undefined ? `, "offset": ${e.hostOffset}` : '';
  return `{ "start": ${e.offset}, "length": ${e.length}, "depth": ${e.depth}, "present": ${present}, "zero": ${e.status !== 'data'}, "data": ${e.status === 'data'}${offset}}`;
}

const hex = (n: number): string => (n === 0 ? '0' : `0x${n.toString(16)}`);

/** `tsvm img map`. */
export async function imgMap(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-U', '--force-share'], values: ['-f', '--output', '--start-offset', '--max-length'] });
  const [file] = positionals(p, ['filename']);
  const output = outputFormat(p);
  return withImage(io, file, { format: last(p, '-f') }, async (dev) => {
    const startText = last(p, '--start-offset');
    const lengthText = last(p, '--max-length');
    const start = Math.min(dev.size, startText === undefined ? 0 : sizeArg(startText, 'start offset'));
    const length = Math.min(dev.size - start, lengthText === undefined ? dev.size : sizeArg(lengthText, 'max length'));
    const extents = await dev.allocation(start, length);
    if (output === 'json') {
      io.stdout.write(`[${extents.map(jsonLine).join(',\n')}]\n`);
      return 0;
    }
    io.stdout.write(`${'Offset'.padEnd(16)}${'Length'.padEnd(16)}${'Mapped to'.padEnd(16)}File\n`);
    // Only data with a known place in a file is listed, as qemu-img does.
    const names: string[] = [file];
    for (let d = dev.backing; d !== undefined; d = d.backing) names.push((d as Partial<ImageDevice>).file?.path ?? '');
    for (const e of extents) {
      if (e.status !== 'data' || e.hostOffset === undefined) continue;
      io.stdout.write(`${hex(e.offset).padEnd(16)}${hex(e.length).padEnd(16)}${hex(e.hostOffset).padEnd(16)}${names[e.depth] ?? ''}\n`);
    }
    return 0;
  });
}
