import { describe, expect, it } from 'vitest';
import { A, D, G, P, PS, RW, US, machine } from '../test/machine.js';
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  CR0_WP,
  CR4_PGE,
  CR4_PSE,
  CR4_SMEP,
  MMIO_SIZE_32,
  PAGING_32,
} from './index.js';

const PD = 0x1000;
const PT = 0x2000;
const FRAME = 0x10_0000;

/** Maps linear page 0x00400 (address 0x400000) through PD[1] -> PT[0] to FRAME. */
function mapped(pdeFlags = P | RW | US, pteFlags = P | RW | US) {
  const m = machine();
  m.put32(PD + 4, PT | pdeFlags);
  m.put32(PT, FRAME | pteFlags);
  m.enable(CR4_PSE, PD);
  return m;
}

describe('32-bit paging: translation and accessed/dirty bits', () => {
  it('translates through PDE and PTE and reads the frame', () => {
    const m = mapped();
    expect(m.mmu.mode).toBe(PAGING_32);
    m.dv.setUint32(FRAME + 0x10, 0xcafebabe, true);
    expect(m.mmu.read32(0x40_0010) >>> 0).toBe(0xcafebabe);
    expect(m.mmu.translate(0x40_0123, 0, ACCESS_READ)).toBe(FRAME + 0x123);
    expect(m.fault()).toBeNull();
  });

  it('sets A in both levels on a read, and D in the PTE only on a write', () => {
    const m = mapped();
    m.mmu.read8(0x40_0000);
    expect(m.get32(PD + 4) & (A | D)).toBe(A);
    expect(m.get32(PT) & (A | D)).toBe(A);
    m.mmu.write8(0x40_0000, 1);
    expect(m.get32(PD + 4) & (A | D)).toBe(A);
    expect(m.get32(PT) & (A | D)).toBe(A | D);
    expect(m.phys.read8(FRAME)).toBe(1);
  });

  it('sets D when a write follows a read that filled the TLB', () => {
    const m = mapped();
    m.mmu.read32(0x40_0000);
    m.put32(PT, m.get32(PT) & ~D);
    m.mmu.write32(0x40_0000, 7);
    expect(m.get32(PT) & D).toBe(D);
  });

  it('sets no A bits when the access faults on rights', () => {
    const m = mapped(P | RW | US, P | RW);
    m.mmu.setCpl(3);
    m.mmu.read8(0x40_0000);
    expect(m.fault()).toEqual([P | US, 0x40_0000]);
    expect(m.get32(PD + 4) & A).toBe(0);
    expect(m.get32(PT) & A).toBe(0);
  });
});

describe('32-bit paging: page-fault error codes and CR2', () => {
  it('reports a not-present PDE and PTE with W/R and U/S and no P bit', () => {
    const m = mapped();
    m.mmu.read8(0x80_0004);
    expect(m.fault()).toEqual([0, 0x80_0004]);
    m.mmu.write16(0x40_1ffe, 0);
    expect(m.fault()).toEqual([2, 0x40_1ffe]);
    m.mmu.setCpl(3);
    m.mmu.write32(0x40_1000, 0);
    expect(m.fault()).toEqual([6, 0x40_1000]);
    m.mmu.fetch8(0x40_1000);
    expect(m.fault()).toEqual([4, 0x40_1000]);
  });

  it('reports I/D for a fetch only when SMEP is on in 32-bit paging', () => {
    const m = mapped();
    m.mmu.fetch8(0x80_0000);
    expect(m.fault()).toEqual([0, 0x80_0000]);
    m.mmu.setCr4(CR4_PSE | CR4_SMEP);
    m.mmu.fetch8(0x80_0000);
    expect(m.fault()).toEqual([0x10, 0x80_0000]);
  });

  // Every combination of PDE/PTE U/S and R/W, CPL, write and CR0.WP against SDM Vol. 3A, 4.6.
  for (const pdeU of [0, 1])
    for (const pdeW of [0, 1])
      for (const pteU of [0, 1])
        for (const pteW of [0, 1])
          for (const cpl of [0, 3])
            for (const write of [false, true])
              for (const wp of [false, true]) {
                const u = pdeU & pteU;
                const w = pdeW & pteW;
                const allowed = cpl === 3 ? u === 1 && (!write || w === 1) : !write || w === 1 || !wp;
                const name = `PDE U${pdeU}W${pdeW} PTE U${pteU}W${pteW} CPL${cpl} ${write ? 'write' : 'read'} WP${wp ? 1 : 0}`;
                it(`${name}: ${allowed ? 'allowed' : 'faults'}`, () => {
                  const m = machine(2 << 20);
                  m.put32(PD + 4, PT | P | (pdeU ? US : 0) | (pdeW ? RW : 0));
                  m.put32(PT, FRAME | P | (pteU ? US : 0) | (pteW ? RW : 0));
                  m.enable(0, PD, wp ? CR0_WP : 0);
                  m.mmu.setCpl(cpl);
                  // Twice: the first fills the TLB, the second must get the same answer from it.
                  for (let round = 0; round < 2; round++) {
                    if (write) m.mmu.write32(0x40_0008, 0x11223344);
                    else m.mmu.read32(0x40_0008);
                    const code = P | (write ? 2 : 0) | (cpl === 3 ? 4 : 0);
                    expect(m.fault()).toEqual(allowed ? null : [code, 0x40_0008]);
                  }
                  if (write) expect(m.phys.read32(FRAME + 8)).toBe(allowed ? 0x11223344 : 0);
                });
              }
});

