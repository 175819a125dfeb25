export { DecoderError, type DecoderErrorCode } from './errors.js';
