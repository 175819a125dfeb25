import { FormatRegistry } from './format-registry.js';
import { qcow2Format } from './qcow2-format.js';
import { rawFormat } from './raw.js';
import { vhdFormat } from './vhd-format.js';
import { vhdxFormat } from './vhdx-format.js';
import { vmdkFormat } from './vmdk-format.js';

/**
 * The registry `openImage`, `createImage` and `tsvm img` use by default: every format this package
 * implements. A new driver adds its line here.
 */
export const FORMATS = new FormatRegistry([rawFormat, qcow2Format, vhdFormat, vhdxFormat, vmdkFormat]);
