export { VmmError, type VmmErrorCode } from './errors.js';
