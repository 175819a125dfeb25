export { VmmError, type VmmErrorCode } from './errors.js';
export { DeterministicTime, RealTime, type TimeSource } from './time-source.js';
