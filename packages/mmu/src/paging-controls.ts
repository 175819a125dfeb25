import {
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
  PAGING_32,
  PAGING_4LEVEL,
  PAGING_NONE,
  PAGING_PAE,
  type PagingMode,
} from './constants.js';
import { PageWalker, PDPTE_OK } from './page-walker.js';
import type { PhysicalMemory } from './physical-memory.js';
import type { Tlb } from './tlb.js';

/** A control-register write took effect. */
export const CONTROL_OK = 0;
/** A control-register write must raise #GP(0) and leave the register unchanged (the vector number). */
export const CONTROL_GP = 13;

const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
/** CR0 bits whose change reloads the PDPTE registers in PAE paging (SDM Vol. 3A, 4.4.1). */
const CR0_PDPTE_RELOAD = CR0_PG | CR0_CD | CR0_NW;
/** CR4 bits whose change reloads the PDPTE registers in PAE paging (SDM Vol. 3A, 4.4.1). */
const CR4_PDPTE_RELOAD = CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP | CR4_SMAP;
/**
 * CR4 bits our TLB entries depend on. SDM Vol. 3A, 4.10.4.1 requires a full flush when PGE changes
 * and a non-global one when PAE changes or SMEP is set; entries here also encode PSE and SMEP in
 * their rights, so any change to these drops everything — flushing more is always architectural.
 */
const CR4_TLB_BITS = CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP;

function modeOf(cr0: number, cr4: number, efer: number): PagingMode {
  if ((cr0 & CR0_PG) === 0) return PAGING_NONE;
  if ((cr4 & CR4_PAE) === 0) return PAGING_32;
  return (efer & EFER_LME) !== 0 ? PAGING_4LEVEL : PAGING_PAE;
}

/**
 * The paging context the CPU keeps up to date: CR0, CR3, CR4, EFER, CPL and the A20 gate, and the
 * TLB invalidations those writes imply (SDM Vol. 3A, 4.10.4). Setters return CONTROL_OK or
 * CONTROL_GP; they check what only the paging hardware knows (PDPTE reserved bits, paging-mode
 * combinations) and leave the rest of the MOV-to-CR checks to the CPU.
 */
export class PagingControls {
  protected declare readonly walker: PageWalker;
  declare readonly tlb: Tlb;
  cr0 = 0;
  cr3 = 0;
  cr4 = 0;
  /** EFER without LMA; `efer` reports LMA as the processor computes it. */
  private eferBits = 0;
  cpl = 0;
  pagingMode: PagingMode = PAGING_NONE;
  a20Enabled = true;

  constructor(physical: PhysicalMemory, tlb: Tlb, maxPhysAddrBits: number) {
    this.tlb = tlb;
    this.walker = new PageWalker(physical, maxPhysAddrBits);
  }

  /** IA32_EFER with LMA = LME and CR0.PG. */
  get efer(): number {
    return this.pagingMode === PAGING_4LEVEL ? this.eferBits | EFER_LMA : this.eferBits;
  }

  private apply(cr0: number, cr3: number, cr4: number, efer: number, reloadPdptes: boolean): number {
    const mode = modeOf(cr0, cr4, efer);
    if (mode === PAGING_PAE && reloadPdptes && this.walker.loadPdptes(cr3) !== PDPTE_OK) return CONTROL_GP;
    this.cr0 = cr0;
    this.cr3 = cr3;
    this.cr4 = cr4;
    this.eferBits = efer;
    this.pagingMode = mode;
    const w = this.walker;
    w.mode = mode;
    w.cr3 = cr3;
    w.wp = (cr0 & CR0_WP) !== 0;
    w.pse = (cr4 & CR4_PSE) !== 0;
    w.pge = (cr4 & CR4_PGE) !== 0;
    w.smep = (cr4 & CR4_SMEP) !== 0;
    w.nxe = (efer & EFER_NXE) !== 0;
    return CONTROL_OK;
  }

