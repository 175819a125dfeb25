export { StorageError, type StorageErrorCode } from './errors.js';
export {
  type AllocationExtent,
  type AllocationStatus,
  type BlockDevice,
  checkRange,
  coalesceExtents,
  readSectors,
  writeSectors,
} from './block-device.js';
export { MemoryBlockDevice } from './memory-device.js';
