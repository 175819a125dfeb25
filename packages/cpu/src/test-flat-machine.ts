import { PhysicalMemory } from '@tsvm/mmu';
import type { CpuOptions } from './cpu.js';
import { Cpu } from './interpreter.js';
import type { CpuModelName } from './models.js';

/**
 * A CPU already in 32-bit protected mode with flat segments, for tests of system instructions:
 * code at FLAT_CODE, a GDT (flat code and data at DPL 0 and 3, a 32-bit TSS), and an IDT whose
 * gate for vector v points at a HLT at HANDLERS + 16 * v, so a fault shows as the CPU halted there.
 */
export const FLAT_CODE = 0x10000;
const IDT = 0x20000;
const HANDLERS = 0x30000;
const TSS = 0x40000;
const GDT = 0x50000;
export const SEL_CODE0 = 0x08;
export const SEL_DATA0 = 0x10;
export const SEL_CODE3 = 0x1b;
export const SEL_DATA3 = 0x23;
const SEL_TSS = 0x28;
/** Hidden-cache attributes of flat 4 GiB segments (byte 5, G and D/B). */
const CODE0 = 0xc09b;
const DATA0 = 0xc093;
const CODE3 = 0xc0fb;
const DATA3 = 0xc0f3;
export const RING0_STACK = 0x80000;
export const RING3_STACK = 0x70000;

export interface FlatMachine {
  cpu: Cpu;
  mem: PhysicalMemory;
  poke(addr: number, bytes: number[]): void;
  /** The vector whose handler the CPU halted in, or -1. */
  faultVector(): number;
  /** The error code the last fault pushed (the dword at ESP in the handler). */
  errorCode(): number;
}

export function flatMachine(model: CpuModelName, code: number[], cpl: 0 | 3 = 0, options: Partial<CpuOptions> = {}): FlatMachine {
  const mem = new PhysicalMemory({ ramSize: 2 << 20 });
  const cpu = new Cpu({ ...options, model, memory: mem });
  const poke = (addr: number, bytes: number[]): void => bytes.forEach((b, i) => mem.write8(addr + i, b));
  poke(FLAT_CODE, code);
  poke(GDT, [
    ...[0, 0, 0, 0, 0, 0, 0, 0],
    ...[0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0],
    ...[0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0],
    ...[0xff, 0xff, 0, 0, 0, 0xfb, 0xcf, 0],
    ...[0xff, 0xff, 0, 0, 0, 0xf3, 0xcf, 0],
    ...[0x67, 0, TSS & 0xff, (TSS >>> 8) & 0xff, TSS >>> 16, 0x8b, 0, 0],
  ]);
  mem.write32(TSS + 4, RING0_STACK);
  mem.write32(TSS + 8, SEL_DATA0);
  for (let v = 0; v < 256; v++) {
    const handler = HANDLERS + 16 * v;
    mem.write8(handler, 0xf4); // hlt
    poke(IDT + 8 * v, [handler & 0xff, (handler >>> 8) & 0xff, SEL_CODE0, 0, 0, 0x8e, handler >>> 16, 0]);
  }
  const user = cpl === 3;
  const seg = (selector: number, attributes: number) => ({ selector, base: 0, limit: 0xffffffff, attributes });
  const data = user ? seg(SEL_DATA3, DATA3) : seg(SEL_DATA0, DATA0);
  cpu.setState({
    cr0: 0x11,
    cs: user ? seg(SEL_CODE3, CODE3) : seg(SEL_CODE0, CODE0),
    ss: data,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    eip: FLAT_CODE,
    esp: user ? RING3_STACK : RING0_STACK,
    eflags: 0x2,
    gdtr: { base: GDT, limit: 0x2f },
    idtr: { base: IDT, limit: 0x7ff },
    tr: SEL_TSS,
    trCache: { base: TSS, limit: 0x67, attributes: 0x8b },
  });
  return {
    cpu,
    mem,
    poke,
    faultVector: () => {
      const off = cpu.eip - 1 - HANDLERS;
      return cpu.halted && off >= 0 && off < 16 * 256 && off % 16 === 0 ? off / 16 : -1;
    },
    errorCode: () => mem.read32(cpu.getState().esp) >>> 0,
  };
}
