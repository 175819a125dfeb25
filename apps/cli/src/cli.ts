import type { CliCommand, CliIo } from './command.js';
import { COMMANDS } from './commands/index.js';
import { CliError } from './errors.js';

export const VERSION = '0.1.0';

function usage(commands: readonly CliCommand[]): string {
  const width = Math.max(8, ...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: tsvm <command> [options]',
    '',
    'tsvm composes and runs x86 virtual machines.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `tsvm <command> --help` for the options of one command.',
    '',
  ].join('\n');
}

/** Runs `tsvm` with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: string[], io: CliIo, commands: readonly CliCommand[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`tsvm ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`tsvm: unknown command '${name}'\n\n${usage(commands)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof CliError && err.code === 'Usage') {
      io.stderr.write(`tsvm ${name}: ${err.message}\nRun 'tsvm ${name} --help' for its options.\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    const code = typeof (err as { code?: unknown }).code === 'string' ? ` [${(err as { code: string }).code}]` : '';
    io.stderr.write(`tsvm ${name}: ${message}${code}\n`);
    return 1;
  }
}
