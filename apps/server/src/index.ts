export { ServerError, type ServerErrorCode } from './errors.js';
