export { CliError, type CliErrorCode } from './errors.js';
