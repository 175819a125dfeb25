import { describe, expect, it } from 'vitest';
import { A, D, P, PS, RW, US, XD_HI, machine } from '../test/machine.js';
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  CONTROL_GP,
  CONTROL_OK,
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  PAGING_4LEVEL,
} from './index.js';

const PML4 = 0x1000;
const PDPT = 0x2000;
const PDIR = 0x3000;
const PT = 0x4000;
const FRAME = 0x20_0000;

/**
 * Maps the kernel-half address 0xffff_8000_0040_5000 (bits 47:32 = 0x8000): PML4[256] -> PDPT[0] ->
 * PD[2] -> PT[5] -> FRAME. Entry flags per level can be overridden.
 */
function long(flags: { pml4?: [number, number]; pdpt?: [number, number]; pde?: [number, number]; pte?: [number, number] } = {}) {
  const m = machine();
  const f = (x: [number, number] | undefined): [number, number] => x ?? [P | RW | US, 0];
  m.put64(PML4 + 256 * 8, PDPT | f(flags.pml4)[0], f(flags.pml4)[1]);
  m.put64(PDPT, PDIR | f(flags.pdpt)[0], f(flags.pdpt)[1]);
  m.put64(PDIR + 2 * 8, PT | f(flags.pde)[0], f(flags.pde)[1]);
  m.put64(PT + 5 * 8, FRAME | f(flags.pte)[0], f(flags.pte)[1]);
  expect(m.mmu.setEfer(EFER_LME | EFER_NXE)).toBe(CONTROL_OK);
  m.enable(CR4_PAE, PML4);
  return m;
}
const HI = 0x8000;
const LO = 0x40_5000;

