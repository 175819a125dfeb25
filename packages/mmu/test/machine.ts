import { CONTROL_OK, CR0_PE, CR0_PG, Mmu, PhysicalMemory } from '../src/index.js';

/** A small machine for rule tests: 16 MiB of RAM, an MMU, and helpers to write paging structures. */
export function machine(ramSize = 16 << 20): {
  phys: PhysicalMemory;
  mmu: Mmu;
  dv: DataView;
  put32: (addr: number, v: number) => void;
  put64: (addr: number, lo: number, hi?: number) => void;
  get32: (addr: number) => number;
  enable: (cr4: number, cr3: number, cr0Extra?: number) => void;
  /** Takes and clears a pending page fault as [error code, CR2], or null. */
  fault: () => [number, number] | null;
} {
  const phys = new PhysicalMemory({ ramSize });
  const mmu = new Mmu(phys);
  const dv = new DataView(phys.ram.buffer);
  return {
    phys,
    mmu,
    dv,
    put32: (addr, v) => dv.setUint32(addr, v >>> 0, true),
    put64: (addr, lo, hi = 0) => {
      dv.setUint32(addr, lo >>> 0, true);
      dv.setUint32(addr + 4, hi >>> 0, true);
    },
    get32: (addr) => dv.getUint32(addr, true),
    enable: (cr4, cr3, cr0Extra = 0) => {
      if (mmu.setCr4(cr4) !== CONTROL_OK || mmu.setCr3(cr3) !== CONTROL_OK) throw new Error('paging setup refused');
      if (mmu.setCr0(CR0_PE | CR0_PG | cr0Extra) !== CONTROL_OK) throw new Error('CR0 refused');
    },
    fault: () => {
      if (!mmu.pageFault) return null;
      mmu.pageFault = false;
      return [mmu.faultErrorCode, mmu.faultAddress];
    },
  };
}

// Entry bits, spelled out for the tests.
export const P = 1;
export const RW = 2;
export const US = 4;
export const A = 0x20;
export const D = 0x40;
export const PS = 0x80;
export const G = 0x100;
export const XD_HI = 0x8000_0000 | 0;
