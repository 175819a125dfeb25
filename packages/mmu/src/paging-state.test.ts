import { describe, expect, it } from 'vitest';
import { P, RW, US, machine } from '../test/machine.js';
import { ACCESS_READ, CR4_PAE, EFER_NXE, MemoryError, Mmu, PAGING_PAE } from './index.js';

describe('MMU state', () => {
  it('restores the paging context with the PDPTE registers as saved, not as memory holds them now', () => {
    const m = machine();
    m.put64(0x1000, 0x2000 | P);
    m.put64(0x2000, 0x3000 | P | RW | US);
    m.put64(0x3000, 0x20_0000 | P | RW | US);
    m.mmu.setEfer(EFER_NXE);
    m.enable(CR4_PAE, 0x1000);
    m.mmu.setCpl(3);
    m.mmu.setA20(false);
    const saved = m.mmu.saveState();
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
    m.put64(0x1000, 0); // the PDPT in memory changes after the PDPTEs were loaded

    const copy = new Mmu(m.phys);
    copy.loadState(JSON.parse(JSON.stringify(saved)));
    expect(copy.mode).toBe(PAGING_PAE);
    expect(copy.cpl).toBe(3);
    expect(copy.a20Enabled).toBe(false);
    expect(copy.saveState()).toEqual(saved);
    expect(copy.translate(0x123, 0, ACCESS_READ)).toBe(0x20_0123);
  });

  it('refuses malformed or inconsistent state with a typed error naming the field', () => {
    const m = machine();
    const good = m.mmu.saveState();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, version: 2 }, /version/],
      [{ ...good, cr0: -1 }, /cr0/],
      [{ ...good, cr3: 2 ** 60 }, /cr3/],
      [{ ...good, cpl: 4 }, /cpl/],
      [{ ...good, a20: 1 }, /a20/],
      [{ ...good, pdpte: [1, 2, 3] }, /pdpte/],
      [{ ...good, cr0: 0x8000_0000 }, /PG without PE/],
    ];
    for (const [state, message] of bad) {
      try {
        m.mmu.loadState(state);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(MemoryError);
        expect((e as MemoryError).code).toBe('InvalidState');
        expect((e as MemoryError).message).toMatch(message);
      }
    }
    expect(() => m.mmu.loadState(null)).toThrow(MemoryError);
  });
});
