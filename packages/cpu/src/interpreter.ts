import { CODE_NAMES, DecodeError, decode, Instruction, OpKind, Prefix, Register } from '@tsvm/x86-decoder';
import type { CodePageTracking } from './bus.js';
import { CS, CpuCore, DB, DE, DS, GP, GuestFault, UD, type CpuOptions } from './cpu.js';
import type { InstructionWatch } from './debugger.js';
import { EXEC_SPECS, type ExecSpec } from './dispatch.js';
import { IF, TF } from './flags.js';
import { Op } from './op.js';
import { popSeg } from './ops/stack.js';
import { interruptProtected } from './pm-interrupts.js';
import { nop } from './ops/system.js';
import { length8086, MAX_INSN, removedLocks, rewrite8086 } from './quirks8086.js';
import { resetCpu } from './reset.js';
import { getCpuState, setCpuState, type CpuState, type CpuStatePatch } from './state.js';

/** Why `run` returned. */
export type StopReason =
  /** The instruction budget is spent. */
  | 'budget'
  /** HLT: nothing to do until an interrupt (with IF clear, until an NMI or reset). */
  | 'halt'
  /** A triple fault (or a fault while delivering a double fault) shut the processor down. */
  | 'shutdown'
  /** `requestStop()` was called (debugger, policy exit). */
  | 'stopped'
  /** A debugger breakpoint: stopped before the instruction at its linear address (debugger.ts). */
  | 'breakpoint';

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_OFFSET_MASK = PAGE_SIZE - 1;

/** Handler spec per decoder code, a dense array built once from the names. */
const SPEC_BY_CODE: (ExecSpec | undefined)[] = CODE_NAMES.map((name) => {
  const spec = EXEC_SPECS.get(name);
  if (spec !== undefined) return spec;
  // x87 instructions with no FPU attached execute as no-ops (what a CPU without a coprocessor does
  // with ESC: the 8086 reads the operand and ignores it).
  if (/^F[a-z0-9]/.test(name) && !/^Fxsave|^Fxrstor/.test(name)) return { reg: nop, mem: nop, ext: 0, layout: '' };
  return undefined;
});

/** Codes the decoder knows and the CPU does not execute (for reports). */
export function unsupportedCodes(): string[] {
  return CODE_NAMES.filter((_, code) => code !== 0 && SPEC_BY_CODE[code] === undefined);
}

const UD_SPEC: ExecSpec = { reg: (cpu) => cpu.exception(UD), mem: null, ext: 0, layout: '' };
/** More than 15 bytes (prefixes included): #GP(0), not #UD (SDM vol. 2A, 2.1). */
const TOO_LONG_SPEC: ExecSpec = { reg: (cpu) => cpu.raise(GP, 0), mem: null, ext: 0, layout: '' };

/**
 * The x86 CPU: state (CpuCore) plus the fetch-decode-execute loop. Decoded instructions are cached
 * per physical page and dropped when the page is written, so self-modifying code works.
 */
export class Cpu extends CpuCore {
  private readonly insn = new Instruction();
  private readonly bytes = new Uint8Array(MAX_INSN + 1);
  private readonly pages = new Map<number, (Op | undefined)[]>();
  private curPage = -1;
  private curOps: (Op | undefined)[] = [];
  /** The single-step trap of the current instruction is cancelled (INT n, MOV SS). */
  private noTrap = false;
  /** An armed debugger, asked before each instruction; null (the usual case) costs nothing per instruction. */
  watch: InstructionWatch | null = null;

  private readonly tracking: CodePageTracking | null;

  constructor(options: CpuOptions) {
    super(options);
    const mem = options.memory as Partial<CodePageTracking>;
    this.tracking = typeof mem.markCode === 'function' && typeof mem.setCodeWriteHandler === 'function' ? (mem as CodePageTracking) : null;
    this.tracking?.setCodeWriteHandler((address) => this.invalidateCodePage(address >>> PAGE_SHIFT));
    resetCpu(this);
    this.onStateLoaded();
  }

  /** Hardware reset: registers, segments and flags to the model's reset state; caches dropped. */
  reset(): void {
    resetCpu(this);
    this.onStateLoaded();
    this.flushCodeCache();
  }

  /** True when the last instruction was a REP string instruction that yielded before finishing. */
  isRepeating(): boolean {
    return this.repYield;
  }

