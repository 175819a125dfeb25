import {
  ACCESS_FETCH,
  ACCESS_USER,
  ACCESS_WRITE,
  PAGING_32,
  PAGING_NONE,
  PAGING_PAE,
  PF_FETCH,
  PF_PRESENT,
  PF_RSVD,
  type PagingMode,
} from './constants.js';
import type { PhysicalMemory } from './physical-memory.js';

// Paging-structure entry bits (Intel SDM Vol. 3A, 4.3 Tables 4-4..4-6; 4.4.2 Tables 4-8..4-11;
// 4.5.4 Tables 4-15..4-20).
const PTE_P = 1 << 0;
const PTE_RW = 1 << 1;
const PTE_US = 1 << 2;
const PTE_A = 1 << 5;
const PTE_D = 1 << 6;
const PTE_PS = 1 << 7;
const PTE_G = 1 << 8;
/** XD (bit 63) in the high dword of a 64-bit entry. */
const PTE_HI_XD = 1 << 31;
/** PAE PDPTE register bits that must be 0: 2:1 and 8:5 (SDM Vol. 3A, 4.4.1, Table 4-8). */
const PDPTE_RSVD_LO = 0x1e6;
/** 4 MiB PDE bit 21 is reserved (Table 4-4). */
const PDE4M_RSVD_BIT21 = 1 << 21;
/** Large-page bits between PAT (bit 12) and the page frame: 20:13 for 2 MiB, 29:13 for 1 GiB. */
const LARGE_2M_RSVD_LO = 0x001f_e000;
const LARGE_1G_RSVD_LO = 0x3fff_e000;
const TWO_POW_32 = 0x1_0000_0000;
const A20_BIT = 0x10_0000;

/** Result codes of loading the four PAE PDPTE registers. */
export const PDPTE_OK = 0;
export const PDPTE_INVALID = 1;

/**
 * The paging structures walker (SDM Vol. 3A, chapter 4): one instance per MMU, holding the paging
 * controls the MMU gives it and the outputs of the last walk (so a walk allocates nothing). A walk
 * either succeeds — `physical` and the effective rights are set — or returns false with the
 * page-fault `errorCode`. `commit` says whether to set accessed/dirty bits; the debug translation
 * walks without it.
 */
export class PageWalker {
  mode: PagingMode = PAGING_NONE;
  /** CR3 as a number (up to MAXPHYADDR bits). */
  cr3 = 0;
  wp = false;
  pse = false;
  pge = false;
  nxe = false;
  smep = false;
  a20 = true;
  /** The four PAE PDPTE registers as (low, high) dword pairs, loaded by `loadPdptes`. */
  readonly pdpte = new Int32Array(8);

  // Outputs of the last successful walk.
  /** Physical address of the accessed byte (A20 applied). */
  physical = 0;
  /** Effective rights combined over all levels, as 0/1. */
  user = 0;
  writable = 0;
  noExec = 0;
  /** Leaf dirty bit after the walk (set by a committed write). */
  dirty = 0;
  /** Leaf G bit with CR4.PGE set. */
  global = 0;
  /** log2 of the page size: 12, 21, 22 or 30. */
  sizeShift = 12;
  /** Error code of the last failed walk. */
  errorCode = 0;

  // Assigned once in the constructor (`declare`: never first defined as undefined).
  private declare readonly mem: PhysicalMemory;
  /** MAXPHYADDR, 32..52. */
  declare readonly maxPhysBits: number;
  private declare readonly addrHiMask: number;
  private declare readonly paeRsvdHi: number;
  private declare readonly longRsvdHi: number;
  private declare readonly pse36Mask: number;
  private declare readonly pse36RsvdLo: number;
  private declare readonly pdptRsvdHi: number;

  constructor(mem: PhysicalMemory, maxPhysBits: number) {
    this.mem = mem;
    this.maxPhysBits = maxPhysBits;
    const m = maxPhysBits;
    this.addrHiMask = (2 ** (m - 32) - 1) | 0;
    // PAE PDE/PTE: bits 62:M reserved (Tables 4-9..4-11). 4-level: bits 51:M (Tables 4-15..4-20).
    this.paeRsvdHi = 0x7fff_ffff & ~this.addrHiMask;
    this.longRsvdHi = 0x000f_ffff & ~this.addrHiMask;
    // PAE PDPTE registers: 63:M reserved, including the XD position.
    this.pdptRsvdHi = ~this.addrHiMask | 0;
    // PSE-36: PDE bits 20:13 hold physical bits 39:32; those above MAXPHYADDR are reserved (Table 4-4).
    const pseBits = Math.min(m, 40) - 32;
    this.pse36Mask = (1 << pseBits) - 1;
    this.pse36RsvdLo = (0xff & ~this.pse36Mask) << 13;
  }

