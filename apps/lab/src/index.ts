export { LabError, type LabErrorCode } from './errors.js';
