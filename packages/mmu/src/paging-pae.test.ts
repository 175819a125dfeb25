import { describe, expect, it } from 'vitest';
import { A, D, G, P, PS, RW, US, XD_HI, machine } from '../test/machine.js';
import {
  ACCESS_READ,
  CONTROL_GP,
  CONTROL_OK,
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  CR4_PGE,
  EFER_NXE,
  Mmu,
  PAGING_PAE,
  PhysicalMemory,
} from './index.js';

const PDPT = 0x1000;
const PDIR = 0x2000;
const PT = 0x3000;
const FRAME = 0x10_0000;

/** PDPT[0] -> PD; PD[2] -> PT; PT[5] -> FRAME: linear 0x405000. */
function pae(pdeLo = P | RW | US, pdeHi = 0, pteLo = P | RW | US, pteHi = 0, nxe = true) {
  const m = machine();
  m.put64(PDPT, PDIR | P);
  m.put64(PDIR + 2 * 8, PT | pdeLo, pdeHi);
  m.put64(PT + 5 * 8, FRAME | pteLo, pteHi);
  m.mmu.setEfer(nxe ? EFER_NXE : 0);
  m.enable(CR4_PAE, PDPT);
  return m;
}
const LIN = 0x40_5000;

describe('PAE paging', () => {
  it('translates through the PDPTE registers, a PDE and a PTE, setting A/D', () => {
    const m = pae();
    expect(m.mmu.mode).toBe(PAGING_PAE);
    m.phys.write32(FRAME + 0x40, 0x600dcafe);
    expect(m.mmu.read32(LIN + 0x40)).toBe(0x600dcafe);
    m.mmu.write8(LIN, 1);
    expect(m.get32(PDIR + 16) & (A | D)).toBe(A);
    expect(m.get32(PT + 40) & (A | D)).toBe(A | D);
  });

  it('maps 2 MiB pages and keeps the PAT bit out of the address', () => {
    const m = machine();
    m.put64(PDPT + 8, PDIR | P);
    m.put64(PDIR + 8, 0x60_0000 | 0x1000 | P | RW | PS);
    m.enable(CR4_PAE, PDPT);
    // PDPTE 1 covers 1 GiB..2 GiB; PDE 1 covers the second 2 MiB of it.
    expect(m.mmu.translate(0x4020_1234, 0, ACCESS_READ)).toBe(0x60_1234);
    expect(m.mmu.debugTranslate(0x4020_0000, 0, ACCESS_READ).pageSize).toBe(2 << 20);
  });

  it('refuses a CR3 whose present PDPTE has reserved bits, leaving CR3 as it was', () => {
    const m = pae();
    m.put64(0x8000, PDIR | P | RW); // bit 1 is reserved in a PDPTE register
    expect(m.mmu.setCr3(0x8000)).toBe(CONTROL_GP);
    expect(m.mmu.cr3).toBe(PDPT);
    m.put64(0x8000, PDIR | P, XD_HI); // so is bit 63
    expect(m.mmu.setCr3(0x8000)).toBe(CONTROL_GP);
    m.put64(0x8000, PDIR | P, 0x10); // and bits above MAXPHYADDR
    expect(m.mmu.setCr3(0x8000)).toBe(CONTROL_GP);
    m.put64(0x8000, PDIR | RW); // not present: not checked
    expect(m.mmu.setCr3(0x8000)).toBe(CONTROL_OK);
  });

  it('refuses to enable paging over an invalid PDPT', () => {
    const phys = new PhysicalMemory({ ramSize: 1 << 20 });
    const mmu = new Mmu(phys);
    phys.write32(PDPT, PDIR | P | (1 << 5));
    mmu.setCr4(CR4_PAE);
    mmu.setCr3(PDPT);
    expect(mmu.setCr0(CR0_PE | CR0_PG)).toBe(CONTROL_GP);
    expect(mmu.cr0).toBe(0);
  });

  it('uses the PDPTE registers as loaded, not the PDPT in memory', () => {
    const m = pae();
    m.put64(PDPT, 0);
    expect(m.mmu.translate(LIN, 0, ACCESS_READ)).toBe(FRAME);
    m.mmu.setCr3(PDPT);
    expect(m.mmu.translate(LIN, 0, ACCESS_READ)).toBe(-1);
    expect(m.fault()).toEqual([0, LIN]);
  });

  it('keeps global translations across CR3 writes', () => {
    const m = pae(P | RW | US, 0, P | RW | G);
    m.mmu.setCr4(CR4_PAE | CR4_PGE);
    m.phys.write8(FRAME, 1);
    expect(m.mmu.read8(LIN)).toBe(1);
    m.put64(PT + 5 * 8, (FRAME + 0x1000) | P | RW | G);
    m.mmu.setCr3(PDPT);
    expect(m.mmu.read8(LIN)).toBe(1);
    m.mmu.invlpg(LIN);
    expect(m.mmu.read8(LIN)).toBe(0);
  });
});