  /** Every register, flag and segment as plain data. */
  getState(): CpuState {
    return getCpuState(this);
  }

  /** Validates and applies a (partial) state; see `CpuStatePatch`. */
  setState(patch: CpuStatePatch): void {
    setCpuState(this, patch);
  }

  override onStateLoaded(): void {
    super.onStateLoaded();
    this.curPage = -1;
  }

  /** Asks a running `run` to return 'stopped' after the current instruction. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Executes one instruction (or takes one pending interrupt first). */
  step(): StopReason {
    return this.run(1);
  }

  /** Executes up to `budget` instructions and says why it stopped. */
  run(budget: number): StopReason {
    this.stopRequested = false;
    const watch = this.watch;
    let n = 0;
    while (n < budget) {
      if (this.shutdown) return 'shutdown';
      if (!this.shadow && (this.flags & IF) !== 0) {
        const vector = this.interrupts.acknowledge();
        if (vector >= 0) this.deliver(vector, this.eip, false);
      }
      this.shadow = false;
      this.ssShadow = false;
      if (this.halted) return this.shutdown ? 'shutdown' : 'halt';
      if (watch !== null && watch.beforeInstruction(this)) return 'breakpoint';
      const trap = (this.flags & TF) !== 0;
      this.noTrap = false;
      this.repYield = false;
      this.opEip = this.eip;
      const op = this.fetchOrFault();
      if (op === null) {
        n++;
        continue;
      }
      this.eip = (this.eip + op.len) & this.ipMask;
      try {
        op.handler(this, op);
      } catch (e) {
        if (e !== this.fault) throw e;
        this.eip = this.opEip;
        this.noTrap = true; // a faulting instruction did not complete: no single-step trap after it
        this.deliver(this.fault.vector, this.opEip, true, this.fault.errorCode);
      }
      n++;
      this.instructions++;
      if (trap && !this.noTrap && !this.ssShadow) this.deliver(DB, this.eip, false);
      if (this.stopRequested) return 'stopped';
    }
    return 'budget';
  }

  // --- exceptions and interrupts ------------------------------------------------------------

  /** A fault raised by an instruction: the return address is the faulting instruction. */
  exception(vector: number): void {
    this.eip = this.opEip;
    this.noTrap = true;
    this.deliver(vector, this.opEip, true);
  }

  /** #DE: the 8086 returns to the next instruction, later CPUs to the divide itself. */
  divideError(): void {
    if (this.model.divideErrorPushesNext) this.deliver(DE, this.eip, true);
    else this.exception(DE);
  }

  /** INT n / INT3 / INTO: a trap to the handler, no single-step trap on the INT itself. */
  softwareInterrupt(vector: number): void {
    this.noTrap = true;
    this.deliver(vector, this.eip, false, -1, true);
  }

  /**
   * Delivers through the IVT in real mode, the IDT in protected mode (`errorCode` < 0: none pushed;
   * `soft`: INT n, whose gate DPL is checked).
   */
  private deliver(vector: number, returnIp: number, isFault: boolean, errorCode = -1, soft = false): void {
    try {
      if ((this.cr0 & 1) !== 0) interruptProtected(this, vector, returnIp, errorCode, soft);
      else this.interruptReal(vector, returnIp);
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      // A fault while delivering a fault: double fault (error code 0) for the pairs of table 6-5 in
      // protected mode (any pair in real mode), then shutdown. Other pairs, and a fault while
      // delivering an interrupt, deliver the second fault (it reports the interrupted instruction).
      const second = this.fault.vector;
      if (vector === 8) this.enterShutdown();
      else if (isFault && ((this.cr0 & 1) === 0 || isDoubleFault(vector, second))) this.deliver(8, returnIp, true, 0);
      else if ((this.cr0 & 1) !== 0) this.deliver(this.fault.vector, soft ? this.opEip : returnIp, true, this.fault.errorCode);
      else this.enterShutdown();
    }
  }

  // --- decoded-instruction cache ------------------------------------------------------------

  override invalidateCodePage(page: number): void {
    this.codePages[page] = 0;
    this.pages.delete(page);
    if (page === this.curPage) this.curPage = -1;
    const head = this.crossPage.get(page);
    if (head !== undefined) {
      this.crossPage.delete(page);
      this.invalidateCodePage(head);
    }
  }

  override flushDecoded(): void {
    this.flushCodeCache();
  }

