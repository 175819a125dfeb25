import { FORMATS } from '@tsvm/storage';
import type { CliCommand, CliIo } from '../command.js';
import { CliError } from '../errors.js';
import { CHECK_HELP, imgCheck } from './img/check.js';
import { COMMIT_HELP, imgCommit } from './img/commit.js';
import { COMPARE_HELP, imgCompare } from './img/compare.js';
import { CONVERT_HELP, imgConvert } from './img/convert.js';
import { CREATE_HELP, imgCreate } from './img/create.js';
import { INFO_HELP, imgInfo } from './img/info.js';
import { MAP_HELP, imgMap } from './img/map.js';
import { MEASURE_HELP, imgMeasure } from './img/measure.js';
import { REBASE_HELP, imgRebase } from './img/rebase.js';
import { RESIZE_HELP, imgResize } from './img/resize.js';
import { SNAPSHOT_HELP, imgSnapshot } from './img/snapshot.js';

const VERBS: Record<string, { help: string; run: (args: string[], io: CliIo) => Promise<number> }> = {
  create: { help: CREATE_HELP, run: imgCreate },
  info: { help: INFO_HELP, run: imgInfo },
  check: { help: CHECK_HELP, run: imgCheck },
  convert: { help: CONVERT_HELP, run: imgConvert },
  compare: { help: COMPARE_HELP, run: imgCompare },
  map: { help: MAP_HELP, run: imgMap },
  resize: { help: RESIZE_HELP, run: imgResize },
  snapshot: { help: SNAPSHOT_HELP, run: imgSnapshot },
  rebase: { help: REBASE_HELP, run: imgRebase },
  commit: { help: COMMIT_HELP, run: imgCommit },
  measure: { help: MEASURE_HELP, run: imgMeasure },
};

const HELP = `Usage: tsvm img <verb> [options]

Disk image tool with qemu-img's verbs and flags. Formats: ${FORMATS.names().join(', ')}.
Formats are detected from the content, never from the file name.

Verbs:
${Object.values(VERBS)
  .map((v) => `  ${v.help}`)
  .join('\n')}
`;

export const imgCommand: CliCommand = {
  name: 'img',
  summary: 'create, inspect, check and convert disk images (qemu-img compatible)',
  help: HELP,
  run(args, io) {
    const [verb, ...rest] = args;
    if (verb === undefined) throw new CliError('Usage', 'missing verb (create, info, check, convert, compare, map, resize, snapshot, rebase, commit, measure)');
    const v = VERBS[verb];
    if (v === undefined) throw new CliError('Usage', `unknown verb '${verb}'`);
    return v.run(rest, io);
  },
};