  private entryAddress(base: number, index: number, size: number): number {
    const a = base + index * size;
    return this.a20 ? a : a - (a & A20_BIT);
  }

  private frame(lo: number, hi: number): number {
    return (hi & this.addrHiMask) * TWO_POW_32 + ((lo & 0xffff_f000) >>> 0);
  }

  /**
   * Sets A (and D) in an entry's low dword when not already set, as the processor's locked
   * read-modify-write does: re-read first, since an earlier update in this walk may have hit the
   * same entry (recursive page tables).
   */
  private setBits(address: number, lo: number, bits: number): void {
    if ((lo & bits) !== bits) this.mem.write32(address, this.mem.read32(address) | bits);
  }

  /**
   * Loads the PAE PDPTE registers from CR3 (SDM Vol. 3A, 4.4.1). Returns PDPTE_INVALID when a present
   * entry has reserved bits set; the caller then raises #GP(0) and leaves the control register unchanged.
   */
  loadPdptes(cr3: number): number {
    const base = cr3 - (cr3 & 0x1f);
    const tmp = this.pdptScratch;
    for (let i = 0; i < 4; i++) {
      const a = this.entryAddress(base, i, 8);
      const lo = this.mem.read32(a);
      const hi = this.mem.read32(a + 4);
      if ((lo & PTE_P) !== 0 && ((lo & PDPTE_RSVD_LO) !== 0 || (hi & this.pdptRsvdHi) !== 0)) return PDPTE_INVALID;
      tmp[i * 2] = lo;
      tmp[i * 2 + 1] = hi;
    }
    this.pdpte.set(tmp);
    return PDPTE_OK;
  }
  private readonly pdptScratch = new Int32Array(8);

  /** Walks for linear address (lo: bits 31:0, hi: bits 47:32) and access kind; see class doc. */
  walk(lo: number, hi: number, access: number, commit: boolean): boolean {
    switch (this.mode) {
      case PAGING_NONE: {
        const a = lo >>> 0;
        this.physical = this.a20 ? a : a - (a & A20_BIT);
        this.user = 1;
        this.writable = 1;
        this.noExec = 0;
        this.dirty = 1;
        this.global = 0;
        this.sizeShift = 12;
        return true;
      }
      case PAGING_32:
        return this.walk32(lo, access, commit);
      case PAGING_PAE:
        return this.walkPae(lo, access, commit);
      default:
        return this.walk4(lo, hi, access, commit);
    }
  }

  private notPresent(access: number): false {
    this.errorCode = access & (ACCESS_WRITE | ACCESS_USER) | this.fetchBit(access);
    return false;
  }

  private reserved(access: number): false {
    this.errorCode = PF_PRESENT | PF_RSVD | (access & (ACCESS_WRITE | ACCESS_USER)) | this.fetchBit(access);
    return false;
  }

  /** I/D is reported only when execute-disable or SMEP can apply (SDM Vol. 3A, 4.7). */
  private fetchBit(access: number): number {
    if ((access & ACCESS_FETCH) === 0) return 0;
    return this.smep || (this.nxe && this.mode !== PAGING_32) ? PF_FETCH : 0;
  }

  /** Applies the rights check to the combined rights (SDM Vol. 3A, 4.6); sets errorCode on a violation. */
  private permitted(access: number, user: number, writable: number, noExec: number): boolean {
    let ok = true;
    if ((access & ACCESS_USER) !== 0) {
      if (user === 0) ok = false;
      else if ((access & ACCESS_WRITE) !== 0 && writable === 0) ok = false;
      else if ((access & ACCESS_FETCH) !== 0 && noExec !== 0) ok = false;
    } else if ((access & ACCESS_WRITE) !== 0) {
      if (writable === 0 && this.wp) ok = false;
    } else if ((access & ACCESS_FETCH) !== 0) {
      if (noExec !== 0 || (this.smep && user !== 0)) ok = false;
    }
    if (!ok) this.errorCode = PF_PRESENT | (access & (ACCESS_WRITE | ACCESS_USER)) | this.fetchBit(access);
    return ok;
  }

  private finish(leafAddr: number, leafLo: number, access: number, commit: boolean): void {
    const write = (access & ACCESS_WRITE) !== 0;
    if (commit) this.setBits(leafAddr, leafLo, write ? PTE_A | PTE_D : PTE_A);
    this.dirty = write && commit ? 1 : (leafLo & PTE_D) !== 0 ? 1 : 0;
    this.global = this.pge && (leafLo & PTE_G) !== 0 ? 1 : 0;
  }

