export { MemoryError, type MemoryErrorCode } from './errors.js';
export {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PAE,
  CR4_PGE,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  KIND_MMIO,
  KIND_RAM,
  KIND_ROM,
  KIND_UNMAPPED,
  MAX_RAM_SIZE,
  MMIO_SIZE_16,
  MMIO_SIZE_32,
  MMIO_SIZE_8,
  PAGE_SIZE,
  PAGING_32,
  PAGING_4LEVEL,
  PAGING_NONE,
  PAGING_PAE,
  PF_FETCH,
  PF_PRESENT,
  PF_RSVD,
  PF_USER,
  PF_WRITE,
  type PagingMode,
} from './constants.js';
export { type MmioHandler } from './mmio.js';
export {
  PhysicalMemory,
  type CodeWriteHandler,
  type MemoryRegionInfo,
  type PhysicalMemoryOptions,
  type PhysicalPageListener,
} from './physical-memory.js';
export { Mmu, type DebugTranslation, type MmuOptions } from './mmu.js';
export { CONTROL_GP, CONTROL_OK, PagingControls } from './paging-controls.js';
export { MMU_STATE_VERSION, type MmuState, validateMmuState } from './paging-state.js';
export { TLB_SIZE, Tlb } from './tlb.js';
