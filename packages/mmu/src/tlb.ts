import { PAGE_SHIFT } from './constants.js';
import type { PhysicalPageListener } from './physical-memory.js';

/** log2 of the number of TLB entries. The tag layout below depends on it being 12. */
export const TLB_BITS = 12;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

/**
 * A tag identifies a linear page among those sharing an index (linear page bits 11:0). It keeps
 * linear bit 12 (page bit 0, so an access whose last byte falls in the next page never matches) and
 * bits 31:24 (page bits 19:12) where they are in the address, and address bits 47:32 in tag bits
 * 11:2 and 18:13. Tag bits 1:0 stay 0, so an aligned 16/32-bit access checks page and alignment in
 * one compare (`lin & (TAG_LO_MASK | 3)`); an unaligned one compares its last byte instead. Bit 23 is
 * never set in a computed tag: it marks an empty entry.
 */
export const TAG_LO_MASK = 0xff00_1000 | 0;
export const TAG_INVALID = 1 << 23;

/** Tag bits contributed by linear address bits 47:32 (`hi`), clear of bits 1:0 and 12. */
export function tagHigh(hi: number): number {
  return ((hi & 0x3ff) << 2) | ((hi & 0xfc00) << 3);
}

// Which tag arrays an entry is entered into: the access classes its translation permits directly.
export const PERM_SUP_READ = 1;
export const PERM_SUP_WRITE = 2;
export const PERM_USER_READ = 4;
export const PERM_USER_WRITE = 8;
export const PERM_SUP_FETCH = 16;
export const PERM_USER_FETCH = 32;

/**
 * A direct-mapped TLB of 4 KiB translations to RAM, as flat typed arrays. Each access class
 * (supervisor/user x read/write/fetch) has its own array of (tag, physical page) pairs, with the tag only where that access
 * may go straight to RAM: permitted by the paging rights, the page already dirty for writes, and the
 * physical page plain RAM (not ROM, MMIO, or code the CPU has cached, for writes). So a hit is one
 * compare. Anything else takes the slow path, which walks the page tables and refills the entry.
 * Translations of large pages are entered per 4 KiB piece and remember the size for INVLPG.
 */
/** One access class: (tag, physical page) pairs, so a hit reads one array. */
function emptyClass(): Int32Array {
  const a = new Int32Array(TLB_SIZE * 2);
  for (let i = 0; i < a.length; i += 2) a[i] = TAG_INVALID;
  return a;
}

export class Tlb implements PhysicalPageListener {
  readonly supRead = emptyClass();
  readonly supWrite = emptyClass();
  readonly userRead = emptyClass();
  readonly userWrite = emptyClass();
  readonly supFetch = emptyClass();
  readonly userFetch = emptyClass();
  /** Physical address of the 4 KiB page (below 4 GiB) as an int32 bit pattern. */
  readonly physBase = new Int32Array(TLB_SIZE);
  /** Linear page number bits 19:0 and address bits 47:32 of each entry, for INVLPG of large pages. */
  private readonly linPage = new Int32Array(TLB_SIZE);
  private readonly linHigh = new Int32Array(TLB_SIZE);
  /** log2(page size / 4 KiB) of the translation the entry came from: 0, 9, 10 or 18. */
  private readonly span = new Uint8Array(TLB_SIZE);
  private readonly global = new Uint8Array(TLB_SIZE);
  private readonly live = new Uint8Array(TLB_SIZE);
  /** Indexes of live entries, so a flush touches only those. */
  private readonly liveList = new Int32Array(TLB_SIZE);
  private liveCount = 0;
  private largeCount = 0;
  /** The largest span entered since the TLB was last empty of large pieces. */
  private maxSpan = 0;