  // 32-bit paging (SDM Vol. 3A, 4.3).
  private walk32(lin: number, access: number, commit: boolean): boolean {
    const pdeAddr = this.entryAddress(this.cr3 - (this.cr3 & 0xfff), lin >>> 22, 4);
    const pde = this.mem.read32(pdeAddr);
    if ((pde & PTE_P) === 0) return this.notPresent(access);
    if ((pde & PTE_PS) !== 0 && this.pse) {
      if ((pde & (PDE4M_RSVD_BIT21 | this.pse36RsvdLo)) !== 0) return this.reserved(access);
      const user = (pde >>> 2) & 1;
      const writable = (pde >>> 1) & 1;
      if (!this.permitted(access, user, writable, 0)) return false;
      const base = ((pde >>> 13) & this.pse36Mask) * TWO_POW_32 + ((pde & 0xffc0_0000) >>> 0);
      this.setResult(base + (lin & 0x3f_ffff), user, writable, 0, 22);
      this.finish(pdeAddr, pde, access, commit);
      return true;
    }
    const pteAddr = this.entryAddress((pde & 0xffff_f000) >>> 0, (lin >>> 12) & 0x3ff, 4);
    const pte = this.mem.read32(pteAddr);
    if ((pte & PTE_P) === 0) return this.notPresent(access);
    const user = (pde & pte & PTE_US) >>> 2;
    const writable = (pde & pte & PTE_RW) >>> 1;
    if (!this.permitted(access, user, writable, 0)) return false;
    if (commit) this.setBits(pdeAddr, pde, PTE_A);
    this.setResult(((pte & 0xffff_f000) >>> 0) + (lin & 0xfff), user, writable, 0, 12);
    this.finish(pteAddr, pte, access, commit);
    return true;
  }

  private setResult(physical: number, user: number, writable: number, noExec: number, sizeShift: number): void {
    this.physical = this.a20 ? physical : physical - (physical & A20_BIT);
    this.user = user;
    this.writable = writable;
    this.noExec = noExec;
    this.sizeShift = sizeShift;
  }

  // PAE paging (SDM Vol. 3A, 4.4): PDPTE registers, then 64-bit PDE and PTE.
  private walkPae(lin: number, access: number, commit: boolean): boolean {
    const i = (lin >>> 30) * 2;
    const pdpLo = this.pdpte[i];
    if ((pdpLo & PTE_P) === 0) return this.notPresent(access);
    const rsvdHi = this.nxe ? this.paeRsvdHi : this.paeRsvdHi | PTE_HI_XD;
    const pdeAddr = this.entryAddress(this.frame(pdpLo, this.pdpte[i + 1]), (lin >>> 21) & 0x1ff, 8);
    const pdeLo = this.mem.read32(pdeAddr);
    if ((pdeLo & PTE_P) === 0) return this.notPresent(access);
    const pdeHi = this.mem.read32(pdeAddr + 4);
    if ((pdeHi & rsvdHi) !== 0) return this.reserved(access);
    if ((pdeLo & PTE_PS) !== 0) {
      if ((pdeLo & LARGE_2M_RSVD_LO) !== 0) return this.reserved(access);
      return this.leaf64(pdeAddr, pdeLo, pdeHi, lin & 0x1f_ffff, 21, 1, 1, 0, access, commit);
    }
    const pteAddr = this.entryAddress(this.frame(pdeLo, pdeHi), (lin >>> 12) & 0x1ff, 8);
    const pteLo = this.mem.read32(pteAddr);
    if ((pteLo & PTE_P) === 0) return this.notPresent(access);
    const pteHi = this.mem.read32(pteAddr + 4);
    if ((pteHi & rsvdHi) !== 0) return this.reserved(access);
    const user = (pdeLo >>> 2) & 1;
    const writable = (pdeLo >>> 1) & 1;
    const noExec = this.nxe ? pdeHi >>> 31 : 0;
    if (!this.leaf64(pteAddr, pteLo, pteHi, lin & 0xfff, 12, user, writable, noExec, access, commit)) return false;
    if (commit) this.setBits(pdeAddr, pdeLo, PTE_A);
    return true;
  }

