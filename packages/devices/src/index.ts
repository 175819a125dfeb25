export { DeviceError, type DeviceErrorCode } from './errors.js';
