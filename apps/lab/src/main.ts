#!/usr/bin/env node
import { runLab } from './cli.js';

const code = await runLab(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
process.exitCode = code;
