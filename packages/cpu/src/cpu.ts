import { NO_INTERRUPTS, NO_IO, type InterruptSource, type IoPorts, type PhysicalMemory } from './bus.js';
import { CpuError } from './errors.js';
import { AC, IF, NT, RF, TF, VM, readFlags } from './flags.js';
import { cpuModel, type CpuModel, type CpuModelName } from './models.js';
import { CR0_PG, Mmu, PhysicalMemory as MmuPhysicalMemory } from '@tsvm/mmu';
import { PagedMemory, raisePageFault, syncPagingContext } from './paging.js';
import { Fpu } from './fpu/fpu.js';
import { loadDataSegProtected } from './segment-load.js';
import { ModelSpecificRegisters, type ApicBaseMsr } from './msr.js';

/** Segment registers in encoding order. */
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;

/** General registers in encoding order; index 8 is a constant zero used by address arithmetic. */
export const EAX = 0;
export const ECX = 1;
export const EDX = 2;
export const EBX = 3;
export const ESP = 4;
export const EBP = 5;
export const ESI = 6;
export const EDI = 7;
export const ZERO_REG = 8;
/** Byte offset of AH in the register file (little-endian host). */
export const AH = 1;

/** Byte offset of AL, CL, DL, BL, AH, CH, DH, BH in the register file (little-endian host). */
export const BYTE_REG = [0, 4, 8, 12, 1, 5, 9, 13] as const;

/** Exception vectors (Intel SDM vol. 3A, 6.3.1). */
export const DE = 0;
export const DB = 1;
export const BP = 3;
export const OFV = 4;
export const BR = 5;
export const UD = 6;
export const NM = 7;
export const SSF = 12;
export const GP = 13;

/** Real-mode segment access rights: present, writable data, accessed (descriptor byte 5). */
export const REAL_MODE_ATTR = 0x93;
/** Bits of `segAttr` (descriptor byte 5, then G and D/B): present, S, code, W/R, expand-down, B. */
const SEG_PRESENT = 0x80;
const SEG_S = 0x10;
const SEG_CODE = 0x08;
const SEG_DOWN = 0x04;
const SEG_RW = 0x02;
const SEG_BIG = 0x4000;

/** Unwinds an instruction that faulted mid-way; never escapes `step`/`run`. */
export class GuestFault extends Error {
  vector = 0;
  errorCode = -1;
}

export interface CpuOptions {
  /** CPU model name; default `p6`. */
  model?: CpuModelName;
  memory: PhysicalMemory;
  io?: IoPorts;
  interrupts?: InterruptSource;
  /**
   * The time-stamp counter's source: ticks since power-on given the instructions retired since reset
   * (RDTSC reads it plus the offset WRMSR sets). Called on every RDTSC, so keep it cheap. Default: the
   * retired-instruction count, one tick per instruction.
   */
  timeStampCounter?: (instructions: number) => number;
  /** The local APIC behind IA32_APIC_BASE and the CPUID APIC bit (P6); none: the MSR reads 0. */
  apic?: ApicBaseMsr;
}

/**
 * The processor state and its memory access paths. Instruction semantics live in `ops/*`, the
 * fetch-decode-execute loop in `interpreter.ts`.
 */
export class CpuCore {
  readonly model: CpuModel;
  /** What data accesses go to: physical memory, or the paged view while CR0.PG is set. */
  mem: PhysicalMemory;
  /** The machine's physical memory (instruction bytes are read from it after translation). */
  readonly physMem: PhysicalMemory;
  /** Paging, when the memory is `@tsvm/mmu`'s PhysicalMemory (anything else cannot page). */
  readonly mmu: Mmu | null;
  readonly paged: PagedMemory | null;
  /** True while CR0.PG is in effect: `mem` is `paged` and addresses are linear. */
  paging = false;
  /** Applied to addresses before `mem`: the A20 mask without paging, all ones with it (the Mmu applies A20). */
  addrMask = -1;
  io: IoPorts;
  interrupts: InterruptSource;

