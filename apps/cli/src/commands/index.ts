import type { CliCommand } from '../command.js';

/** Every `tsvm` sub-command, in the order `tsvm --help` lists them. */
export const COMMANDS: readonly CliCommand[] = [];
