/**
 * A plain reference for x86 paging, written straight from the Intel SDM Vol. 3A chapter 4 tables with
 * BigInt arithmetic and no caching of any kind, over its own byte array. The randomized test runs it
 * side by side with the TLB-backed `Mmu` and expects the same physical addresses, faults and memory.
 */

export const REF_NONE = 0;
export const REF_32 = 1;
export const REF_PAE = 2;
export const REF_4LEVEL = 3;

export interface RefAccess {
  write: boolean;
  user: boolean;
  fetch: boolean;
}

export type RefResult = { ok: true; phys: bigint; pageBits: number } | { ok: false; errorCode: number };

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const bitsRange = (hi: number, lo: number): bigint => ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);

export class RefMemory {
  constructor(readonly bytes: Uint8Array) {}

  read(addr: bigint, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) {
      const a = addr + BigInt(i);
      v = (v << 8n) | (a < BigInt(this.bytes.length) ? BigInt(this.bytes[Number(a)]) : 0xffn);
    }
    return v;
  }

  write(addr: bigint, size: number, value: bigint): void {
    for (let i = 0; i < size; i++) {
      const a = addr + BigInt(i);
      if (a < BigInt(this.bytes.length)) this.bytes[Number(a)] = Number((value >> BigInt(8 * i)) & 0xffn);
    }
  }
}

export class RefPaging {
  cr0 = 0;
  cr3 = 0n;
  cr4 = 0;
  efer = 0;
  a20 = true;
  pdptes: bigint[] = [0n, 0n, 0n, 0n];

  constructor(
    readonly mem: RefMemory,
    readonly maxPhys: number,
  ) {}

  get mode(): number {
    if (!bit(BigInt(this.cr0 >>> 0), 31)) return REF_NONE;
    if (!bit(BigInt(this.cr4), 5)) return REF_32;
    return bit(BigInt(this.efer), 8) ? REF_4LEVEL : REF_PAE;
  }

  private a20Mask(addr: bigint): bigint {
    return this.a20 ? addr : addr & ~(1n << 20n);
  }

