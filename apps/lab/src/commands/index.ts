import type { LabCommand } from '../command.js';
import { mooCommand } from './moo.js';

/** Every `tsvm-lab` suite, in the order `tsvm-lab --help` lists them. */
export const COMMANDS: readonly LabCommand[] = [mooCommand];
