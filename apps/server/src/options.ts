import { parseArgs } from 'node:util';
import { ServerError } from './errors.js';

export interface ServerOptions {
  /** Address to listen on; loopback unless the operator says otherwise. */
  host: string;
  port: number;
  /** Where VM definitions, policies, snapshots and the event log are kept. */
  dataDir: string;
}

export const HELP = `Usage: tsvmd [options]

The tsvm headless server: runs virtual machines behind an HTTP API.

Options:
  --host ADDR       address to listen on (default 127.0.0.1)
  --port N          TCP port (default 7310; 0 picks a free one)
  --data-dir DIR    state directory (default ./tsvmd-data)
  -h, --help        show this help
  -V, --version     print the version
`;

/** Parses tsvmd's command line; a bad flag or value is a `ServerError('Usage')` saying which. */
export function parseOptions(argv: string[]): ServerOptions | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '7310' },
        'data-dir': { type: 'string', default: './tsvmd-data' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (cause) {
    throw new ServerError('Usage', (cause as Error).message, { cause });
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v.version === true) return 'version';
  const port = Number(v.port);
  if (!/^\d+$/.test(v.port) || port > 65535) throw new ServerError('Usage', `--port must be 0..65535, got '${v.port}'`);
  if (v.host.length === 0) throw new ServerError('Usage', '--host must not be empty');
  return { host: v.host, port, dataDir: v['data-dir'] };
}
