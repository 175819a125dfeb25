import type { CheckReport } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { CliError } from '../../errors.js';
import { last, outputFormat, parseArgs, positionals } from './args.js';
import { open } from './common.js';
import { printJson } from './output.js';

export const CHECK_HELP = 'check [-q] [-f fmt] [--output=human|json] [-r leaks|all] [-U] filename';

/** qemu-img check's exit codes. */
const EXIT_OK = 0;
const EXIT_CHECK_ERROR = 1;
const EXIT_CORRUPT = 2;
const EXIT_LEAKS = 3;
const EXIT_UNSUPPORTED = 63;

function exitCode(r: CheckReport): number {
  if (r.checkErrors > 0) return EXIT_CHECK_ERROR;
  if (r.corruptions - r.corruptionsFixed > 0) return EXIT_CORRUPT;
  if (r.leaks - r.leaksFixed > 0) return EXIT_LEAKS;
  return EXIT_OK;
}

function human(r: CheckReport): string {
  const lines = [...r.messages];
  const corrupt = r.corruptions - r.corruptionsFixed;
  const leaks = r.leaks - r.leaksFixed;
  if (r.corruptions === 0 && r.leaks === 0 && r.checkErrors === 0) lines.push('No errors were found on the image.');
  if (corrupt > 0) lines.push('', `${corrupt} errors were found on the image.`, 'Data may be corrupted, or further writes to the image may corrupt it.');
  if (leaks > 0) lines.push('', `${leaks} leaked clusters were found on the image.`, 'This means waste of disk space, but no harm to data.');
  if (r.checkErrors > 0) lines.push('', `${r.checkErrors} internal errors have occurred during the check.`);
  if (r.totalClusters !== undefined && r.allocatedClusters !== undefined && r.totalClusters > 0) {
    const pct = (n: number, of: number): string => `${of === 0 ? '0.00' : ((n / of) * 100).toFixed(2)}%`;
    lines.push(
      `${r.allocatedClusters}/${r.totalClusters} = ${pct(r.allocatedClusters, r.totalClusters)} allocated, ${pct(r.fragmentedClusters ?? 0, r.allocatedClusters)} fragmented, ${pct(r.compressedClusters ?? 0, r.allocatedClusters)} compressed clusters`,
    );
  }
  if (r.imageEndOffset !== undefined) lines.push(`Image end offset: ${r.imageEndOffset}`);
  return `${lines.join('\n')}\n`;
}

/** `tsvm img check`. */
export async function imgCheck(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['-q', '-U', '--force-share'], values: ['-f', '--output', '-r'] });
  const [file] = positionals(p, ['filename']);
  const output = outputFormat(p);
  const repair = last(p, '-r') ?? 'none';
  if (repair !== 'none' && repair !== 'leaks' && repair !== 'all') throw new CliError('Usage', `-r takes leaks or all, not '${repair}'`);
  const dev = await open(io, file, { format: last(p, '-f'), readOnly: repair === 'none', backing: false });
  try {
    if (dev.check === undefined) {
      io.stderr.write('tsvm img: This image format does not support checks\n');
      return EXIT_UNSUPPORTED;
    }
    let report = await dev.check({ repair });
    if (repair !== 'none' && (report.leaksFixed > 0 || report.corruptionsFixed > 0)) {
      if (!p.flags.has('-q') && output === 'human') {
        io.stdout.write(
          `The following inconsistencies were found and repaired:\n\n    ${report.leaksFixed} leaked clusters\n    ${report.corruptionsFixed} corruptions\n\nDouble checking the fixed image now...\n`,
        );
      }
      const fixed = report;
      report = await dev.check({ repair: 'none' });
      report.leaksFixed = fixed.leaksFixed;
      report.corruptionsFixed = fixed.corruptionsFixed;
    }
    if (output === 'json') {
      const json: Record<string, unknown> = {
        'image-end-offset': report.imageEndOffset,
        'total-clusters': report.totalClusters,
        'check-errors': report.checkErrors,
        filename: file,
        format: dev.format,
      };
      if (report.leaks > 0) json.leaks = report.leaks;
      if (report.corruptions > 0) json.corruptions = report.corruptions;
      if (report.leaksFixed > 0) json['leaks-fixed'] = report.leaksFixed;
      if (report.corruptionsFixed > 0) json['corruptions-fixed'] = report.corruptionsFixed;
      if ((report.allocatedClusters ?? 0) > 0) {
        json['allocated-clusters'] = report.allocatedClusters;
        if ((report.fragmentedClusters ?? 0) > 0) json['fragmented-clusters'] = report.fragmentedClusters;
        if ((report.compressedClusters ?? 0) > 0) json['compressed-clusters'] = report.compressedClusters;
      }
      printJson(io, json);
    } else if (!p.flags.has('-q')) io.stdout.write(human(report));
    // After a repair the double check decides the exit code.
    const after: CheckReport = { ...report, leaksFixed: 0, corruptionsFixed: 0 };
    return exitCode(after);
  } finally {
    await dev.close();
  }
}
