/** Size of a page and of a kind-table granule (4 KiB). */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

/** The physical address space the kind table covers: 4 GiB, one entry per 4 KiB page. */
export const PHYS_PAGES = 1 << 20;
export const PHYS_LIMIT = 0x1_0000_0000;

/** The largest RAM this package allocates as one ArrayBuffer (3.5 GiB, leaving a 512 MiB hole for MMIO). */
export const MAX_RAM_SIZE = 0xe000_0000;

// Per-page kind table values. The low two bits are the kind; KIND_CODE_FLAG marks a RAM page that
// holds code the CPU has cached in decoded form, which takes writes off the fast path.
export const KIND_UNMAPPED = 0;
export const KIND_RAM = 1;
export const KIND_ROM = 2;
export const KIND_MMIO = 3;
export const KIND_MASK = 3;
export const KIND_CODE_FLAG = 4;

// Access sizes an MMIO handler declares it implements (a bit mask).
export const MMIO_SIZE_8 = 1;
export const MMIO_SIZE_16 = 2;
export const MMIO_SIZE_32 = 4;

// Access kinds for translate(). The bit positions equal the page-fault error-code bits they cause
// (Intel SDM Vol. 3A, 4.7 "Page-Fault Exceptions"), so an access kind ORs straight into an error code.
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1 << 1;
export const ACCESS_USER = 1 << 2;
export const ACCESS_FETCH = 1 << 4;

// Page-fault error code bits (SDM Vol. 3A, 4.7, Figure 4-12).
export const PF_PRESENT = 1 << 0;
export const PF_WRITE = 1 << 1;
export const PF_USER = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_FETCH = 1 << 4;

// Control register and EFER bits used by paging (SDM Vol. 3A, 2.5 and 2.2.1).
export const CR0_PE = 1 << 0;
export const CR0_WP = 1 << 16;
export const CR0_PG = 1 << 31;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_PGE = 1 << 7;
export const CR4_SMEP = 1 << 20;
export const CR4_SMAP = 1 << 21;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

/** Which translation structure CR0/CR4/EFER select (SDM Vol. 3A, 4.1.1, Table 4-1). */
export const PAGING_NONE = 0;
export const PAGING_32 = 1;
export const PAGING_PAE = 2;
export const PAGING_4LEVEL = 3;
export type PagingMode = typeof PAGING_NONE | typeof PAGING_32 | typeof PAGING_PAE | typeof PAGING_4LEVEL;
