import { describe, expect, it } from 'vitest';
import {
  ACCESS_FETCH,
  ACCESS_USER,
  ACCESS_WRITE,
  CONTROL_OK,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PAE,
  CR4_PGE,
  CR4_PSE,
  CR4_SMEP,
  EFER_LME,
  EFER_NXE,
  Mmu,
  PhysicalMemory,
} from '../src/index.js';
import { RefMemory, RefPaging, type RefAccess } from './reference-walker.js';

const RAM = 6 << 20;
const MAX_PHYS = 36;

/** xorshift32: reproducible without a dependency. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

type Mode = '32' | 'pae' | '4level';

interface World {
  mode: Mode;
  /** Physical addresses of every paging-structure entry written, to mutate later. */
  entries: { addr: number; size: 4 | 8; level: number }[];
  /** Page-structure pages: linear writes that would land in them are turned into reads. */
  tablePages: Set<number>;
  /** Linear pages (bits 47:12 as a number) the accesses draw from. */
  pages: number[];
  cr3: number;
}

/**
 * Random paging structures: tables in the low 2 MiB of RAM, leaf frames anywhere in RAM and a little
 * beyond (unmapped), random rights, large pages, global bits, A/D bits, PAT, and now and then a
 * reserved bit or a frame above MAXPHYADDR.
 */
function buildWorld(mode: Mode, next: () => number, bytes: Uint8Array): World {
  const dv = new DataView(bytes.buffer);
  const tablePages = new Set<number>();
  const entries: World['entries'] = [];
  let nextTable = 0x1000;
  const newTable = (): number => {
    const a = nextTable;
    nextTable += 0x1000;
    tablePages.add(a >>> 12);
    return a;
  };
  const chance = (pct: number): boolean => next() % 100 < pct;
  const flags = (): number =>
    1 | (chance(75) ? 2 : 0) | (chance(70) ? 4 : 0) | (chance(40) ? 0x20 : 0) | (chance(40) ? 0x40 : 0) | (chance(30) ? 0x100 : 0);
  const dataFrame = (align: number): number => {
    // Mostly RAM above the tables, sometimes past the end of RAM (reads all-ones).
    const limit = chance(5) ? RAM * 2 : RAM;
    return (0x20_0000 + (next() % (limit - 0x20_0000))) & ~(align - 1);
  };
  const put = (addr: number, lo: number, hi: number, size: 4 | 8, level: number): void => {
    dv.setUint32(addr, lo >>> 0, true);
    if (size === 8) dv.setUint32(addr + 4, hi >>> 0, true);
    entries.push({ addr, size, level });
  };
  const hiBits = (): number => {
    let hi = 0;
    if (mode !== '32' && chance(35)) hi |= 0x8000_0000; // XD (reserved without NXE)
    if (chance(2)) hi |= 1 << (MAX_PHYS - 32 + (next() % 4)); // above MAXPHYADDR: reserved
    return hi;
  };
  const maybeRsvdLo = (v: number, bit: number): number => (chance(3) ? v | (1 << bit) : v);

  // Linear pages: clusters so that tables are shared and TLB entries get reused and evicted.
  const pages: number[] = [];
  const clusters = 6;
  for (let c = 0; c < clusters; c++) {
    const base = mode === '4level' && c % 2 === 1 ? (next() >>> 0) + (1 + (next() & 0xff)) * 0x1_0000_0000 : next() >>> 0;
    const basePage = Math.floor(base / 4096) - (Math.floor(base / 4096) % 1024);
    for (let k = 0; k < 8; k++) pages.push(basePage + (next() % 1100));
  }
  pages.push(0xfffff, 0, 1023, 1024, 0x00345, 0x12345); // boundary cases, and two pages sharing a TLB index

  const cr3 = newTable();
  const tableFor = new Map<number, number>();
  const getTable = (key: number, make: () => number): number => {
    let t = tableFor.get(key);
    if (t === undefined) {
      t = make();
      tableFor.set(key, t);
    }
    return t;
  };

  for (const page of pages) {
    if (mode === '32') {
      const pdi = page >>> 10;
      const pdeAddr = cr3 + pdi * 4;
      if (dv.getUint32(pdeAddr, true) === 0) {
        if (!chance(92)) continue;
        if (chance(25)) {
          const frame = dataFrame(0x40_0000);
          let lo = (frame & 0xffc0_0000) | flags() | 0x80 | (chance(20) ? 0x1000 : 0);
          if (chance(3)) lo |= 1 << (13 + (next() % 9)); // PSE-36 bits / reserved bit 21
          put(pdeAddr, lo, 0, 4, 2);
          continue;
        }
        const pt = getTable(pdi, newTable);
        put(pdeAddr, pt | flags(), 0, 4, 2);
      }
      const pde = dv.getUint32(pdeAddr, true);
      if ((pde & 0x80) !== 0) continue;
      const pteAddr = (pde & 0xffff_f000) + (page & 0x3ff) * 4;
      if (chance(90)) put(pteAddr, dataFrame(4096) | flags() | (chance(20) ? 0x80 : 0), 0, 4, 1);
      continue;
    }
    // 64-bit entries: PAE (PDPT in the CR3 page) or 4-level.
    const linHi = Math.floor(page / 0x10_0000);
    const linLo = (page & 0xfffff) * 4096;
    let table = cr3;
    const levels = mode === 'pae' ? [30, 21, 12] : [39, 30, 21, 12];
    for (const shift of levels) {
      const index =
        shift === 39 ? (linHi >>> 7) & 0x1ff : shift === 30 ? (mode === 'pae' ? linLo >>> 30 : ((linHi & 0x7f) << 2) | (linLo >>> 30)) : (linLo >>> shift) & 0x1ff;
      const ea = table + index * 8;
      let lo = dv.getUint32(ea, true);
      if (lo === 0) {
        if (!chance(shift === 12 ? 90 : 95)) break;
        if (mode === 'pae' && shift === 30) {
          lo = getTable(ea, newTable) | 1;
          put(ea, chance(2) ? lo | 2 : lo, chance(2) ? 0x8000_0000 : 0, 8, 3);
        } else if (shift === 12 || ((shift === 21 || shift === 30) && chance(20))) {
          const frame = dataFrame(2 ** Math.min(shift, 22));
          let l = (frame & ~0xfff) | flags();
          if (shift !== 12) l = maybeRsvdLo(l | 0x80, 13 + (next() % 8));
          if (shift === 30 && frame % 2 ** 30 !== 0) l |= 1 << 13; // a 1 GiB frame RAM cannot align: reserved bits
          put(ea, l, hiBits(), 8, shift === 12 ? 1 : 2);
          break;
        } else {
          lo = getTable(ea, newTable) | flags();
          if (shift === 39 && chance(3)) lo |= 0x80;
          put(ea, lo & ~0x100, hiBits() & 0x8000_0000, 8, 3);
        }
      }
      lo = dv.getUint32(ea, true);
      if ((lo & 1) === 0 || ((lo & 0x80) !== 0 && shift !== 39) || shift === 12) break;
      table = lo & 0xffff_f000;
      if (!tablePages.has(table >>> 12)) break;
    }
  }
  return { mode, entries, tablePages, pages, cr3 };
}

