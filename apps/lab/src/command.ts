/** Where a command reads and writes: the process's streams in `main.ts`, buffers in tests. */
export interface LabIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The directory relative paths are resolved against. */
  cwd: string;
}

/**
 * One `tsvm-lab` suite or command. `run` receives the arguments after its name and returns the exit
 * code (0 all passed, 1 failures, 2 usage); a usage problem is a `LabError('Usage', ...)`.
 */
export interface LabCommand {
  name: string;
  /** One line for `tsvm-lab --help`. */
  summary: string;
  /** The full `tsvm-lab NAME --help` text. */
  help: string;
  run(args: string[], io: LabIo): Promise<number>;
}