describe('4-level paging', () => {
  it('enters long mode when LME and PG are set with PAE, and reports LMA', () => {
    const m = long();
    expect(m.mmu.mode).toBe(PAGING_4LEVEL);
    expect(m.mmu.efer & EFER_LMA).toBe(EFER_LMA);
  });

  it('refuses PG with LME but without PAE, an LME change with PG on, and clearing PAE in long mode', () => {
    const m = machine();
    m.mmu.setEfer(EFER_LME);
    expect(m.mmu.setCr0(CR0_PE | CR0_PG)).toBe(CONTROL_GP);
    expect(m.mmu.cr0).toBe(0);
    const l = long();
    expect(l.mmu.setEfer(EFER_NXE)).toBe(CONTROL_GP);
    expect(l.mmu.setCr4(0)).toBe(CONTROL_GP);
    expect(l.mmu.setCr0(CR0_PG)).toBe(CONTROL_GP);
  });

  it('translates a high-half address through four levels and sets A/D in each', () => {
    const m = long();
    expect(m.mmu.translate(LO + 0x18, HI, ACCESS_WRITE)).toBe(FRAME + 0x18);
    for (const e of [PML4 + 256 * 8, PDPT, PDIR + 16]) expect(m.get32(e) & (A | D)).toBe(A);
    expect(m.get32(PT + 40) & (A | D)).toBe(A | D);
  });

  it('reports CR2 with bits 63:32 sign-extended from bit 47', () => {
    const m = long();
    expect(m.mmu.translate(0x1234, HI, ACCESS_READ)).toBe(-1);
    expect(m.fault()).toEqual([0, 0x1234]);
    expect(m.mmu.faultAddressHigh >>> 0).toBe(0xffff_8000);
  });

  it('does not confuse addresses that differ only above bit 31', () => {
    const m = long();
    m.put64(PML4, PDPT | P | RW | US); // low half: the same PDPT, so 0x405000 maps to FRAME too
    expect(m.mmu.translate(LO, 0, ACCESS_READ)).toBe(FRAME);
    expect(m.mmu.translate(LO, 1, ACCESS_READ)).toBe(-1);
    expect(m.fault()).toEqual([0, LO]);
    m.phys.write8(FRAME, 0x42);
    expect(m.mmu.read8(LO)).toBe(0x42);
  });

  it('never serves a 32-bit access from a TLB entry of a 64-bit address with the same low bits', () => {
    const m = long();
    // Low half: PML4[0] -> PDPT2 -> PD2 -> PT2, mapping the same low 32 bits to another frame.
    m.put64(PML4, 0x5000 | P | RW | US);
    m.put64(0x5000, 0x6000 | P | RW | US);
    m.put64(0x6000 + 2 * 8, 0x7000 | P | RW | US);
    m.put64(0x7000 + 5 * 8, (FRAME + 0x1000) | P | RW | US);
    for (let k = 0; k < 8; k += 4) {
      m.phys.write32(FRAME + k, 0x1111_1111);
      m.phys.write32(FRAME + 0x1000 + k, 0x2222_2222);
    }
    for (const hi of [HI, 1, 3, 0x81, 0x400, 0xffff]) {
      const pml4i = (hi >>> 7) & 0x1ff;
      if (pml4i !== 0) m.put64(PML4 + pml4i * 8, PDPT | P | RW | US);
      m.put64((pml4i === 0 ? 0x5000 : PDPT) + (hi & 0x7f) * 32, PDIR | P | RW | US);
      m.mmu.invlpg(LO, hi);
      // Each access right after the 64-bit translation filled the shared TLB index.
      for (const off of [3, 2, 1, 0]) {
        expect(m.mmu.translate(LO, hi, ACCESS_READ)).toBe(FRAME);
        expect(m.mmu.read32(LO + off) >>> 0).toBe(0x2222_2222);
        expect(m.mmu.translate(LO, hi, ACCESS_READ)).toBe(FRAME);
        expect(m.mmu.read16(LO + off)).toBe(0x2222);
        expect(m.mmu.translate(LO, hi, ACCESS_READ)).toBe(FRAME);
        expect(m.mmu.read8(LO + off)).toBe(0x22);
      }
    }
  });

  it('maps 1 GiB and 2 MiB pages', () => {
    const m = long();
    m.put64(PDPT + 8, 0x4000_0000 | P | RW | PS); // 1 GiB page at 1 GiB: above RAM, reads all-ones
    expect(m.mmu.translate(0x4123_4567, HI, ACCESS_READ)).toBe(0x4123_4567);
    expect(m.mmu.debugTranslate(0x4000_0000, HI, ACCESS_READ).pageSize).toBe(1 << 30);
    m.put64(PDIR + 3 * 8, 0x60_0000 | P | RW | PS);
    expect(m.mmu.translate(0x70_0010, HI, ACCESS_READ)).toBe(0x70_0010);
  });

  it('faults with RSVD on PS in a PML4E, on bits 29:13 of a 1 GiB page, and above MAXPHYADDR', () => {
    let m = long({ pml4: [P | RW | US | PS, 0] });
    m.mmu.translate(LO, HI, ACCESS_READ);
    expect(m.fault()).toEqual([P | 8, LO]);
    m = long();
    m.put64(PDPT, 0x4000_0000 | (1 << 13) | P | RW | PS);
    m.mmu.translate(LO, HI, ACCESS_WRITE);
    expect(m.fault()).toEqual([P | 2 | 8, LO]);
    m = long({ pte: [P | RW | US, 1 << 4] });
    m.mmu.translate(LO, HI, ACCESS_READ | ACCESS_USER);
    expect(m.fault()).toEqual([P | 4 | 8, LO]);
  });

  it('ignores bits 62:52 (available to software) in 4-level entries', () => {
    const m = long({ pte: [P | RW | US, 0x7ff0_0000] });
    expect(m.mmu.translate(LO, HI, ACCESS_READ)).toBe(FRAME);
  });

  it('combines rights over all four levels: U/S in the PDPTE, XD in the PML4E', () => {
    let m = long({ pdpt: [P | RW, 0] });
    m.mmu.translate(LO, HI, ACCESS_READ | ACCESS_USER);
    expect(m.fault()).toEqual([P | 4, LO]);
    m = long({ pml4: [P | RW | US, XD_HI] });
    expect(m.mmu.translate(LO, HI, ACCESS_READ | ACCESS_USER)).toBe(FRAME);
    m.mmu.translate(LO, HI, ACCESS_FETCH | ACCESS_USER);
    expect(m.fault()).toEqual([P | 4 | 0x10, LO]);
    m = long({ pde: [P | US, 0] });
    m.mmu.translate(LO, HI, ACCESS_WRITE | ACCESS_USER);
    expect(m.fault()).toEqual([P | 2 | 4, LO]);
  });

  it('INVLPG drops the translation of a high-half page only', () => {
    const m = long();
    m.put64(PML4, PDPT | P | RW | US);
    m.phys.write8(FRAME, 1);
    expect(m.mmu.read8(LO)).toBe(1);
    m.put64(PT + 5 * 8, (FRAME + 0x1000) | P | RW | US);
    m.mmu.invlpg(LO, HI);
    expect(m.mmu.read8(LO)).toBe(1);
    m.mmu.invlpg(LO, 0);
    expect(m.mmu.read8(LO)).toBe(0);
  });
});
