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
export { CACHE_MODES, type CacheMode, type HostFile, MemoryHostFile, NodeHostFile, readExact } from './host-file.js';
export {
  type CheckReport,
  type CreateOptions,
  type FormatInfo,
  type ImageDevice,
  type ImageFormat,
  type OpenContext,
  type ProbeInput,
  type SnapshotInfo,
  type SnapshotStore,
} from './image-format.js';
export { FormatRegistry, PROBE_HEAD_BYTES, PROBE_TAIL_BYTES, readProbeInput } from './format-registry.js';
export { FORMATS } from './formats.js';
export { readBacking } from './backing.js';
export {
  createImage,
  type CreateImageOptions,
  MAX_CHAIN_DEPTH,
  openImage,
  type OpenImageOptions,
  resolveRelative,
} from './open-image.js';
export { RawDevice, rawFormat } from './raw.js';
export { qcow2Format } from './qcow2-format.js';
export { Qcow2Device } from './qcow2-device.js';
export { parseSize } from './qcow2-create.js';
export { imageInfo, type ImageInfoJson } from './image-info.js';
export { copyImage, type CopyOptions } from './convert.js';
export { compareImages, type CompareResult } from './compare.js';
export { measureImage, type MeasureResult } from './measure.js';
export { commitImage, rebaseImage } from './chain-ops.js';
export { vhdFormat, vhdVirtualSize } from './vhd-format.js';
export { VhdImage } from './vhd.js';
export { type ChsGeometry, vhdGeometry, vhdSizeForCreate } from './vhd-geometry.js';
export { vhdxFormat } from './vhdx-format.js';
export { VhdxImage } from './vhdx.js';
export { vmdkFormat } from './vmdk-format.js';
export { VmdkImage } from './vmdk.js';
export { crc32c } from './crc32c.js';