describe('PAE execute-disable', () => {
  it('faults a fetch from an XD page with I/D set, and allows reads', () => {
    const m = pae(P | RW | US, 0, P | RW | US, XD_HI);
    expect(m.mmu.read8(LIN)).toBe(0);
    m.mmu.fetch8(LIN);
    expect(m.fault()).toEqual([P | 0x10, LIN]);
    m.mmu.setCpl(3);
    m.mmu.fetch8(LIN + 1);
    expect(m.fault()).toEqual([P | 4 | 0x10, LIN + 1]);
  });

  it('applies XD in the PDE to every page under it', () => {
    const m = pae(P | RW | US, XD_HI);
    m.mmu.fetch8(LIN);
    expect(m.fault()).toEqual([P | 0x10, LIN]);
  });

  it('treats bit 63 as reserved while EFER.NXE is clear', () => {
    const m = pae(P | RW | US, 0, P | RW | US, XD_HI, false);
    m.mmu.read8(LIN);
    expect(m.fault()).toEqual([P | 8, LIN]);
    m.mmu.fetch8(LIN);
    expect(m.fault()).toEqual([P | 8, LIN]);
  });

  it('reports I/D on a not-present fetch only while NXE is set', () => {
    const m = pae();
    m.mmu.fetch8(0x7000_0000);
    expect(m.fault()).toEqual([0x10, 0x7000_0000]);
    m.mmu.setEfer(0);
    m.mmu.fetch8(0x7000_0000);
    expect(m.fault()).toEqual([0, 0x7000_0000]);
  });

  it('drops cached rights when NXE changes', () => {
    const m = pae(P | RW | US, 0, P | RW | US, XD_HI, true);
    m.mmu.read8(LIN);
    m.mmu.setEfer(0);
    m.mmu.read8(LIN);
    expect(m.fault()).toEqual([P | 8, LIN]);
  });
});

describe('PAE reserved bits', () => {
  it('faults on address bits at or above MAXPHYADDR in a PDE or PTE', () => {
    const bit36 = 1 << 4;
    let m = pae(P | RW, bit36);
    m.mmu.write8(LIN, 0);
    expect(m.fault()).toEqual([P | 2 | 8, LIN]);
    m = pae(P | RW, 0, P | RW, bit36);
    m.mmu.read8(LIN);
    expect(m.fault()).toEqual([P | 8, LIN]);
    expect(m.get32(PDIR + 16) & A).toBe(0);
  });

  it('accepts the same bits with a wider MAXPHYADDR: the frame is above 4 GiB and reads all-ones', () => {
    const phys = new PhysicalMemory({ ramSize: 1 << 20 });
    const mmu = new Mmu(phys, { maxPhysAddrBits: 40 });
    phys.write32(PDPT, PDIR | P);
    phys.write32(PDIR, PT | P | RW);
    phys.write32(PT, 0x5000 | P | RW);
    phys.write32(PT + 4, 0x10);
    mmu.setCr4(CR4_PAE);
    mmu.setCr3(PDPT);
    mmu.setCr0(CR0_PE | CR0_PG);
    expect(mmu.translate(0x123, 0, ACCESS_READ)).toBe(0x10_0000_5123);
    expect(mmu.read32(0x120)).toBe(-1);
    expect(mmu.pageFault).toBe(false);
  });

  it('faults on bits 20:13 of a 2 MiB PDE', () => {
    const m = machine();
    m.put64(PDPT, PDIR | P);
    m.put64(PDIR, 0x20_0000 | (1 << 13) | P | RW | PS);
    m.enable(CR4_PAE, PDPT);
    m.mmu.read8(0x1000);
    expect(m.fault()).toEqual([P | 8, 0x1000]);
  });
});
