import type { ImageInfoJson, SnapshotInfo } from '@tsvm/storage';
import { imageInfo, resolveRelative } from '@tsvm/storage';
import type { CliIo } from '../../command.js';
import { last, outputFormat, parseArgs, positionals } from './args.js';
import { hostPath, open } from './common.js';
import { humanSize, printJson } from './output.js';

export const INFO_HELP = 'info [-f fmt] [--output=human|json] [--backing-chain] [-U] filename';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The snapshot table as `qemu-img info` and `snapshot -l` print it. */
export function snapshotTable(snapshots: readonly SnapshotInfo[]): string {
  const lines = ['ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT'];
  for (const s of snapshots) {
    const d = new Date(s['date-sec'] * 1000);
    const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
    const secs = s['vm-clock-sec'];
    const clock = `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}.${String(Math.floor(s['vm-clock-nsec'] / 1e6)).padStart(3, '0')}`;
    const icount = s.icount === undefined ? '' : String(s.icount);
    lines.push(`${s.id.padEnd(10)}${s.name.padEnd(17)}${humanSize(s['vm-state-size']).padStart(8)}${date.padStart(20)}${clock.padStart(13)}${icount.padStart(11)}`);
  }
  return `${lines.join('\n')}\n`;
}

function words(key: string): string {
  return key.replace(/-/g, ' ');
}

/** `qemu-img info` human output of one image. */
export function humanInfo(info: ImageInfoJson): string {
  const lines = [
    `image: ${info.filename}`,
    `file format: ${info.format}`,
    `virtual size: ${humanSize(info['virtual-size'])} (${info['virtual-size']} bytes)`,
    `disk size: ${humanSize(info['actual-size'])}`,
  ];
  if (info['cluster-size'] !== undefined) lines.push(`cluster_size: ${info['cluster-size']}`);
  if (info['backing-filename'] !== undefined) {
    const full = info['full-backing-filename'];
    lines.push(`backing file: ${info['backing-filename']}${full !== undefined && full !== info['backing-filename'] ? ` (actual path: ${full})` : ''}`);
    if (info['backing-filename-format'] !== undefined) lines.push(`backing file format: ${info['backing-filename-format']}`);
  }
  let text = `${lines.join('\n')}\n`;
  if (info.snapshots !== undefined && info.snapshots.length > 0) text += `Snapshot list:\n${snapshotTable(info.snapshots)}`;
  const fs = info['format-specific'];
  if (fs !== undefined) {
    text += 'Format specific information:\n';
    for (const [k, v] of Object.entries(fs.data)) text += `    ${words(k)}: ${String(v)}\n`;
  }
  return text;
}

/** `tsvm img info`. */
export async function imgInfo(args: string[], io: CliIo): Promise<number> {
  const p = parseArgs(args, { flags: ['--backing-chain', '-U', '--force-share'], values: ['-f', '--output'] });
  const [file] = positionals(p, ['filename']);
  const output = outputFormat(p);
  const chain: ImageInfoJson[] = [];
  let name: string | undefined = file;
  let path = hostPath(io, file);
  let format = last(p, '-f');
  // Each layer is opened alone (no backing), as deep as the chain goes; openImage bounds real chains.
  for (let depth = 0; name !== undefined && depth < 256; depth++) {
    const dev = await open(io, path, { format, backing: false });
    try {
      const info = await imageInfo(dev, name);
      chain.push(info);
      if (!p.flags.has('--backing-chain') || dev.backingFile === undefined) break;
      path = resolveRelative(path, dev.backingFile);
      name = info['full-backing-filename'];
      format = dev.backingFormat;
    } finally {
      await dev.close();
    }
  }
  if (output === 'json') printJson(io, p.flags.has('--backing-chain') ? chain : chain[0]);
  else io.stdout.write(chain.map(humanInfo).join('\n'));
  return 0;
}
