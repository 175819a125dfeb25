export { ServerError, type ServerErrorCode } from './errors.js';
export { HELP, parseOptions, type ServerOptions } from './options.js';
export { startServer, VERSION, type RunningServer } from './server.js';