describe('32-bit paging: 4 MiB pages (PSE, PSE-36)', () => {
  it('maps a 4 MiB page when CR4.PSE is set and sets A/D in the PDE', () => {
    const m = machine();
    m.put32(PD + 8, 0x40_0000 | P | RW | PS);
    m.enable(CR4_PSE, PD);
    m.phys.write32(0x40_0000 + 0x12_3456, 0x5a5a5a5a);
    expect(m.mmu.read32(0x80_0000 + 0x12_3456)).toBe(0x5a5a5a5a);
    expect(m.mmu.debugTranslate(0x80_0000, 0, ACCESS_READ).pageSize).toBe(4 << 20);
    m.mmu.write8(0xbf_ffff, 9);
    expect(m.phys.read8(0x7f_ffff)).toBe(9);
    expect(m.get32(PD + 8) & (A | D)).toBe(A | D);
  });

  it('ignores PS without CR4.PSE: the PDE points to a page table', () => {
    const m = machine();
    m.put32(PD + 8, PT | P | RW | PS);
    m.put32(PT + 4, FRAME | P | RW);
    m.enable(0, PD);
    expect(m.mmu.translate(0x80_1004, 0, ACCESS_READ)).toBe(FRAME + 4);
  });

  it('takes physical bits 35:32 from PDE bits 16:13 (PSE-36); above RAM reads all-ones', () => {
    const m = machine();
    m.put32(PD, 0x0040_0000 | (0x3 << 13) | P | PS);
    m.enable(CR4_PSE, PD);
    expect(m.mmu.translate(0x1234, 0, ACCESS_READ)).toBe(0x3_0040_1234);
    expect(m.mmu.read32(0x1234)).toBe(-1);
  });

  it('faults with RSVD on PDE bit 21 or PSE-36 bits above MAXPHYADDR (36)', () => {
    for (const bad of [1 << 21, 1 << 17, 1 << 20]) {
      const m = machine();
      m.put32(PD, 0x0040_0000 | bad | P | RW | US | PS);
      m.enable(CR4_PSE, PD);
      m.mmu.read8(0x10);
      expect(m.fault()).toEqual([P | 8, 0x10]);
      m.mmu.setCpl(3);
      m.mmu.write8(0x20, 0);
      expect(m.fault()).toEqual([P | 2 | 4 | 8, 0x20]);
      expect(m.get32(PD) & A).toBe(0);
    }
  });
});

