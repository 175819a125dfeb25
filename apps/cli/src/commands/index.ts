import type { CliCommand } from '../command.js';
import { demoCommand } from './demo.js';
import { disasmCommand } from './disasm.js';
import { imgCommand } from './img.js';
import { runCommand } from './run.js';

/** Every `tsvm` sub-command, in the order `tsvm --help` lists them. */
export const COMMANDS: readonly CliCommand[] = [runCommand, demoCommand, imgCommand, disasmCommand];