/** expect() is slow in a loop of this length: compare first, assert only on a difference. */
function same(got: unknown, want: unknown, where: () => string): void {
  if (got !== want) expect(got, where()).toBe(want);
}

function runScenario(mode: Mode, seed: number, steps: number): void {
  const next = rng(seed);
  const phys = new PhysicalMemory({ ramSize: RAM });
  const mmu = new Mmu(phys, { maxPhysAddrBits: MAX_PHYS });
  const refBytes = new Uint8Array(RAM);
  const world = buildWorld(mode, next, refBytes);
  for (let i = 0; i < RAM; i += 4096) refBytes[i + 123] = i >>> 12; // some data to read
  phys.ram.set(refBytes);
  const ref = new RefPaging(new RefMemory(refBytes), MAX_PHYS);

  const pge = next() % 2 === 0;
  const cr4 = (mode === '32' ? CR4_PSE : CR4_PAE) | (pge ? CR4_PGE : 0) | (next() % 4 === 0 ? CR4_SMEP : 0);
  const efer = (mode === '4level' ? EFER_LME : 0) | (next() % 3 !== 0 ? EFER_NXE : 0);
  let cr0 = CR0_PE | CR0_PG | (next() % 2 === 0 ? CR0_WP : 0);
  expect(mmu.setEfer(efer)).toBe(CONTROL_OK);
  expect(mmu.setCr4(cr4)).toBe(CONTROL_OK);
  mmu.setCr3(world.cr3);
  const status = mmu.setCr0(cr0);
  ref.efer = efer;
  ref.cr4 = cr4;
  ref.cr3 = BigInt(world.cr3);
  ref.cr0 = cr0;
  const refOk = mode === 'pae' ? ref.loadPdptes(ref.cr3) : true;
  expect(status === CONTROL_OK).toBe(refOk);
  if (!refOk) return;

  let cpl = 0;
  let a20 = true;
  const dv = new DataView(phys.ram.buffer);
  const refDv = new DataView(refBytes.buffer);
  const touched = [...new Set(world.pages.flatMap((p) => [p, p + 1]))];
  /**
   * Computes, before a change, the INVLPGs software needs after it: one per 4 KiB page, and one at a
   * random address per large page (the TLB must drop all its pieces).
   */
  const planInvalidation = (): [number, number][] => {
    const seen = new Set<string>();
    const plan: [number, number][] = [];
    for (const q of touched) {
      const lin = BigInt(q) << 12n;
      const t = ref.translate(lin, { write: false, user: false, fetch: false }, false);
      if (!t.ok) {
        plan.push([(q % 0x10_0000) * 4096, Math.floor(q / 0x10_0000)]);
        continue;
      }
      const key = `${t.pageBits}:${lin >> BigInt(t.pageBits)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const within = t.pageBits === 12 ? 0 : next() % 2 ** (t.pageBits - 12);
      const target = ((lin >> BigInt(t.pageBits)) << BigInt(t.pageBits)) + (BigInt(within) << 12n) + BigInt(next() & 0xfff);
      plan.push([Number(target & 0xffff_ffffn) | 0, Number(target >> 32n)]);
    }
    return plan;
  };

  for (let step = 0; step < steps; step++) {
    const r = next() % 1000;
    if (r < 40) {
      // Change a paging-structure entry, then invalidate as software must.
      const plan = planInvalidation();
      const e = world.entries[next() % world.entries.length];
      const flip = [1, 2, 4, 0x20, 0x40, 0x80, 0x100][next() % 7];
      const lo = dv.getUint32(e.addr, true) ^ flip;
      dv.setUint32(e.addr, lo, true);
      refDv.setUint32(e.addr, lo, true);
      if (mode === 'pae' && e.level === 3) {
        const ok = mmu.setCr3(world.cr3) === CONTROL_OK;
        expect(ok).toBe(ref.loadPdptes(ref.cr3));
        if (!ok) {
          dv.setUint32(e.addr, lo ^ flip, true);
          refDv.setUint32(e.addr, lo ^ flip, true);
          expect(mmu.setCr3(world.cr3)).toBe(CONTROL_OK);
          expect(ref.loadPdptes(ref.cr3)).toBe(true);
        }
        // MOV to CR3 keeps global translations even when a PDPTE changed: software invalidates them.
        if (pge) for (const [lo, hi] of plan) mmu.invlpg(lo, hi);
      } else if (!pge || next() % 2 === 0) {
        if (pge) {
          mmu.setCr4(cr4 & ~CR4_PGE);
          mmu.setCr4(cr4);
        } else mmu.setCr3(world.cr3);
      } else for (const [lo, hi] of plan) mmu.invlpg(lo, hi);
    } else if (r < 60) {
      cpl = next() % 2 === 0 ? 0 : 3;
      mmu.setCpl(cpl);
    } else if (r < 70) {
      mmu.setCr3(world.cr3); // globals survive; nothing in memory changed, so nothing may differ
    } else if (r < 75) {
      cr0 ^= CR0_WP;
      mmu.setCr0(cr0);
      ref.cr0 = cr0;
    } else if (r < 78 && mode !== '4level') {
      a20 = !a20;
      mmu.setA20(a20);
      ref.a20 = a20;
    } else if (r < 90) {
      const p = world.pages[next() % world.pages.length];
      mmu.invlpg((p % 0x10_0000) * 4096 + (next() & 0xfff), Math.floor(p / 0x10_0000));
    } else {
      // An access.
      const page = world.pages[next() % world.pages.length];
      const size = [1, 2, 4][next() % 3];
      const off = next() % 3 === 0 ? 4096 - 1 - (next() % 4) : next() & 0xfff;
      const lo = ((page % 0x10_0000) * 4096 + off) | 0;
      const hi = Math.floor(page / 0x10_0000);
      const kind = next() % 10;
      const a: RefAccess = { write: kind < 3, fetch: kind === 9, user: cpl === 3 };
      const access = (a.write ? ACCESS_WRITE : 0) | (a.fetch ? ACCESS_FETCH : 0) | (a.user ? ACCESS_USER : 0);
      const where = (): string => `seed ${seed} step ${step} ${mode} lin ${hi.toString(16)}:${(lo >>> 0).toString(16)} size ${size} access ${access}`;

      if (hi !== 0) {
        // 64-bit addresses: compare translations (the accessors take 32-bit addresses).
        const got = mmu.translate(lo, hi, access);
        const want = ref.translate((BigInt(hi) << 32n) | BigInt(lo >>> 0), a);
        if (want.ok) same(got, Number(want.phys), where);
        else {
          same(got, -1, where);
          same(mmu.faultErrorCode, want.errorCode, where);
          mmu.pageFault = false;
        }
        continue;
      }
      // Expected result: translate each page the access touches, as the hardware does, in order.
      const firstLen = Math.min(size, 4096 - (lo & 0xfff));
      const spans: [number, number][] = [[lo >>> 0, firstLen]];
      if (firstLen < size) spans.push([((lo >>> 0) + firstLen) % 0x1_0000_0000, size - firstLen]);
      let want: { fault: number; cr2: number } | { phys: number[] } = { phys: [] };
      let writesTable = false;
      for (const [start] of spans) {
        const t = ref.translate(BigInt(start), a);
        if (!t.ok) {
          want = { fault: t.errorCode, cr2: start };
          break;
        }
        (want).phys.push(Number(t.phys));
        if (world.tablePages.has(Number(t.phys >> 12n))) writesTable = true;
      }
      if (a.write && writesTable) {
        // A linear write into the page tables changes them without invalidation: skip the store on
        // both sides (the reference already did its walk; the MMU must too, for the same A/D bits).
        mmu.translate(lo, 0, access);
        if (firstLen < size) mmu.translate((lo + firstLen) | 0, 0, access);
        mmu.pageFault = false;
        continue;
      }
      const value = next() | 0;
      let got = 0;
      if (a.write) {
        if (size === 1) mmu.write8(lo, value);
        else if (size === 2) mmu.write16(lo, value);
        else mmu.write32(lo, value);
      } else if (a.fetch) {
        // Instruction bytes in address order, stopping at the first fault, as a decoder fetches.
        for (let k = 0; k < size && !mmu.pageFault; k++) got |= mmu.fetch8((lo + k) | 0) << (8 * k);
      } else got = size === 1 ? mmu.read8(lo) : size === 2 ? mmu.read16(lo) : mmu.read32(lo);

      if ('fault' in want) {
        same(mmu.pageFault, true, where);
        same(mmu.faultErrorCode, want.fault, where);
        same(mmu.faultAddress, want.cr2, where);
        mmu.pageFault = false;
        continue;
      }
      same(mmu.pageFault, false, where);
      const physList = want.phys;
      const physOf = (k: number): number => (k < firstLen ? physList[0] + k : physList[1] + (k - firstLen));
      if (a.write) {
        for (let k = 0; k < size; k++) ref.mem.write(BigInt(physOf(k)), 1, BigInt((value >>> (8 * k)) & 0xff));
      } else {
        let expected = 0n;
        for (let k = size - 1; k >= 0; k--) expected = (expected << 8n) | ref.mem.read(BigInt(physOf(k)), 1);
        same(got >>> 0, Number(expected), where);
      }
    }
  }
  // Same memory at the end: data written and accessed/dirty bits set in the same places.
  let firstDiff = -1;
  if (!Buffer.from(phys.ram.buffer).equals(Buffer.from(refBytes.buffer))) {
    firstDiff = phys.ram.findIndex((b, i) => b !== refBytes[i]);
  }
  expect(firstDiff, `seed ${seed} ${mode}: memory differs at 0x${firstDiff.toString(16)}`).toBe(-1);
}

describe('TLB-backed translation against a reference walker', () => {
  for (const mode of ['32', 'pae', '4level'] as const) {
    it(`agrees on random ${mode} page tables and access sequences with flushes`, { timeout: 60_000 }, () => {
      const only = Number(process.env.DBG_SEED ?? 0);
      if (only) { runScenario(mode, only, 3000); return; }
      for (let seed = 1; seed <= 24; seed++) runScenario(mode, seed * 7919 + mode.length, 2500);
    });
  }
});