describe('TLB invalidation', () => {
  /** Maps 0x400000 to FRAME, then retargets the PTE in memory to FRAME2 without telling the MMU. */
  function stale(pteExtra: number, cr4: number) {
    const m = machine();
    m.put32(PD + 4, PT | P | RW);
    m.put32(PT, FRAME | P | RW | pteExtra);
    m.phys.write8(FRAME, 1);
    m.phys.write8(FRAME + 0x1000, 2);
    m.enable(cr4, PD);
    expect(m.mmu.read8(0x40_0000)).toBe(1);
    m.put32(PT, (FRAME + 0x1000) | P | RW | pteExtra);
    // The TLB still holds the old translation until software invalidates it.
    expect(m.mmu.read8(0x40_0000)).toBe(1);
    return m;
  }

  it('drops non-global translations on a CR3 write', () => {
    const m = stale(0, CR4_PGE);
    m.mmu.setCr3(PD);
    expect(m.mmu.read8(0x40_0000)).toBe(2);
  });

  it('keeps global translations across CR3 writes when CR4.PGE is set', () => {
    const m = stale(G, CR4_PGE);
    m.mmu.setCr3(PD);
    expect(m.mmu.read8(0x40_0000)).toBe(1);
  });

  it('treats G as an ordinary bit without CR4.PGE', () => {
    const m = stale(G, 0);
    m.mmu.setCr3(PD);
    expect(m.mmu.read8(0x40_0000)).toBe(2);
  });

  it('drops global translations when CR4.PGE changes', () => {
    const m = stale(G, CR4_PGE);
    m.mmu.setCr4(0);
    expect(m.mmu.read8(0x40_0000)).toBe(2);
  });

  it('drops a global translation on INVLPG of any address in the page', () => {
    const m = stale(G, CR4_PGE);
    m.mmu.invlpg(0x40_0abc);
    expect(m.mmu.read8(0x40_0000)).toBe(2);
  });

  it('drops everything on a CR0.PG change', () => {
    const m = stale(G, CR4_PGE);
    m.mmu.setCr0(0);
    m.enable(CR4_PGE, PD);
    expect(m.mmu.read8(0x40_0000)).toBe(2);
  });

  it('drops every 4 KiB piece of a 4 MiB page on one INVLPG', () => {
    const m = machine();
    m.put32(PD + 4, 0x40_0000 | P | RW | PS | G);
    m.phys.write8(0x40_0000, 1);
    m.phys.write8(0x7f_f000, 3);
    m.enable(CR4_PSE | CR4_PGE, PD);
    expect(m.mmu.read8(0x40_0000)).toBe(1);
    expect(m.mmu.read8(0x7f_f000)).toBe(3);
    m.put32(PD + 4, 0x80_0000 | P | RW | PS | G);
    m.phys.write8(0x80_0000, 4);
    m.phys.write8(0xbf_f000, 6);
    m.mmu.invlpg(0x55_5555);
    expect(m.mmu.read8(0x40_0000)).toBe(4);
    expect(m.mmu.read8(0x7f_f000)).toBe(6);
  });

  it('applies a CR0.WP change to translations already in the TLB', () => {
    const m = mapped(P | RW, P);
    m.mmu.write8(0x40_0000, 5);
    expect(m.fault()).toBeNull();
    m.mmu.setCr0(m.mmu.cr0 | CR0_WP);
    m.mmu.write8(0x40_0000, 6);
    expect(m.fault()).toEqual([P | 2, 0x40_0000]);
    expect(m.phys.read8(FRAME)).toBe(5);
  });

  it('keeps user and supervisor rights apart in one entry', () => {
    const m = mapped(P | RW | US, P | RW);
    expect(m.mmu.read8(0x40_0000)).toBe(0);
    m.mmu.setCpl(3);
    m.mmu.read8(0x40_0000);
    expect(m.fault()).toEqual([P | 4, 0x40_0000]);
    expect(m.mmu.readSystem8(0x40_0000)).toBe(0);
    m.mmu.writeSystem32(0x40_0004, 0x01020304);
    expect(m.fault()).toBeNull();
    expect(m.phys.read32(FRAME + 4)).toBe(0x01020304);
  });
});