  /** Drops every decoded instruction (mode changes, reset). */
  flushCodeCache(): void {
    for (const page of this.pages.keys()) this.codePages[page] = 0;
    this.pages.clear();
    this.curPage = -1;
  }

  /** The op at CS:EIP, or null after a fault fetching it (#PF, delivered here). */
  private fetchOrFault(): Op | null {
    try {
      return this.fetch();
    } catch (e) {
      if (e !== this.fault) throw e;
      this.eip = this.opEip;
      this.deliver(this.fault.vector, this.opEip, true, this.fault.errorCode);
      return null;
    }
  }

  private fetch(): Op {
    const phys = this.phys((this.segBase[CS] + this.eip) | 0);
    const page = phys >>> PAGE_SHIFT;
    if (page !== this.curPage) {
      let ops = this.pages.get(page);
      if (ops === undefined) {
        ops = new Array<Op | undefined>(PAGE_SIZE);
        this.pages.set(page, ops);
        this.codePages[page] = 1;
        this.tracking?.markCode(page);
      }
      this.curPage = page;
      this.curOps = ops;
    }
    const cached = this.curOps[phys & (PAGE_SIZE - 1)];
    if (cached !== undefined) return cached;
    const op = this.decodeAt();
    if (op.cacheable !== 0) {
      this.curOps[phys & (PAGE_SIZE - 1)] = op;
      // An instruction that runs into the next page is dropped when either page is written.
      const last = this.phys((this.segBase[CS] + ((this.eip + op.len - 1) & this.ipMask)) | 0) >>> PAGE_SHIFT;
      if (last !== page) {
        this.codePages[last] = 1;
        this.tracking?.markCode(last);
        this.crossPage.set(last, page);
      }
    }
    return op;
  }

  /** Pages holding the tail of an instruction that starts on another page: tail page -> head page. */
  private readonly crossPage = new Map<number, number>();

  private decodeAt(): Op {
    const bytes = this.bytes;
    const base = this.segBase[CS];
    let wraps = 0;
    // Bytes past a page that does not translate are not fetched unless the instruction needs them.
    let avail = MAX_INSN;
    for (let i = 0; i < MAX_INSN; i++) {
      const off = (this.eip + i) & this.ipMask;
      if (off < this.eip) wraps = 1;
      const lin = (base + off) | 0;
      if (i > 0 && this.paging && this.mmu !== null && (lin & PAGE_OFFSET_MASK) === 0 && this.mmu.translateFetch(lin) < 0) {
        this.mmu.pageFault = false;
        avail = i;
        bytes.fill(0, i);
        break;
      }
      bytes[i] = this.physMem.read8(this.phys(lin));
    }
    const bitness = this.ipMask === 0xffff ? 16 : 32;
    const insn = this.insn;
    let op: Op;
    if (this.model.opcodeAliases8086) {
      op = this.decode8086(bytes, insn);
    } else {
      decode(bytes, 0, this.eip, bitness, insn);
      let spec = SPEC_BY_CODE[insn.code];
      if (insn.code === 0 || spec === undefined || (spec.minGen ?? 0) > this.model.generation || (!this.model.has32 && usesWidePrefix(insn))) {
        spec = insn.code === 0 && insn.error === DecodeError.TooLong ? TOO_LONG_SPEC : UD_SPEC;
      }
      op = buildOp(insn, spec);
      if (op.len === 0) op.len = 1;
    }
    if (op.len > avail) this.phys((base + ((this.eip + avail) & this.ipMask)) | 0); // raises #PF there
    op.cacheable = wraps ^ 1;
    return op;
  }

  /**
   * The 8086 decodes every byte: aliases are rewritten to the opcodes they alias before decoding,
   * 0F is POP CS, and what the decoder rejects (ESC forms without a coprocessor, undefined ModR/M
   * forms) executes as a no-op of the decoded length.
   */
  private decode8086(bytes: Uint8Array, insn: Instruction): Op {
    const p = rewrite8086(bytes);
    const locks = removedLocks;
    let op: Op;
    if (bytes[p] === 0x0f) {
      op = new Op(popSeg);
      op.ext = CS;
      op.len = p + 1;
    } else {
      decode(bytes, 0, this.eip, 16, insn);
      const spec = SPEC_BY_CODE[insn.code];
      if (insn.code === 0 || spec === undefined || usesWidePrefix(insn) || (spec.minGen ?? 0) > 0) {
        op = new Op(nop);
        op.len = length8086(bytes, p);
      } else {
        op = buildOp(insn, spec);
      }
    }
    op.len += locks;
    return op;
  }
}