  /** Enters a translation; `perms` is a PERM_* mask, `physPage` the 4 KiB-aligned physical address. */
  fill(linLo: number, linHi: number, physPage: number, perms: number, span: number, global: number): void {
    const i = (linLo >>> PAGE_SHIFT) & TLB_MASK;
    const tag = (linLo & TAG_LO_MASK) | tagHigh(linHi);
    if (this.live[i] === 0) {
      this.live[i] = 1;
      this.liveList[this.liveCount++] = i;
    } else if (this.span[i] !== 0 && --this.largeCount === 0) this.maxSpan = 0;
    const t = i << 1;
    const phys = physPage | 0;
    this.supRead[t] = (perms & PERM_SUP_READ) !== 0 ? tag : TAG_INVALID;
    this.supWrite[t] = (perms & PERM_SUP_WRITE) !== 0 ? tag : TAG_INVALID;
    this.userRead[t] = (perms & PERM_USER_READ) !== 0 ? tag : TAG_INVALID;
    this.userWrite[t] = (perms & PERM_USER_WRITE) !== 0 ? tag : TAG_INVALID;
    this.supFetch[t] = (perms & PERM_SUP_FETCH) !== 0 ? tag : TAG_INVALID;
    this.userFetch[t] = (perms & PERM_USER_FETCH) !== 0 ? tag : TAG_INVALID;
    this.supRead[t + 1] = phys;
    this.supWrite[t + 1] = phys;
    this.userRead[t + 1] = phys;
    this.userWrite[t + 1] = phys;
    this.supFetch[t + 1] = phys;
    this.userFetch[t + 1] = phys;
    this.physBase[i] = phys;
    this.linPage[i] = linLo >>> PAGE_SHIFT;
    this.linHigh[i] = linHi & 0xffff;
    this.span[i] = span;
    if (span !== 0) {
      this.largeCount++;
      if (span > this.maxSpan) this.maxSpan = span;
    }
    this.global[i] = global;
  }

  private clear(i: number): void {
    const t = i << 1;
    this.supRead[t] = TAG_INVALID;
    this.supWrite[t] = TAG_INVALID;
    this.userRead[t] = TAG_INVALID;
    this.userWrite[t] = TAG_INVALID;
    this.supFetch[t] = TAG_INVALID;
    this.userFetch[t] = TAG_INVALID;
    if (this.span[i] !== 0 && --this.largeCount === 0) this.maxSpan = 0;
    this.span[i] = 0;
    this.global[i] = 0;
  }

  /** Drops every entry, global ones included (CR0.PG, CR4.PGE changes). */
  flushAll(): void {
    this.flush(false);
  }

  /** Drops every entry except global ones (MOV to CR3). */
  flushNonGlobal(): void {
    this.flush(true);
  }

  private flush(keepGlobal: boolean): void {
    let kept = 0;
    for (let k = 0; k < this.liveCount; k++) {
      const i = this.liveList[k];
      if (keepGlobal && this.global[i] !== 0) this.liveList[kept++] = i;
      else {
        this.clear(i);
        this.live[i] = 0;
      }
    }
    this.liveCount = kept;
  }

  /**
   * INVLPG: drops the translation of the page holding the address, global or not, and — since one
   * large page fills many entries — every entry that came from a large page containing it.
   */
  invalidatePage(linLo: number, linHi: number): void {
    const page = linLo >>> PAGE_SHIFT;
    const hi = linHi & 0xffff;
    const i = page & TLB_MASK;
    if (this.live[i] !== 0 && this.linPage[i] === page && this.linHigh[i] === hi) this.clear(i);
    if (this.largeCount === 0) return;
    // Pieces of a large page of 2^s small pages sit at the 2^s indexes from its first page on.
    const s = this.maxSpan;
    const count = s >= TLB_BITS ? TLB_SIZE : 1 << s;
    const first = (page >>> s) << s;
    for (let k = 0; k < count; k++) {
      const j = (first + k) & TLB_MASK;
      const sj = this.span[j];
      if (sj !== 0 && this.linHigh[j] === hi && this.linPage[j] >>> sj === page >>> sj) this.clear(j);
    }
  }

  /** A physical page became code, or changed kind: no entry may reach it directly any more. */
  physicalPageChanged(page: number): void {
    const base = (page << PAGE_SHIFT) | 0;
    for (let k = 0; k < this.liveCount; k++) {
      const i = this.liveList[k];
      if (this.physBase[i] === base) this.clear(i);
    }
  }
}