  /** EAX..EDI plus a constant zero at index 8. */
  readonly regs = new Int32Array(9);
  /** 16-bit views: register i is `r16[i << 1]`. */
  readonly r16 = new Uint16Array(this.regs.buffer);
  /** 8-bit views: see `BYTE_REG`. */
  readonly r8 = new Uint8Array(this.regs.buffer);
  eip = 0;
  /** EIP of the instruction being executed (faults restart or report it). */
  opEip = 0;
  /** 0xFFFF for a 16-bit code segment, -1 for 32-bit. */
  ipMask = 0xffff;

  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Uint32Array(6);
  readonly segAttr = new Uint16Array(6);
  /**
   * What each access checks, derived from the hidden cache by `refreshSegAccess` whenever it is
   * loaded: the lowest valid offset (limit + 1 for expand-down data) and the span of valid offsets
   * above it for reads and for writes, -1 when the access is not allowed at all (a null segment, a
   * write to read-only data or code, a read of execute-only code). An access checks
   * `(offset - lo) >>> 0 > span`: one compare, whatever the segment's kind.
   */
  readonly segLo = new Int32Array(6);
  readonly segReadSpan = new Float64Array(6);
  readonly segWriteSpan = new Float64Array(6);

  /** EFLAGS, except the arithmetic flags while `lazy` is 1 (see flags.ts). */
  flags = 2;
  lazy = 0;
  lfRes = 0;
  lfCv = 0;
  lfMsb = 7;

  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);
  /** The x87 unit (src/fpu). */
  readonly fpu = new Fpu();
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0x3ff;
  ldtr = 0;
  /** LDTR's hidden cache (loaded by LLDT). */
  ldtrBase = 0;
  ldtrLimit = 0;
  tr = 0;
  /** TR's hidden cache (loaded by LTR): the TSS's base, limit and descriptor byte 5. */
  trBase = 0;
  trLimit = 0;
  trAttr = 0x8b;
  /** A 32-bit TSS (type 9/B) rather than a 16-bit one (1/3). */
  get tr32(): boolean {
    return (this.trAttr & 8) !== 0;
  }
  /** Current privilege level: CS.RPL in protected mode, 0 in real mode. */
  cpl = 0;
  /** The descriptor last read by `fetchDescriptor` and its linear address (scratch, no allocation). */
  descLo = 0;
  descHi = 0;
  descAddr = 0;

  /** Physical address mask: 0xFFFFF with the A20 gate closed (and always on the 8086). */
  a20Mask: number;
  halted = false;
  /** Set by MOV SS, POP SS and STI: no interrupt or single-step trap before the next instruction. */
  shadow = false;
  /** Set by MOV SS and POP SS only: the single-step trap also waits for the next instruction. */
  ssShadow = false;
  /** A stop requested from outside the loop (debugger, policy). */
  stopRequested = false;
  /** Set when a triple fault shut the processor down. */
  shutdown = false;
  /** Set when a REP string instruction stopped early to let the loop breathe; it restarts itself. */
  repYield = false;
  /** Instructions retired since reset. */
  instructions = 0;
  readonly fault = new GuestFault('guest fault');
  /** RDMSR/WRMSR/RDTSC state (msr.ts). */
  readonly msr: ModelSpecificRegisters;

  /** 1 for every physical 4 KiB page holding decoded instructions (see interpreter.ts). */
  readonly codePages = new Uint8Array(1 << 20);

  constructor(options: CpuOptions) {
    this.model = cpuModel(options.model ?? 'p6');
    if (typeof options.memory?.read8 !== 'function') {
      throw new CpuError('InvalidArgument', 'CpuOptions.memory must provide read8/16/32 and write8/16/32');
    }
    this.mem = options.memory;
    this.physMem = options.memory;
    this.mmu = options.memory instanceof MmuPhysicalMemory ? new Mmu(options.memory) : null;
    this.paged = this.mmu !== null ? new PagedMemory(this, this.mmu) : null;
    this.io = options.io ?? NO_IO;
    this.interrupts = options.interrupts ?? NO_INTERRUPTS;
    const tscSource = options.timeStampCounter;
    if (tscSource !== undefined && typeof tscSource !== 'function') {
      throw new CpuError('InvalidArgument', 'CpuOptions.timeStampCounter must be a function (instructions) => ticks');
    }
    this.msr = new ModelSpecificRegisters(this.model, tscSource !== undefined ? () => tscSource(this.instructions) : () => this.instructions);
    if (options.apic !== undefined) this.msr.apic = options.apic;
    this.a20Mask = this.model.generation === 0 ? 0xfffff : -1;
    this.addrMask = this.a20Mask;
  }

  /** Chooses the access path after CR0, the A20 gate or the state changed. */
  updateAccessPath(): void {
    this.paging = this.mmu !== null && this.paged !== null && (this.mmu.cr0 & CR0_PG) !== 0;
    this.mem = this.paging && this.paged !== null ? this.paged : this.physMem;
    this.addrMask = this.paging ? -1 : this.a20Mask;
    // PE may have changed: protected mode checks the rights too.
    for (let seg = 0; seg < 6; seg++) this.refreshSegAccess(seg);
  }

  /** Called after the state API changed registers; the interpreter drops what depends on the mode. */
  onStateLoaded(): void {
    this.halted = this.halted && !this.shutdown;
    this.cpl = (this.cr0 & 1) === 0 ? 0 : (this.flags & VM) !== 0 ? 3 : this.segSel[CS] & 3;
    syncPagingContext(this);
    this.mmu?.setCpl(this.cpl);
    this.updateAccessPath();
  }

  /**
   * Sets CS's default size (`ipMask` 0xFFFF or -1). Decoded instructions depend on it and are cached
   * by physical address only, so a change drops them all (a mode switch, not a per-jump cost).
   */
  setCodeSize(mask: number): void {
    if (mask === this.ipMask) return;
    this.ipMask = mask;
    this.flushDecoded();
  }

  /** Drops every decoded instruction; the interpreter overrides it. */
  flushDecoded(): void {
    this.codePages.fill(0);
  }

  /** Drops decoded code for one physical page; the interpreter overrides it. */
  invalidateCodePage(_page: number): void {
    this.codePages[_page] = 0;
  }

  // --- segments -------------------------------------------------------------------------------

  /** True when protected-mode segmentation applies: CR0.PE set and not in virtual-8086 mode (EFLAGS.VM). */
  get protectedMode(): boolean {
    return (this.cr0 & 1) !== 0 && (this.flags & VM) === 0;
  }

  /** Loads a data or stack segment register the way the current mode does (v86 mode: real-mode style). */
  loadSeg(seg: number, sel: number): void {
    if ((this.cr0 & 1) === 0) this.loadSegReal(seg, sel);
    else if ((this.flags & VM) === 0) loadDataSegProtected(this, seg, sel);
    else {
      // Virtual-8086 mode: real-mode style, with the v86 cache (limit FFFFh, DPL 3 data; see v86.ts).
      this.loadSegReal(seg, sel);
      this.segLimit[seg] = 0xffff;
      this.segAttr[seg] = 0xf3;
      this.refreshSegAccess(seg);
    }
  }

  /** Changes CPL (and the rights the Mmu checks ordinary accesses with). */
  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.mmu?.setCpl(cpl);
  }

  /** I/O sensitive instructions (CLI, STI, IN, OUT, INS, OUTS) in protected mode need CPL <= IOPL. */
  checkIopl(): void {
    if (this.cpl !== 0 && this.cpl > ((readFlags(this) >>> 12) & 3)) this.raise(GP, 0);
  }

  /** Raises the page fault the Mmu just reported. */
  pageFaultFromMmu(): never {
    return raisePageFault(this, this.mmu!);
  }

  /**
   * Derives the offsets an access through `seg` may use from its hidden cache (Intel SDM vol. 3A,
   * 5.3 and 5.5-5.7). Without PE only the limit applies, from offset 0. In protected mode a cache
   * that is not present (a null selector) allows nothing; code is never writable and readable only
   * with R; data is readable, writable with W, and expand-down data spans limit + 1 to 0xFFFF, or
   * to 0xFFFFFFFF with B set. Call it after writing `segLimit` or `segAttr`.
   */
  refreshSegAccess(seg: number): void {
    const limit = this.segLimit[seg];
    const attr = this.segAttr[seg];
    let lo = 0;
    let read = limit;
    let write = limit;
    if ((this.cr0 & 1) !== 0) {
      if ((attr & SEG_PRESENT) === 0 || (attr & SEG_S) === 0) {
        read = -1;
        write = -1;
      } else if ((attr & SEG_CODE) !== 0) {
        write = -1;
        if ((attr & SEG_RW) === 0) read = -1;
      } else {
        if ((attr & SEG_RW) === 0) write = -1;
        if ((attr & SEG_DOWN) !== 0) {
          const top = (attr & SEG_BIG) !== 0 ? 0xffffffff : 0xffff;
          const span = limit >= top ? -1 : top - limit - 1;
          lo = limit >= top ? 0 : (limit + 1) | 0;
          read = span;
          write = write < 0 ? -1 : span;
        }
      }
    }
    this.segLo[seg] = lo;
    this.segReadSpan[seg] = read;
    this.segWriteSpan[seg] = write;
  }

  /** Loads a segment register the real-mode way: base = selector * 16, limit and rights kept. */
  loadSegReal(seg: number, sel: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = (sel & 0xffff) << 4;
    if (seg === CS) this.setCodeSize(0xffff);
  }

  // --- memory by segment:offset ---------------------------------------------------------------

  /** Raises a fault that aborts the current instruction; caught by the interpreter loop. */
  raise(vector: number, errorCode = -1): never {
    this.fault.vector = vector;
    this.fault.errorCode = errorCode;
    throw this.fault;
  }

  private limitFault(seg: number): never {
    return this.raise(seg === SS ? SSF : GP, 0);
  }

  /** Physical address of an instruction byte at a linear address (#PF when paging says so). */
  phys(linear: number): number {
    if (this.paging && this.paged !== null) return this.paged.translateFetch(linear);
    return (linear & this.a20Mask) >>> 0;
  }

  rd8(seg: number, off: number): number {
    if ((off - this.segLo[seg]) >>> 0 > this.segReadSpan[seg]) this.checkAccess(seg, off, 1, false);
    return this.mem.read8(((this.segBase[seg] + off) & this.addrMask) >>> 0);
  }

  rd16(seg: number, off: number): number {
    const lin = (this.segBase[seg] + off) | 0;
    if ((off - this.segLo[seg]) >>> 0 >= this.segReadSpan[seg] || (lin & 0xfff) === 0xfff) return this.rd16Slow(seg, off);
    return this.mem.read16((lin & this.addrMask) >>> 0);
  }

  rd32(seg: number, off: number): number {
    const lin = (this.segBase[seg] + off) | 0;
    if (((off - this.segLo[seg]) >>> 0) + 3 > this.segReadSpan[seg] || (lin & 0xfff) > 0xffc) return this.rd32Slow(seg, off);
    return this.mem.read32((lin & this.addrMask) >>> 0) | 0;
  }

  wr8(seg: number, off: number, v: number): void {
    if ((off - this.segLo[seg]) >>> 0 > this.segWriteSpan[seg]) this.checkAccess(seg, off, 1, true);
    const p = ((this.segBase[seg] + off) & this.addrMask) >>> 0;
    if (this.codePages[p >>> 12] !== 0) this.invalidateCodePage(p >>> 12);
    this.mem.write8(p, v & 0xff);
  }

  wr16(seg: number, off: number, v: number): void {
    const lin = (this.segBase[seg] + off) | 0;
    if ((off - this.segLo[seg]) >>> 0 >= this.segWriteSpan[seg] || (lin & 0xfff) === 0xfff) {
      this.wr16Slow(seg, off, v);
      return;
    }
    const p = (lin & this.addrMask) >>> 0;
    if (this.codePages[p >>> 12] !== 0) this.invalidateCodePage(p >>> 12);
    this.mem.write16(p, v & 0xffff);
  }

  wr32(seg: number, off: number, v: number): void {
    const lin = (this.segBase[seg] + off) | 0;
    if (((off - this.segLo[seg]) >>> 0) + 3 > this.segWriteSpan[seg] || (lin & 0xfff) > 0xffc) {
      this.wr32Slow(seg, off, v);
      return;
    }
    const p = (lin & this.addrMask) >>> 0;
    if (this.codePages[p >>> 12] !== 0) this.invalidateCodePage(p >>> 12);
    this.mem.write32(p, v >>> 0);
  }

  /** Reads by operand size (sign-bit index 7, 15 or 31). */
  rd(seg: number, off: number, msb: number): number {
    return msb === 7 ? this.rd8(seg, off) : msb === 15 ? this.rd16(seg, off) : this.rd32(seg, off);
  }

  wr(seg: number, off: number, v: number, msb: number): void {
    if (msb === 7) this.wr8(seg, off, v);
    else if (msb === 15) this.wr16(seg, off, v);
    else this.wr32(seg, off, v);
  }

  /**
   * The full check of `size` bytes at `off` through `seg`: #SS(0) for SS, #GP(0) otherwise, when
   * they leave the segment's valid offsets or the access is not allowed (see `refreshSegAccess`).
   * The 8086 has no checks (a word at 0xFFFF wraps). A cache written without a refresh is derived
   * again before faulting.
   */
  checkAccess(seg: number, off: number, size: number, write: boolean): void {
    if (this.model.generation === 0 || this.inSegment(seg, off, size, write)) return;
    this.refreshSegAccess(seg);
    if (!this.inSegment(seg, off, size, write)) this.limitFault(seg);
  }

  private inSegment(seg: number, off: number, size: number, write: boolean): boolean {
    const span = write ? this.segWriteSpan[seg] : this.segReadSpan[seg];
    return ((off - this.segLo[seg]) >>> 0) + size - 1 <= span;
  }

  /**
   * Byte-wise access for the edge cases: the 8086 wraps a word at offset 0xFFFF to offset 0 of the
   * same segment; later CPUs fault on the segment's checks (`checkAccess`, before any byte moves).
   * Accesses that cross a page go byte by byte so each byte is translated (and the A20 wrap at
   * 1 MiB applies).
   */
  private offsetAt(off: number, i: number): number {
    const o = (off + i) >>> 0;
    return this.model.generation === 0 ? o & 0xffff : o;
  }

  private rdByteAt(seg: number, o: number): number {
    return this.mem.read8(((this.segBase[seg] + o) & this.addrMask) >>> 0);
  }

  private wrByteAt(seg: number, o: number, v: number): void {
    const p = ((this.segBase[seg] + o) & this.addrMask) >>> 0;
    if (this.codePages[p >>> 12] !== 0) this.invalidateCodePage(p >>> 12);
    this.mem.write8(p, v & 0xff);
  }

  private rd16Slow(seg: number, off: number): number {
    this.checkAccess(seg, off, 2, false);
    return this.rdByteAt(seg, this.offsetAt(off, 0)) | (this.rdByteAt(seg, this.offsetAt(off, 1)) << 8);
  }

  private rd32Slow(seg: number, off: number): number {
    this.checkAccess(seg, off, 4, false);
    let v = 0;
    for (let i = 0; i < 4; i++) v |= this.rdByteAt(seg, this.offsetAt(off, i)) << (i * 8);
    return v;
  }

  private wr16Slow(seg: number, off: number, v: number): void {
    this.checkAccess(seg, off, 2, true);
    const o0 = this.offsetAt(off, 0);
    if (this.paging) this.paged?.probeWrite((this.segBase[seg] + o0) | 0, 2);
    this.wrByteAt(seg, o0, v);
    this.wrByteAt(seg, this.offsetAt(off, 1), v >>> 8);
  }

  private wr32Slow(seg: number, off: number, v: number): void {
    this.checkAccess(seg, off, 4, true);
    if (this.paging) this.paged?.probeWrite((this.segBase[seg] + off) | 0, 4);
    for (let i = 0; i < 4; i++) this.wrByteAt(seg, this.offsetAt(off, i), v >>> (i * 8));
  }

  // --- stack ----------------------------------------------------------------------------------

  /** True when SS is a 32-bit stack segment (B bit); always false in real mode. */
  stack32 = false;

  push16(v: number): void {
    if (this.stack32) {
      const sp = (this.regs[ESP] - 2) | 0;
      this.wr16(SS, sp, v);
      this.regs[ESP] = sp;
    } else {
      const sp = (this.r16[ESP << 1] - 2) & 0xffff;
      this.wr16(SS, sp, v);
      this.r16[ESP << 1] = sp;
    }
  }

  push32(v: number): void {
    if (this.stack32) {
      const sp = (this.regs[ESP] - 4) | 0;
      this.wr32(SS, sp, v);
      this.regs[ESP] = sp;
    } else {
      const sp = (this.r16[ESP << 1] - 4) & 0xffff;
      this.wr32(SS, sp, v);
      this.r16[ESP << 1] = sp;
    }
  }

  pop16(): number {
    if (this.stack32) {
      const v = this.rd16(SS, this.regs[ESP]);
      this.regs[ESP] = (this.regs[ESP] + 2) | 0;
      return v;
    }
    const sp = this.r16[ESP << 1];
    const v = this.rd16(SS, sp);
    this.r16[ESP << 1] = sp + 2;
    return v;
  }

  pop32(): number {
    if (this.stack32) {
      const v = this.rd32(SS, this.regs[ESP]);
      this.regs[ESP] = (this.regs[ESP] + 4) | 0;
      return v;
    }
    const sp = this.r16[ESP << 1];
    const v = this.rd32(SS, sp);
    this.r16[ESP << 1] = sp + 4;
    return v;
  }

  /** Reads the stack without popping, `depth` bytes above the top. */
  peek16(depth: number): number {
    return this.stack32 ? this.rd16(SS, (this.regs[ESP] + depth) | 0) : this.rd16(SS, (this.r16[ESP << 1] + depth) & 0xffff);
  }

  // --- interrupts -----------------------------------------------------------------------------

  /**
   * Delivers interrupt `vector` the real-mode way: push FLAGS, CS and `returnIp`, clear IF, TF (and
   * AC, RF on the 486 and later), continue at the IVT entry. The IVT is read through IDTR (base 0,
   * limit 0x3FF after reset); a vector past the limit is a #GP, escalated to shutdown as on hardware.
   */
  interruptReal(vector: number, returnIp: number): void {
    const entry = vector << 2;
    if (this.model.generation >= 2 && entry + 3 > this.idtrLimit) {
      if (vector === GP || vector === 8) {
        this.enterShutdown();
        return;
      }
      this.interruptReal(vector === 8 ? GP : 8, returnIp);
      return;
    }
    const f = readFlags(this);
    this.push16(f);
    this.push16(this.segSel[CS]);
    this.push16(returnIp);
    this.flags = f & ~(IF | TF | AC | RF);
    this.lazy = 0;
    const ivt = (this.idtrBase + entry) & this.addrMask;
    const ip = this.mem.read16(ivt >>> 0);
    const cs = this.mem.read16(((ivt + 2) & this.addrMask) >>> 0);
    this.loadSegReal(CS, cs);
    this.eip = ip;
    this.halted = false;
  }

  enterShutdown(): void {
    this.shutdown = true;
    this.halted = true;
  }

  /** Flags the model lets POPF/IRET/SAHF-class writes change in the current mode. */
  writableFlags(): number {
    return this.model.flagsWritable & ~(this.model.generation >= 3 ? 0 : NT);
  }
}
