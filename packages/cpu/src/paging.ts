import { CONTROL_OK, CR0_PE, CR0_PG, type Mmu } from '@tsvm/mmu';
import type { PhysicalMemory } from './bus.js';
import { GP, type CpuCore } from './cpu.js';

/** #PF (Intel SDM vol. 3A, 6.15, interrupt 14). */
export const PF = 14;

/**
 * Linear memory through `@tsvm/mmu`'s `Mmu`, seen by the CPU's access paths as if it were physical
 * memory. Installed only while CR0.PG is set, so real mode and unpaged protected mode keep their
 * direct path to RAM. A translation failure becomes #PF with CR2 and the walker's error code.
 */
export class PagedMemory implements PhysicalMemory {
  constructor(
    private readonly cpu: CpuCore,
    private readonly mmu: Mmu,
  ) {}

  read8(lin: number): number {
    const v = this.mmu.read8(lin);
    if (this.mmu.pageFault) this.fault();
    return v;
  }
  read16(lin: number): number {
    const v = this.mmu.read16(lin);
    if (this.mmu.pageFault) this.fault();
    return v;
  }
  read32(lin: number): number {
    const v = this.mmu.read32(lin);
    if (this.mmu.pageFault) this.fault();
    return v;
  }
  write8(lin: number, value: number): void {
    this.mmu.write8(lin, value);
    if (this.mmu.pageFault) this.fault();
  }
  write16(lin: number, value: number): void {
    this.mmu.write16(lin, value);
    if (this.mmu.pageFault) this.fault();
  }
  write32(lin: number, value: number): void {
    this.mmu.write32(lin, value);
    if (this.mmu.pageFault) this.fault();
  }

  /** Faults before a multi-byte store that crosses a page, so no byte lands when one page faults. */
  probeWrite(lin: number, size: number): void {
    if (!this.mmu.probeWrite(lin, size)) this.fault();
  }

  /** Physical address of an instruction byte, or #PF. */
  translateFetch(lin: number): number {
    const p = this.mmu.translateFetch(lin);
    if (p < 0) this.fault();
    return p;
  }

  private fault(): never {
    return raisePageFault(this.cpu, this.mmu);
  }
}

/** Takes the pending fault out of the Mmu: CR2 = the linear address, #PF with the error code. */
export function raisePageFault(cpu: CpuCore, mmu: Mmu): never {
  mmu.pageFault = false;
  cpu.cr2 = mmu.faultAddress | 0;
  return cpu.raise(PF, mmu.faultErrorCode);
}

/** CR0 bits the CPU keeps (SDM vol. 3A, 2.5): CD and NW may not be 0 and 1; PG needs PE. */
const CR0_CD = 1 << 30;
const CR0_NW = 1 << 29;

/** MOV CR0, r32: the architectural #GP(0) checks, then the paging context and the access path. */
export function writeCr0(cpu: CpuCore, v: number): void {
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) cpu.raise(GP, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) cpu.raise(GP, 0);
  if ((v & CR0_PG) !== 0 && cpu.mmu === null) cpu.raise(GP, 0); // no Mmu: this machine cannot page
  if (cpu.mmu !== null && cpu.mmu.setCr0(v >>> 0) !== CONTROL_OK) cpu.raise(GP, 0);
  cpu.cr0 = v | 0;
  cpu.updateAccessPath();
}

export function writeCr3(cpu: CpuCore, v: number): void {
  if (cpu.mmu !== null && cpu.mmu.setCr3(v >>> 0) !== CONTROL_OK) cpu.raise(GP, 0);
  cpu.cr3 = v | 0;
}

export function writeCr4(cpu: CpuCore, v: number): void {
  if (cpu.mmu !== null && cpu.mmu.setCr4(v >>> 0) !== CONTROL_OK) cpu.raise(GP, 0);
  cpu.cr4 = v | 0;
}

/** After the state API wrote control registers: the Mmu takes them as given (no checks to fail). */
export function syncPagingContext(cpu: CpuCore): void {
  const mmu = cpu.mmu;
  if (mmu === null) return;
  mmu.setA20(cpu.a20Mask !== 0xfffff);
  mmu.setCr4(cpu.cr4 >>> 0);
  mmu.setCr3(cpu.cr3 >>> 0);
  mmu.setCr0(cpu.cr0 >>> 0);
}
