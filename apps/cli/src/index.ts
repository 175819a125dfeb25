export { CliError, type CliErrorCode } from './errors.js';
export { type CliCommand, type CliIo } from './command.js';
export { runCli, VERSION } from './cli.js';
export { COMMANDS } from './commands/index.js';