/** Contributory exceptions (SDM vol. 3A, table 6-4): #DE, #TS, #NP, #SS, #GP. */
const CONTRIBUTORY = (1 << 0) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13);
const PF_VECTOR = 14;

/** Table 6-5: the second exception, raised while delivering the first, makes a #DF. */
function isDoubleFault(first: number, second: number): boolean {
  const secondContributory = second < 32 && ((CONTRIBUTORY >>> second) & 1) !== 0;
  if (first === PF_VECTOR) return secondContributory || second === PF_VECTOR;
  return first < 32 && ((CONTRIBUTORY >>> first) & 1) !== 0 && secondContributory;
}

/** 286 and older: operand/address-size prefixes and FS/GS do not exist. */
function usesWidePrefix(insn: Instruction): boolean {
  return (insn.prefixes & (Prefix.OperandSize | Prefix.AddressSize)) !== 0 || insn.segmentPrefix === Register.FS || insn.segmentPrefix === Register.GS;
}

const REG_CLASS_GPR8 = 1;
const REG_CLASS_SEGMENT = 5;
const BYTE_REG = [0, 4, 8, 12, 1, 5, 9, 13];

/** Turns the decoder's record into the interpreter's op, choosing the register or memory handler. */
export function buildOp(insn: Instruction, spec: ExecSpec): Op {
  let hasMem = false;
  for (let i = 0; i < insn.opCount; i++) if (insn.opKind[i] === OpKind.Memory) hasMem = true;
  const handler = (hasMem ? spec.mem : spec.reg) ?? spec.reg ?? spec.mem ?? UD_SPEC.reg!;
  const op = new Op(handler);
  op.code = insn.code;
  op.len = insn.length;
  op.msb = spec.msb ?? (insn.opSize === 8 ? 7 : insn.opSize === 32 ? 31 : 15);
  op.ext = spec.ext;
  op.amask = insn.addrSize === 32 ? -1 : 0xffff;
  op.rep = (insn.prefixes & Prefix.Rep) !== 0 ? 1 : (insn.prefixes & Prefix.Repne) !== 0 ? 2 : 0;
  op.seg = insn.memSegment !== 0 ? insn.memSegment & 31 : insn.segmentPrefix !== 0 ? insn.segmentPrefix & 31 : DS;
  if (hasMem) {
    op.base = insn.memBase !== 0 ? insn.memBase & 31 : 8;
    op.index = insn.memIndex !== 0 ? insn.memIndex & 31 : 8;
    op.scale = insn.memScale === 8 ? 3 : insn.memScale === 4 ? 2 : insn.memScale === 2 ? 1 : 0;
    op.disp = insn.memDisp | 0;
  }
  const layout = spec.layout;
  for (let i = 0; i < insn.opCount && i < layout.length; i++) {
    const role = layout.charCodeAt(i);
    const kind = insn.opKind[i];
    const reg = insn.opRegister[i];
    const regNum = (reg >> 5) === REG_CLASS_GPR8 ? BYTE_REG[reg & 7] : reg & 31;
    switch (role) {
      case 0x6d: // m
        if (kind === OpKind.Register) op.m = regNum;
        break;
      case 0x72: // r
        if (kind === OpKind.Register) op.r = regNum;
        break;
      case 0x73: // s
        if (kind === OpKind.Register && (reg >> 5) === REG_CLASS_SEGMENT) op.ext = reg & 31;
        break;
      case 0x69: // i
        op.imm = insn.imm | 0;
        break;
      case 0x6a: // j
        op.imm2 = insn.imm2;
        break;
      case 0x62: // b
        op.rel = (insn.targetLo - insn.nextIpLo) | 0;
        break;
      case 0x63: // c
        if (kind === OpKind.Register) op.ext = reg & 31;
        break;
      case 0x66: // f
        op.ext = insn.farSelector;
        op.imm = insn.farOffset | 0;
        break;
      default:
        break;
    }
  }
  if (spec.imm !== undefined) op.imm = spec.imm;
  if (spec.imm2 !== undefined) op.imm2 = spec.imm2;
  // ENTER: the decoder gives the second immediate in imm2, the first in imm.
  return op;
}
