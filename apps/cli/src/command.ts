/** Where a command reads and writes: the process's streams in `main.ts`, buffers in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** The directory relative paths are resolved against. */
  cwd: string;
}

/**
 * One `tsvm` sub-command. `run` receives the arguments after the command's name and returns the
 * process exit code; a usage problem is a `CliError('Usage', ...)`, which `main` prints with the
 * command's help.
 */
export interface CliCommand {
  name: string;
  /** One line for `tsvm --help`. */
  summary: string;
  /** The full `tsvm NAME --help` text. */
  help: string;
  run(args: string[], io: CliIo): Promise<number>;
}
