export { CpuError, type CpuErrorCode } from './errors.js';
