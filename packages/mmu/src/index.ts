export { MemoryError, type MemoryErrorCode } from './errors.js';
