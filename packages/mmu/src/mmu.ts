import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  KIND_MASK,
  KIND_RAM,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGING_4LEVEL,
  PHYS_LIMIT,
  type PagingMode,
} from './constants.js';
import { MemoryError } from './errors.js';
import { PagingControls } from './paging-controls.js';
import { MMU_STATE_VERSION, type MmuState, validateMmuState } from './paging-state.js';
import type { PhysicalMemory } from './physical-memory.js';
import {
  PERM_SUP_FETCH,
  PERM_SUP_READ,
  PERM_SUP_WRITE,
  PERM_USER_FETCH,
  PERM_USER_READ,
  PERM_USER_WRITE,
  Tlb,
} from './tlb.js';

// The hot path uses module-local copies of PAGE_SHIFT, PAGE_MASK and tlb.ts's TLB_MASK and
// TAG_LO_MASK: V8 folds a local `const` into the code, while an imported binding is a load (and a
// check) on every access. The rule and randomized tests fail if these drift from tlb.ts.
const H_PAGE_SHIFT = 12;
const H_PAGE_MASK = 0xfff;
const H_TLB_MASK = 0xfff;
const H_TAG = 0xff00_1000 | 0;

/** Options of an MMU. */
export interface MmuOptions {
  /** MAXPHYADDR, the physical address width paging checks reserved bits against: 32..52, default 36. */
  maxPhysAddrBits?: number;
}

/** What `debugTranslate` finds, without touching the guest. */
export interface DebugTranslation {
  /** Physical address, or -1 when the access would fault. */
  readonly physical: number;
  /** The page-fault error code the access would raise (0 when it would not). */
  readonly errorCode: number;
  /** Size of the page mapping the address, in bytes. */
  readonly pageSize: number;
  readonly user: boolean;
  readonly writable: boolean;
  readonly noExec: boolean;
  readonly global: boolean;
}

/**
 * The CPU's view of memory: linear addresses through paging, the A20 gate and a TLB onto a
 * `PhysicalMemory`. Paging controls (CR0/CR3/CR4/EFER, A20, INVLPG) live on the base class; this
 * class holds the per-access API. A page fault is a value: accessors return 0 (reads) or store
 * nothing (writes) and set `pageFault`, `faultErrorCode` and `faultAddress`.
 */
export class Mmu extends PagingControls {
  /** Set by a faulting access; the CPU clears it when it delivers #PF. */
  pageFault = false;
  /** The page-fault error code (PF_* bits). */
  faultErrorCode = 0;
  /** CR2 bits 31:0 as an unsigned number. */
  faultAddress = 0;
  /** CR2 bits 63:32 (the sign extension of bit 47 in 4-level paging; 0 otherwise), as int32. */
  faultAddressHigh = 0;

  private userAccess = 0;
  // `declare`: assigned once in the constructor, never first defined as undefined, so V8 keeps
  // precise field types (a typed array map, not "anything") and the hot path needs no checks.
  declare readonly phys: PhysicalMemory;
  private declare rTags: Int32Array;
  private declare wTags: Int32Array;
  private declare xTags: Int32Array;
  private declare readonly ram: Uint8Array;
  private declare readonly ram16: Uint16Array;
  private declare readonly ram32: Int32Array;
  private declare readonly ramView: DataView;

  constructor(phys: PhysicalMemory, options: MmuOptions = {}) {
    const bits = options.maxPhysAddrBits ?? 36;
    if (!Number.isInteger(bits) || bits < 32 || bits > 52) {
      throw new MemoryError('InvalidArgument', `maxPhysAddrBits ${String(bits)} must be an integer from 32 to 52`);
    }
    const tlb = new Tlb();
    super(phys, tlb, bits);
    this.phys = phys;
    phys.addPageListener(tlb);
    this.rTags = tlb.supRead;
    this.wTags = tlb.supWrite;
    this.xTags = tlb.supFetch;
    this.ram = phys.ram;
    this.ram16 = phys.ram16;
    this.ram32 = phys.ram32;
    this.ramView = phys.ramView;
  }