  /** Loads PAE PDPTEs; false when a present one has reserved bits (then nothing changes). */
  loadPdptes(cr3: bigint): boolean {
    const base = cr3 & ~0x1fn;
    const out: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      const e = this.mem.read(this.a20Mask(base + BigInt(i * 8)), 8);
      const rsvd = bitsRange(2, 1) | bitsRange(8, 5) | bitsRange(63, this.maxPhys);
      if (bit(e, 0) && (e & rsvd) !== 0n) return false;
      out.push(e);
    }
    this.pdptes = out;
    return true;
  }

  private get nxe(): boolean {
    return bit(BigInt(this.efer), 11);
  }

  private errorCode(a: RefAccess, present: boolean, rsvd: boolean): number {
    const smep = bit(BigInt(this.cr4), 20);
    const id = a.fetch && (smep || (this.mode !== REF_32 && this.nxe));
    return (present ? 1 : 0) | (a.write ? 2 : 0) | (a.user ? 4 : 0) | (rsvd ? 8 : 0) | (id ? 16 : 0);
  }

  /** `commit` false: the same walk without setting accessed/dirty bits. */
  translate(lin: bigint, a: RefAccess, commit = true): RefResult {
    const mode = this.mode;
    if (mode === REF_NONE) return { ok: true, phys: this.a20Mask(lin & 0xffff_ffffn), pageBits: 12 };
    const m = this.maxPhys;
    // Each level: [address of entry, entry value, is leaf, page size bits]
    const used: bigint[] = [];
    let leafAddr = 0n;
    let leaf = 0n;
    let pageBits = 12;
    let frameBase = 0n;
    let user = true;
    let writable = true;
    let nx = false;
    const fault = (present: boolean, rsvd: boolean): RefResult => ({ ok: false, errorCode: this.errorCode(a, present, rsvd) });
    const addr36 = (e: bigint): bigint => e & bitsRange(m - 1, 12);

    if (mode === REF_32) {
      const pdeA = this.a20Mask((this.cr3 & 0xffff_f000n) + ((lin >> 22n) & 0x3ffn) * 4n);
      const pde = this.mem.read(pdeA, 4);
      if (!bit(pde, 0)) return fault(false, false);
      user &&= bit(pde, 2);
      writable &&= bit(pde, 1);
      if (bit(pde, 7) && bit(BigInt(this.cr4), 4)) {
        const mm = Math.min(m, 40);
        let rsvd = 1n << 21n;
        if (mm < 40) rsvd |= bitsRange(20, 13 + (mm - 32));
        if ((pde & rsvd) !== 0n) return fault(true, true);
        leafAddr = pdeA;
        leaf = pde;
        pageBits = 22;
        frameBase = (pde & 0xffc0_0000n) | (((pde >> 13n) & 0xffn) << 32n);
      } else {
        used.push(pdeA);
        const pteA = this.a20Mask((pde & 0xffff_f000n) + ((lin >> 12n) & 0x3ffn) * 4n);
        const pte = this.mem.read(pteA, 4);
        if (!bit(pte, 0)) return fault(false, false);
        user &&= bit(pte, 2);
        writable &&= bit(pte, 1);
        leafAddr = pteA;
        leaf = pte;
        frameBase = pte & 0xffff_f000n;
      }
    } else {
      const xdRsvd = this.nxe ? 0n : 1n << 63n;
      const highRsvd = mode === REF_PAE ? bitsRange(62, m) : bitsRange(51, m);
      let table: bigint;
      let levels: number[];
      if (mode === REF_PAE) {
        const pdpte = this.pdptes[Number((lin >> 30n) & 3n)];
        if (!bit(pdpte, 0)) return fault(false, false);
        table = addr36(pdpte);
        levels = [21, 12];
      } else {
        table = this.cr3 & bitsRange(m - 1, 12);
        levels = [39, 30, 21, 12];
      }
      for (const shift of levels) {
        const ea = this.a20Mask(table + ((lin >> BigInt(shift)) & 0x1ffn) * 8n);
        const e = this.mem.read(ea, 8);
        if (!bit(e, 0)) return fault(false, false);
        let rsvd = highRsvd | xdRsvd;
        const ps = bit(e, 7);
        if (shift === 39 && ps) return fault(true, true);
        if (ps && shift === 30) rsvd |= bitsRange(29, 13);
        if (ps && shift === 21) rsvd |= bitsRange(20, 13);
        if ((e & rsvd) !== 0n) return fault(true, true);
        user &&= bit(e, 2);
        writable &&= bit(e, 1);
        if (this.nxe) nx ||= bit(e, 63);
        if (shift === 12 || (ps && shift !== 39)) {
          leafAddr = ea;
          leaf = e;
          pageBits = shift;
          frameBase = e & bitsRange(m - 1, shift);
          break;
        }
        used.push(ea);
        table = addr36(e);
      }
    }

    // Rights (SDM Vol. 3A, 4.6).
    const wp = bit(BigInt(this.cr0 >>> 0), 16);
    const smep = bit(BigInt(this.cr4), 20);
    let allowed: boolean;
    if (a.user) allowed = user && (!a.write || writable) && (!a.fetch || !nx);
    else if (a.write) allowed = writable || !wp;
    else if (a.fetch) allowed = !nx && !(smep && user);
    else allowed = true;
    if (!allowed) return fault(true, false);

    if (commit) {
      for (const ea of used) this.setBits(ea, 0x20n);
      this.setBits(leafAddr, a.write ? 0x60n : 0x20n);
    }
    void leaf;
    const offset = lin & ((1n << BigInt(pageBits)) - 1n);
    return { ok: true, phys: this.a20Mask(frameBase + offset), pageBits };
  }

  private setBits(ea: bigint, bits: bigint): void {
    const v = this.mem.read(ea, 4);
    if ((v & bits) !== bits) this.mem.write(ea, 4, v | bits);
  }
}