  /** MOV to CR0. A PG or WP change flushes the whole TLB (our entries encode WP in their rights). */
  setCr0(value: number): number {
    const v = value | 0;
    const changed = this.cr0 ^ v;
    if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) return CONTROL_GP;
    if ((v & CR0_PG) !== 0 && (this.eferBits & EFER_LME) !== 0 && (this.cr4 & CR4_PAE) === 0) return CONTROL_GP;
    const status = this.apply(v, this.cr3, this.cr4, this.eferBits, (changed & CR0_PDPTE_RELOAD) !== 0);
    if (status === CONTROL_OK && (changed & (CR0_PG | CR0_WP)) !== 0) this.tlb.flushAll();
    return status;
  }

  /**
   * MOV to CR3 (`value` may exceed 32 bits in PAE and 4-level paging). Drops all but global
   * translations; in PAE paging loads the PDPTE registers.
   */
  setCr3(value: number): number {
    const status = this.apply(this.cr0, value, this.cr4, this.eferBits, true);
    if (status === CONTROL_OK) this.tlb.flushNonGlobal();
    return status;
  }

  /** MOV to CR4. Clearing PAE in long mode is #GP. */
  setCr4(value: number): number {
    const v = value | 0;
    const changed = this.cr4 ^ v;
    if (this.pagingMode === PAGING_4LEVEL && (v & CR4_PAE) === 0) return CONTROL_GP;
    const status = this.apply(this.cr0, this.cr3, v, this.eferBits, (changed & CR4_PDPTE_RELOAD) !== 0);
    if (status === CONTROL_OK && (changed & CR4_TLB_BITS) !== 0) this.tlb.flushAll();
    return status;
  }

  /** WRMSR IA32_EFER. Changing LME while paging is on is #GP; an NXE change flushes the TLB. */
  setEfer(value: number): number {
    const v = value & ~EFER_LMA;
    const changed = this.eferBits ^ v;
    if ((changed & EFER_LME) !== 0 && (this.cr0 & CR0_PG) !== 0) return CONTROL_GP;
    const status = this.apply(this.cr0, this.cr3, this.cr4, v, false);
    if (status === CONTROL_OK && (changed & EFER_NXE) !== 0) this.tlb.flushAll();
    return status;
  }

  /** The A20 gate: when off, physical address bit 20 is forced to 0 on every CPU access and page walk. */
  setA20(enabled: boolean): void {
    if (enabled === this.a20Enabled) return;
    this.a20Enabled = enabled;
    this.walker.a20 = enabled;
    this.tlb.flushAll();
  }

  /** INVLPG: drops the translation of the page holding the address (`linHigh`: bits 47:32 in 64-bit mode). */
  invlpg(lin: number, linHigh = 0): void {
    this.tlb.invalidatePage(lin | 0, this.pagingMode === PAGING_4LEVEL ? linHigh & 0xffff : 0);
  }

  /** Drops every translation, global ones included. */
  flushTlb(): void {
    this.tlb.flushAll();
  }

  /** The paging context as plain data (see `paging-state.ts`). */
  protected controlsState(): { cr0: number; cr3: number; cr4: number; efer: number; a20: boolean; pdpte: number[] } {
    return {
      cr0: this.cr0 >>> 0,
      cr3: this.cr3,
      cr4: this.cr4 >>> 0,
      efer: this.eferBits >>> 0,
      a20: this.a20Enabled,
      pdpte: Array.from(this.walker.pdpte),
    };
  }

  /**
   * Restores a validated paging context exactly: the PDPTE registers as saved, not reloaded from
   * memory (which may have changed since they were loaded, as on hardware). Drops every translation.
   */
  protected restoreControls(cr0: number, cr3: number, cr4: number, efer: number, a20: boolean, pdpte: readonly number[]): void {
    this.apply(cr0 | 0, cr3, cr4 | 0, efer & ~EFER_LMA, false);
    this.walker.pdpte.set(pdpte);
    this.a20Enabled = a20;
    this.walker.a20 = a20;
    this.tlb.flushAll();
  }
}