  /** The privilege level ordinary accesses are checked with: 3 is user, 0-2 supervisor. */
  setCpl(cpl: number): void {
    this.cpl = cpl & 3;
    const user = this.cpl === 3;
    this.userAccess = user ? ACCESS_USER : 0;
    this.rTags = user ? this.tlb.userRead : this.tlb.supRead;
    this.wTags = user ? this.tlb.userWrite : this.tlb.supWrite;
    this.xTags = user ? this.tlb.userFetch : this.tlb.supFetch;
  }

  // ---- hot path: 32-bit linear addresses with the current CPL's rights -----------------------

  read8(lin: number): number {
    const t = this.rTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & H_TAG)) return this.ram[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 0];
    return this.readSlow(lin | 0, 0, 1, this.userAccess);
  }

  read16(lin: number): number {
    const t = this.rTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    // Aligned, so inside one page: the tag and the alignment in one compare.
    if (t[i] === (lin & (H_TAG | 1))) return this.ram16[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 1];
    return this.read16Unaligned(lin | 0, t, i);
  }

  read32(lin: number): number {
    const t = this.rTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & (H_TAG | 3))) return this.ram32[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 2];
    return this.read32Unaligned(lin | 0, t, i);
  }

  /** An unaligned access inside one cached page is still direct; anything else walks. */
  private read16Unaligned(lin: number, t: Int32Array, i: number): number {
    if (t[i] === ((lin + 1) & H_TAG)) return this.ramView.getUint16((t[i + 1] | (lin & H_PAGE_MASK)) >>> 0, true);
    return this.readSlow(lin, 0, 2, this.userAccess);
  }

  private read32Unaligned(lin: number, t: Int32Array, i: number): number {
    if (t[i] === ((lin + 3) & H_TAG)) return this.ramView.getInt32((t[i + 1] | (lin & H_PAGE_MASK)) >>> 0, true);
    return this.readSlow(lin, 0, 4, this.userAccess);
  }

  write8(lin: number, value: number): void {
    const t = this.wTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & H_TAG)) this.ram[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 0] = value;
    else this.writeSlow(lin | 0, 0, 1, value, ACCESS_WRITE | this.userAccess);
  }

  write16(lin: number, value: number): void {
    const t = this.wTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & (H_TAG | 1))) this.ram16[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 1] = value;
    else this.write16Unaligned(lin | 0, value, t, i);
  }

  write32(lin: number, value: number): void {
    const t = this.wTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & (H_TAG | 3))) this.ram32[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 2] = value;
    else this.write32Unaligned(lin | 0, value, t, i);
  }

  private write16Unaligned(lin: number, value: number, t: Int32Array, i: number): void {
    if (t[i] === ((lin + 1) & H_TAG)) this.ramView.setUint16((t[i + 1] | (lin & H_PAGE_MASK)) >>> 0, value, true);
    else this.writeSlow(lin, 0, 2, value, ACCESS_WRITE | this.userAccess);
  }

  private write32Unaligned(lin: number, value: number, t: Int32Array, i: number): void {
    if (t[i] === ((lin + 3) & H_TAG)) this.ramView.setInt32((t[i + 1] | (lin & H_PAGE_MASK)) >>> 0, value, true);
    else this.writeSlow(lin, 0, 4, value, ACCESS_WRITE | this.userAccess);
  }

  /** Reads an instruction byte (execute rights: NX, SMEP). */
  fetch8(lin: number): number {
    const t = this.xTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & H_TAG)) return this.ram[(t[i + 1] | (lin & H_PAGE_MASK)) >>> 0];
    return this.readSlow(lin | 0, 0, 1, ACCESS_FETCH | this.userAccess);
  }

  /**
   * Translates an instruction address with the current CPL's execute rights: the physical address,
   * or -1 with the fault fields set. For a CPU that reads code from `phys` (and marks code pages).
   */
  translateFetch(lin: number): number {
    // A TLB hit (the CPU asks once per instruction) needs no walk: the entry was filled by one.
    const t = this.xTags;
    const i = ((lin >>> H_PAGE_SHIFT) & H_TLB_MASK) << 1;
    if (t[i] === (lin & H_TAG)) return (t[i + 1] | (lin & H_PAGE_MASK)) >>> 0;
    return this.translate(lin | 0, 0, ACCESS_FETCH | this.userAccess);
  }

  /**
   * Checks that `size` bytes from `lin` (any length, any alignment) may be written with the current
   * CPL's rights, walking every page they touch in address order and setting their dirty bits, without
   * storing anything. For instructions that store several values (far CALL, PUSHA, ENTER, an 8-byte
   * store) and must fault before the first store. Returns false with the fault fields set.
   */
  probeWrite(lin: number, size: number): boolean {
    const access = ACCESS_WRITE | this.userAccess;
    let page = lin | 0;
    let left = size;
    while (left > 0) {
      if (this.translate(page, 0, access) < 0) return false;
      const inPage = PAGE_MASK + 1 - (page & PAGE_MASK);
      left -= inPage;
      page = (page + inPage) | 0;
    }
    return true;
  }

  /** An 8-byte store (low dword at `lin`): both halves are checked before either is stored. */
  write64(lin: number, low: number, high: number): void {
    if (!this.probeWrite(lin, 8)) return;
    this.write32(lin, low);
    this.write32((lin + 4) | 0, high);
  }

  // ---- implicit supervisor accesses (descriptor tables, TSS), any CPL --------------------------

  readSystem8(lin: number): number {
    return this.readSlow(lin | 0, 0, 1, ACCESS_READ);
  }
  readSystem16(lin: number): number {
    return this.readSlow(lin | 0, 0, 2, ACCESS_READ);
  }
  readSystem32(lin: number): number {
    return this.readSlow(lin | 0, 0, 4, ACCESS_READ);
  }
  writeSystem8(lin: number, value: number): void {
    this.writeSlow(lin | 0, 0, 1, value, ACCESS_WRITE);
  }
  writeSystem16(lin: number, value: number): void {
    this.writeSlow(lin | 0, 0, 2, value, ACCESS_WRITE);
  }
  writeSystem32(lin: number, value: number): void {
    this.writeSlow(lin | 0, 0, 4, value, ACCESS_WRITE);
  }

  // ---- any address, any access kind -----------------------------------------------------------

  /**
   * Translates linear address (`lin`: bits 31:0, `linHigh`: bits 47:32 in 64-bit mode, else 0) for an
   * access kind (ACCESS_* bits). Returns the physical address, or -1 with the fault fields set.
   * Sets accessed/dirty bits as the processor does and fills the TLB.
   */
  translate(lin: number, linHigh: number, access: number): number {
    const lo = lin | 0;
    const hi = this.pagingMode === PAGING_4LEVEL ? linHigh & 0xffff : 0;
    const w = this.walker;
    if (!w.walk(lo, hi, access, true)) {
      this.pageFault = true;
      this.faultErrorCode = w.errorCode;
      this.faultAddress = lo >>> 0;
      this.faultAddressHigh = (hi << 16) >> 16;
      return -1;
    }
    const physical = w.physical;
    if (physical < PHYS_LIMIT) this.fillTlb(lo, hi, physical);
    return physical;
  }

  private fillTlb(lo: number, hi: number, physical: number): void {
    const w = this.walker;
    const page = (physical - (physical & PAGE_MASK)) | 0;
    const kind = this.phys.kinds[page >>> PAGE_SHIFT];
    if ((kind & KIND_MASK) !== KIND_RAM) return;
    const plain = kind === KIND_RAM && w.dirty !== 0;
    const user = w.user !== 0;
    const exec = w.noExec === 0;
    let perms = PERM_SUP_READ;
    if (plain && (w.writable !== 0 || !w.wp)) perms |= PERM_SUP_WRITE;
    if (exec && !(w.smep && user)) perms |= PERM_SUP_FETCH;
    if (user) {
      perms |= PERM_USER_READ;
      if (plain && w.writable !== 0) perms |= PERM_USER_WRITE;
      if (exec) perms |= PERM_USER_FETCH;
    }
    this.tlb.fill(lo, hi, page, perms, w.sizeShift - PAGE_SHIFT, w.global);
  }


  /**
   * Reads `size` bytes at (lo, hi) with `access` rights: page-crossing, non-RAM and TLB misses. An
   * access crossing the top of the 32-bit linear space wraps to 0, as 32-bit addressing does.
   */
  private readSlow(lo: number, hi: number, size: number, access: number): number {
    const p1 = this.translate(lo, hi, access);
    if (p1 < 0) return 0;
    const first = PAGE_MASK + 1 - (lo & PAGE_MASK);
    const phys = this.phys;
    if (first >= size) return size === 1 ? phys.read8(p1) : size === 2 ? phys.read16(p1) : phys.read32(p1);
    const lo2 = ((lo | PAGE_MASK) + 1) | 0;
    const p2 = this.translate(lo2, hi, access);
    if (p2 < 0) return 0;
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = (v << 8) | phys.read8(k < first ? p1 + k : p2 + (k - first));
    return size === 4 ? v | 0 : v;
  }

  /** Writes `size` bytes at (lo, hi): both pages of a crossing access are checked before any byte is stored. */
  private writeSlow(lo: number, hi: number, size: number, value: number, access: number): void {
    const p1 = this.translate(lo, hi, access);
    if (p1 < 0) return;
    const first = PAGE_MASK + 1 - (lo & PAGE_MASK);
    const phys = this.phys;
    if (first >= size) {
      if (size === 1) phys.write8(p1, value);
      else if (size === 2) phys.write16(p1, value);
      else phys.write32(p1, value);
      return;
    }
    const lo2 = ((lo | PAGE_MASK) + 1) | 0;
    const p2 = this.translate(lo2, hi, access);
    if (p2 < 0) return;
    for (let k = 0; k < size; k++) phys.write8(k < first ? p1 + k : p2 + (k - first), (value >>> (k * 8)) & 0xff);
  }

  /** The translation an access would get, without setting A/D bits, filling the TLB or reporting a fault. */
  debugTranslate(lin: number, linHigh: number, access: number): DebugTranslation {
    const w = this.walker;
    const hi = this.pagingMode === PAGING_4LEVEL ? linHigh & 0xffff : 0;
    const ok = w.walk(lin | 0, hi, access, false);
    return {
      physical: ok ? w.physical : -1,
      errorCode: ok ? 0 : w.errorCode,
      pageSize: ok ? 2 ** w.sizeShift : 0,
      user: ok && w.user !== 0,
      writable: ok && w.writable !== 0,
      noExec: ok && w.noExec !== 0,
      global: ok && w.global !== 0,
    };
  }

  /** The paging context and PDPTE registers as plain data, for a snapshot. */
  saveState(): MmuState {
    return { version: MMU_STATE_VERSION, ...this.controlsState(), cpl: this.cpl };
  }

  /** Restores `saveState()` output (validated as untrusted input; MemoryError `InvalidState` if bad). */
  loadState(state: unknown): void {
    const s = validateMmuState(state);
    this.restoreControls(s.cr0, s.cr3, s.cr4, s.efer, s.a20, s.pdpte);
    this.setCpl(s.cpl);
    this.pageFault = false;
  }

  /** The paging structure in use. */
  get mode(): PagingMode {
    return this.pagingMode;
  }
}