describe('accesses crossing a page boundary', () => {
  it('reads bytes from two non-contiguous frames', () => {
    const m = machine();
    m.put32(PD + 4, PT | P | RW);
    m.put32(PT, (FRAME + 0x5000) | P | RW);
    m.put32(PT + 4, FRAME | P | RW);
    m.enable(0, PD);
    m.phys.write16(FRAME + 0x5ffe, 0x2211);
    m.phys.write16(FRAME, 0x4433);
    expect(m.mmu.read32(0x40_0ffe) >>> 0).toBe(0x44332211);
    m.mmu.write32(0x40_0fff, 0xaabbccdd);
    expect(m.phys.read8(FRAME + 0x5fff)).toBe(0xdd);
    expect(m.phys.read32(FRAME) & 0xffffff).toBe(0xaabbcc);
  });

  it('stores nothing when the second page faults, and reports CR2 at its start', () => {
    const m = mapped();
    m.mmu.write32(0x40_0ffd, -1);
    expect(m.fault()).toEqual([2, 0x40_1000]);
    expect(m.phys.read32(FRAME + 0xffc)).toBe(0);
  });

  it('stores neither half of an 8-byte write whose second page faults', () => {
    const m = mapped();
    m.mmu.write64(0x40_0ffc, 0x11111111, 0x22222222);
    expect(m.fault()).toEqual([2, 0x40_1000]);
    expect(m.phys.read32(FRAME + 0xffc)).toBe(0);
    m.mmu.write64(0x40_0ff0, 0x11111111, 0x22222222);
    expect(m.fault()).toBeNull();
    expect(m.phys.read32(FRAME + 0xff4)).toBe(0x22222222);
  });

  it('probes every page of a multi-page store in order, setting dirty bits, storing nothing', () => {
    const m = machine();
    m.put32(PD + 4, PT | P | RW | US);
    m.put32(PT, FRAME | P | RW | US);
    m.put32(PT + 4, (FRAME + 0x1000) | P | RW | US);
    m.put32(PT + 8, (FRAME + 0x2000) | P | US);
    m.enable(0, PD);
    m.mmu.setCpl(3);
    expect(m.mmu.probeWrite(0x40_0ff0, 0x1010)).toBe(true);
    expect(m.get32(PT + 4) & D).toBe(D);
    expect(m.mmu.probeWrite(0x40_0ff0, 0x1011)).toBe(false);
    expect(m.fault()).toEqual([P | 2 | 4, 0x40_2000]);
    expect(m.phys.read32(FRAME + 0xff0)).toBe(0);
  });

  it('wraps 32-bit linear addresses at 4 GiB', () => {
    const m = machine();
    const rom = new Uint8Array(0x1000);
    rom[0xffe] = 0x11;
    rom[0xfff] = 0x22;
    m.phys.mapRom(0xffff_f000, rom);
    m.phys.write16(0, 0x4433);
    expect(m.mmu.read32(0xffff_fffe) >>> 0).toBe(0x44332211);
  });
});

describe('the A20 gate', () => {
  it('wraps at 1 MiB in real mode only while A20 is off', () => {
    const m = machine();
    m.mmu.write8(0x10_0000, 0xaa);
    expect(m.phys.read8(0x10_0000)).toBe(0xaa);
    m.mmu.setA20(false);
    expect(m.mmu.read8(0x10_0000)).toBe(m.phys.read8(0));
    m.mmu.write16(0x10_ffee, 0xbeef);
    expect(m.phys.read16(0xffee)).toBe(0xbeef);
    m.mmu.setA20(true);
    expect(m.mmu.read8(0x10_0000)).toBe(0xaa);
  });

  it('masks bit 20 of every physical address, page walks included, in protected mode', () => {
    const m = machine();
    m.put32(PD, PT | P | RW);
    m.put32(PT, 0x30_0000 | P | RW);
    m.phys.write8(0x20_0000, 7);
    m.phys.write8(0x30_0000, 8);
    m.enable(0, PD);
    expect(m.mmu.read8(0)).toBe(8);
    m.mmu.setA20(false);
    expect(m.mmu.read8(0)).toBe(7);
    // A page directory at 1 MiB + 0x1000 is read from 0x1000 while A20 is off.
    m.mmu.setCr3(0x10_1000);
    expect(m.mmu.read8(0)).toBe(7);
  });
});

