import type { LabCommand, LabIo } from './command.js';
import { COMMANDS } from './commands/index.js';
import { LabError } from './errors.js';

export const VERSION = '0.1.0';

function usage(commands: readonly LabCommand[]): string {
  const width = Math.max(8, ...commands.map((c) => c.name.length));
  return [
    'Usage: tsvm-lab <suite> [options]',
    '',
    'tsvm-lab runs tsvm conformance suites and reports what passed.',
    '',
    'Suites:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `tsvm-lab <suite> --help` for the options of one suite. Exit code: 0 all passed, 1 failures, 2 usage.',
    '',
  ].join('\n');
}

/** Runs `tsvm-lab` with `argv` (without node and script) and returns the exit code. */
export async function runLab(argv: string[], io: LabIo, commands: readonly LabCommand[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`tsvm-lab ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`tsvm-lab: unknown suite '${name}'\n\n${usage(commands)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof LabError && err.code === 'Usage') {
      io.stderr.write(`tsvm-lab ${name}: ${err.message}\nRun 'tsvm-lab ${name} --help' for its options.\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    const code = typeof (err as { code?: unknown }).code === 'string' ? ` [${(err as { code: string }).code}]` : '';
    io.stderr.write(`tsvm-lab ${name}: ${message}${code}\n`);
    return 1;
  }
}