  /** Combines a leaf's rights with those of the levels above, checks them and records the result. */
  private leaf64(
    addr: number,
    lo: number,
    hi: number,
    offset: number,
    sizeShift: number,
    upUser: number,
    upWritable: number,
    upNoExec: number,
    access: number,
    commit: boolean,
  ): boolean {
    const user = upUser & (lo >>> 2) & 1;
    const writable = upWritable & (lo >>> 1) & 1;
    const noExec = this.nxe ? upNoExec | (hi >>> 31) : 0;
    if (!this.permitted(access, user, writable, noExec)) return false;
    // A large page's frame keeps only the address bits above its size; PAT (bit 12) is not address.
    const frame = this.frame(lo, hi);
    const base = sizeShift === 12 ? frame : frame - (frame % 2 ** sizeShift);
    this.setResult(base + offset, user, writable, noExec, sizeShift);
    this.finish(addr, lo, access, commit);
    return true;
  }

  // 4-level paging (SDM Vol. 3A, 4.5): PML4E, PDPTE (1 GiB pages), PDE (2 MiB pages), PTE.
  private walk4(lo: number, hi: number, access: number, commit: boolean): boolean {
    const rsvdHi = this.nxe ? this.longRsvdHi : this.longRsvdHi | PTE_HI_XD;
    const pml4Addr = this.entryAddress(this.cr3 - (this.cr3 % 4096), (hi >>> 7) & 0x1ff, 8);
    const pml4Lo = this.mem.read32(pml4Addr);
    if ((pml4Lo & PTE_P) === 0) return this.notPresent(access);
    const pml4Hi = this.mem.read32(pml4Addr + 4);
    if ((pml4Hi & rsvdHi) !== 0 || (pml4Lo & PTE_PS) !== 0) return this.reserved(access);
    let user = (pml4Lo >>> 2) & 1;
    let writable = (pml4Lo >>> 1) & 1;
    let noExec = this.nxe ? pml4Hi >>> 31 : 0;

    const pdptAddr = this.entryAddress(this.frame(pml4Lo, pml4Hi), ((hi & 0x7f) << 2) | (lo >>> 30), 8);
    const pdptLo = this.mem.read32(pdptAddr);
    if ((pdptLo & PTE_P) === 0) return this.notPresent(access);
    const pdptHi = this.mem.read32(pdptAddr + 4);
    if ((pdptHi & rsvdHi) !== 0) return this.reserved(access);
    if ((pdptLo & PTE_PS) !== 0) {
      if ((pdptLo & LARGE_1G_RSVD_LO) !== 0) return this.reserved(access);
      if (!this.leaf64(pdptAddr, pdptLo, pdptHi, lo & 0x3fff_ffff, 30, user, writable, noExec, access, commit)) return false;
      if (commit) this.setBits(pml4Addr, pml4Lo, PTE_A);
      return true;
    }
    user &= (pdptLo >>> 2) & 1;
    writable &= (pdptLo >>> 1) & 1;
    if (this.nxe) noExec |= pdptHi >>> 31;

    const pdeAddr = this.entryAddress(this.frame(pdptLo, pdptHi), (lo >>> 21) & 0x1ff, 8);
    const pdeLo = this.mem.read32(pdeAddr);
    if ((pdeLo & PTE_P) === 0) return this.notPresent(access);
    const pdeHi = this.mem.read32(pdeAddr + 4);
    if ((pdeHi & rsvdHi) !== 0) return this.reserved(access);
    if ((pdeLo & PTE_PS) !== 0) {
      if ((pdeLo & LARGE_2M_RSVD_LO) !== 0) return this.reserved(access);
      if (!this.leaf64(pdeAddr, pdeLo, pdeHi, lo & 0x1f_ffff, 21, user, writable, noExec, access, commit)) return false;
    } else {
      const u = user & (pdeLo >>> 2) & 1;
      const w = writable & (pdeLo >>> 1) & 1;
      const x = this.nxe ? noExec | (pdeHi >>> 31) : 0;
      const pteAddr = this.entryAddress(this.frame(pdeLo, pdeHi), (lo >>> 12) & 0x1ff, 8);
      const pteLo = this.mem.read32(pteAddr);
      if ((pteLo & PTE_P) === 0) return this.notPresent(access);
      const pteHi = this.mem.read32(pteAddr + 4);
      if ((pteHi & rsvdHi) !== 0) return this.reserved(access);
      if (!this.leaf64(pteAddr, pteLo, pteHi, lo & 0xfff, 12, u, w, x, access, commit)) return false;
      if (commit) this.setBits(pdeAddr, pdeLo, PTE_A);
    }
    if (commit) {
      this.setBits(pdptAddr, pdptLo, PTE_A);
      this.setBits(pml4Addr, pml4Lo, PTE_A);
    }
    return true;
  }
}