describe('cached code and MMIO through linear addresses', () => {
  it('reports a write to a marked code page once, then writes fast again', () => {
    const m = mapped();
    const seen: number[] = [];
    m.phys.setCodeWriteHandler((addr) => seen.push(addr));
    m.mmu.write8(0x40_0000, 1);
    m.phys.markCode(FRAME >>> 12);
    m.mmu.write8(0x40_0010, 2);
    m.mmu.write8(0x40_0011, 3);
    expect(seen).toEqual([FRAME + 0x10]);
    expect(m.phys.read16(FRAME + 0x10)).toBe(0x0302);
  });

  it('sends a linear access to the device mapped at the physical address', () => {
    const m = machine();
    const regs = new Int32Array(4);
    m.phys.mapMmio(0xfee0_0000, 0x1000, {
      sizes: MMIO_SIZE_32,
      read32: (o) => regs[o >>> 2],
      write32: (o, v) => void (regs[o >>> 2] = v),
    });
    m.put32(PD, PT | P | RW);
    m.put32(PT + 8, 0xfee0_0000 | P | RW);
    m.enable(0, PD);
    m.mmu.write32(0x2004, 0x1234);
    m.mmu.write32(0x2004, 0x5678);
    expect(regs[1]).toBe(0x5678);
    expect(m.mmu.read16(0x2004)).toBe(0x5678);
  });
});

describe('regions mapped over cached RAM', () => {
  it('drops TLB entries for a page when a region is mapped over it or removed', () => {
    const m = mapped();
    m.phys.write32(FRAME, 0x1111);
    expect(m.mmu.read32(0x40_0000)).toBe(0x1111);
    m.mmu.write32(0x40_0004, 0x2222);
    m.phys.mapMmio(FRAME, 0x1000, { sizes: MMIO_SIZE_32, read32: (o) => 0x5000 + o, write32: () => undefined });
    expect(m.mmu.read32(0x40_0004)).toBe(0x5004);
    m.mmu.write32(0x40_0004, 0x3333);
    m.phys.unmap(FRAME);
    expect(m.mmu.read32(0x40_0004)).toBe(0x2222);
  });
});

describe('fetches and SMEP', () => {
  it('fetches from a supervisor page, and faults on a user page only with SMEP', () => {
    const m = mapped(P | RW | US, P | RW | US);
    m.phys.write8(FRAME, 0x90);
    expect(m.mmu.fetch8(0x40_0000)).toBe(0x90);
    m.mmu.setCr4(CR4_PSE | CR4_SMEP);
    m.mmu.fetch8(0x40_0000);
    expect(m.fault()).toEqual([P | 0x10, 0x40_0000]);
    m.mmu.setCpl(3);
    expect(m.mmu.fetch8(0x40_0000)).toBe(0x90);
    expect(m.mmu.translateFetch(0x40_0001)).toBe(FRAME + 1);
  });
});

describe('debugTranslate', () => {
  it('walks without setting A/D bits, filling the TLB or raising a fault', () => {
    const m = mapped(P | RW, P);
    const before = [m.get32(PD + 4), m.get32(PT)];
    const t = m.mmu.debugTranslate(0x40_0010, 0, ACCESS_READ);
    expect(t).toEqual({ physical: FRAME + 0x10, errorCode: 0, pageSize: 4096, user: false, writable: false, noExec: false, global: false });
    expect([m.get32(PD + 4), m.get32(PT)]).toEqual(before);
    expect(m.mmu.debugTranslate(0x40_0010, 0, ACCESS_WRITE | ACCESS_USER).errorCode).toBe(P | 2 | 4);
    expect(m.mmu.debugTranslate(0x80_0000, 0, ACCESS_FETCH).physical).toBe(-1);
    expect(m.mmu.pageFault).toBe(false);
    // Nothing was cached: a changed PTE is seen without an INVLPG.
    m.put32(PT, (FRAME + 0x3000) | P);
    m.phys.write8(FRAME + 0x3000, 0x77);
    expect(m.mmu.read8(0x40_0000)).toBe(0x77);
  });
});
