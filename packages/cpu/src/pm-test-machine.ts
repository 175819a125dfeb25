import { PhysicalMemory } from '@tsvm/mmu';
import type { InterruptSource, IoPorts } from './bus.js';
import { Cpu } from './interpreter.js';

/*
 * A flat 32-bit protected-mode machine for unit tests, built through the state API (no entry code):
 *
 *   GDT at 1000h (limit 7FFh): 08h ring-0 code, 10h ring-0 data, 18h ring-3 code, 20h ring-3 data
 *   (all flat 4 GiB), 28h the current 32-bit TSS at 3000h (busy, SS0:ESP0 = 10h:B000h, I/O map
 *   base past its limit). Selectors from 30h up are free.
 *   IDT at 2000h (limit 7FFh): vector v is a DPL-0 interrupt gate to HANDLER + 10h * v, where an
 *   HLT waits; a test reads what the CPU pushed from the stack.
 *   Code at CODE (10000h), CPL 0, ESP = 9000h.
 */
export const GDT = 0x1000;
export const IDT = 0x2000;
export const TSS_MAIN = 0x3000;
export const HANDLER = 0x4000;
export const CODE = 0x10000;
export const SEL_CODE0 = 0x08;
export const SEL_DATA0 = 0x10;
export const SEL_CODE3 = 0x18;
export const SEL_DATA3 = 0x20;
export const SEL_TSS_MAIN = 0x28;
export const KSTACK = 0xb000;

/** Descriptor access bytes. */
export const ACC_CODE0 = 0x9b;
export const ACC_DATA0 = 0x93;
export const ACC_TSS32 = 0x89;
export const ACC_TSS16 = 0x81;
export const ACC_TASK_GATE = 0x85;
export const ACC_INT_GATE = 0x8e;
/** Flags nibble: 32-bit (D/B), 4 KiB granularity. */
export const FLG_32 = 0x4;
export const FLG_G = 0x8;

export interface PmMachine {
  cpu: Cpu;
  mem: PhysicalMemory;
  poke(addr: number, bytes: number[]): void;
  w16(addr: number, v: number): void;
  w32(addr: number, v: number): void;
  r8(addr: number): number;
  r16(addr: number): number;
  r32(addr: number): number;
  /** A segment or system descriptor in the GDT. */
  desc(sel: number, base: number, limit: number, access: number, flags: number): void;
  /** A gate at `index` of the table at `table` (GDT or IDT). */
  gate(table: number, index: number, sel: number, offset: number, access: number): void;
  /** The GDT's access byte of `sel`. */
  access(sel: number): number;
  /** Runs until HLT (or the budget) and says why it stopped. */
  run(budget?: number): string;
  /** The vector whose handler the CPU halted in (from EIP), or -1. */
  haltedVector(): number;
}

export interface PmOptions {
  io?: IoPorts;
  interrupts?: InterruptSource;
}

