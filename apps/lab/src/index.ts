export { LabError, type LabErrorCode } from './errors.js';
export { runLab, VERSION } from './cli.js';
export { type LabCommand, type LabIo } from './command.js';
export { COMMANDS } from './commands/index.js';
export { formatMooReport } from './commands/moo.js';
export {
  MOO_REGS16,
  MOO_REGS32,
  type MooException,
  type MooFile,
  type MooMeta,
  type MooReg16,
  type MooReg32,
  type MooRegisters,
  type MooState,
  type MooTest,
} from './moo/format.js';
export { readMoo, type ReadMooOptions } from './moo/reader.js';
export { MooMetadata, parseRevocations, type OpcodeInfo } from './moo/metadata.js';
export { MooRunner, type MooDifference, type MooTestResult } from './moo/runner.js';
export { runMooSuite, type MooFailure, type MooFileResult, type MooSuiteOptions, type MooSuiteResult } from './moo/suite.js';
export { repoRoot, singleStep8086Dir, testdataDir } from './paths.js';
