#!/usr/bin/env node
import { ServerError } from './errors.js';
import { HELP, parseOptions } from './options.js';
import { startServer, VERSION } from './server.js';

try {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') process.stdout.write(HELP);
  else if (options === 'version') process.stdout.write(`tsvmd ${VERSION}\n`);
  else {
    const server = await startServer(options);
    process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'listening', url: server.url })}\n`);
    const stop = (): void => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
} catch (err) {
  if (err instanceof ServerError && err.code === 'Usage') {
    process.stderr.write(`tsvmd: ${err.message}\n\n${HELP}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`tsvmd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