export function pmMachine(code: number[], options: PmOptions = {}): PmMachine {
  const mem = new PhysicalMemory({ ramSize: 4 << 20 });
  const cpu = new Cpu({ model: 'p6', memory: mem, ...(options.io ? { io: options.io } : {}), ...(options.interrupts ? { interrupts: options.interrupts } : {}) });
  const poke = (addr: number, bytes: number[]): void => bytes.forEach((b, i) => mem.write8(addr + i, b & 0xff));
  const w16 = (addr: number, v: number): void => poke(addr, [v, v >>> 8]);
  const w32 = (addr: number, v: number): void => poke(addr, [v, v >>> 8, v >>> 16, v >>> 24]);
  const desc = (sel: number, base: number, limit: number, access: number, flags: number): void => {
    const at = GDT + (sel & ~7);
    w32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
    w32(at + 4, (base & 0xff000000) | (flags << 20) | (limit & 0xf0000) | (access << 8) | ((base >>> 16) & 0xff));
  };
  const gate = (table: number, index: number, sel: number, offset: number, access: number): void => {
    const at = table + index * 8;
    w16(at, offset & 0xffff);
    w16(at + 2, sel);
    poke(at + 4, [0, access]);
    w16(at + 6, offset >>> 16);
  };
  desc(SEL_CODE0, 0, 0xfffff, ACC_CODE0, FLG_G | FLG_32);
  desc(SEL_DATA0, 0, 0xfffff, ACC_DATA0, FLG_G | FLG_32);
  desc(SEL_CODE3, 0, 0xfffff, 0xfb, FLG_G | FLG_32);
  desc(SEL_DATA3, 0, 0xfffff, 0xf3, FLG_G | FLG_32);
  desc(SEL_TSS_MAIN, TSS_MAIN, 0x67, ACC_TSS32 | 2, 0);
  w32(TSS_MAIN + 4, KSTACK);
  w32(TSS_MAIN + 8, SEL_DATA0);
  w16(TSS_MAIN + 0x66, 0x68);
  for (let v = 0; v < 256; v++) {
    gate(IDT, v, SEL_CODE0, HANDLER + v * 16, ACC_INT_GATE);
    mem.write8(HANDLER + v * 16, 0xf4);
  }
  poke(CODE, code);
  const flat = (sel: number, attributes: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attributes });
  cpu.setState({
    cr0: 0x11,
    gdtr: { base: GDT, limit: 0x7ff },
    idtr: { base: IDT, limit: 0x7ff },
    tr: SEL_TSS_MAIN,
    trCache: { base: TSS_MAIN, limit: 0x67, attributes: 0x8b },
    cs: flat(SEL_CODE0, 0xc09b),
    ss: flat(SEL_DATA0, 0xc093),
    ds: flat(SEL_DATA0, 0xc093),
    es: flat(SEL_DATA0, 0xc093),
    fs: flat(SEL_DATA0, 0xc093),
    gs: flat(SEL_DATA0, 0xc093),
    eip: CODE,
    esp: 0x9000,
    eflags: 2,
  });
  const m: PmMachine = {
    cpu,
    mem,
    poke,
    w16,
    w32,
    r8: (addr) => mem.read8(addr),
    r16: (addr) => mem.read16(addr),
    r32: (addr) => mem.read32(addr) >>> 0,
    desc,
    gate,
    access: (sel) => mem.read8(GDT + (sel & ~7) + 5),
    run: (budget = 1000) => cpu.run(budget),
    haltedVector: () => {
      const eip = cpu.getState().eip - 1; // after the HLT
      if (eip < HANDLER || eip >= HANDLER + 256 * 16 || (eip - HANDLER) % 16 !== 0) return -1;
      return (eip - HANDLER) / 16;
    },
  };
  return m;
}

/** Fills a 32-bit TSS for a ring-0 task on the flat segments (`patch` overrides fields by offset). */
export function tss32(m: PmMachine, base: number, eip: number, esp: number, patch: Record<number, number> = {}): void {
  for (let i = 0; i < 0x68; i += 4) m.w32(base + i, 0);
  m.w32(base + 0x04, KSTACK);
  m.w32(base + 0x08, SEL_DATA0);
  m.w32(base + 0x20, eip);
  m.w32(base + 0x24, 2);
  m.w32(base + 0x38, esp);
  for (const [seg, sel] of [[0x48, SEL_DATA0], [0x4c, SEL_CODE0], [0x50, SEL_DATA0], [0x54, SEL_DATA0], [0x58, SEL_DATA0], [0x5c, SEL_DATA0]]) m.w32(base + seg, sel);
  m.w16(base + 0x66, 0x68);
  for (const [off, v] of Object.entries(patch)) m.w32(base + Number(off), v);
}

/** Little-endian bytes of a 32-bit value. */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
/** JMP FAR sel:off (32-bit code). */
export function jmpFar(sel: number, off = 0): number[] {
  return [0xea, ...le32(off), sel & 0xff, sel >>> 8];
}
/** CALL FAR sel:off (32-bit code). */
export function callFar(sel: number, off = 0): number[] {
  return [0x9a, ...le32(off), sel & 0xff, sel >>> 8];
}
export const HLT = 0xf4;
export const IRETD = 0xcf;
