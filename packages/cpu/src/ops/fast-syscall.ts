import { CS, ECX, EDX, ESP, GP, SS } from '../cpu.js';
import { IF, RF, VM } from '../flags.js';
import type { Cpu } from '../interpreter.js';
import { MSR_SYSENTER_CS, MSR_SYSENTER_EIP, MSR_SYSENTER_ESP } from '../msr.js';

/**
 * The flat segments SYSENTER and SYSEXIT load without reading the GDT (SDM vol. 2B, SYSENTER and
 * SYSEXIT): base 0, limit 4 GiB (FFFFFh pages), 32-bit, present, accessed. Attributes as the hidden
 * cache holds them: descriptor byte 5 in bits 7:0, G and D/B in bits 15 and 14.
 */
const FLAT_LIMIT = 0xffffffff;
const ATTR_G_DB = 0xc000;
const CODE_DPL0 = ATTR_G_DB | 0x9b; // present, DPL 0, execute/read, accessed
const STACK_DPL0 = ATTR_G_DB | 0x93; // present, DPL 0, read/write, accessed
const CODE_DPL3 = ATTR_G_DB | 0xfb;
const STACK_DPL3 = ATTR_G_DB | 0xf3;
const SEL_RPL = 3;

function loadFlat(cpu: Cpu, seg: number, selector: number, attributes: number): void {
  cpu.segSel[seg] = selector & 0xffff;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = FLAT_LIMIT;
  cpu.segAttr[seg] = attributes;
}

/** IA32_SYSENTER_CS's selector, or #GP(0) in real mode or when its bits 15:2 are 0. */
function sysenterCs(cpu: Cpu): number {
  if ((cpu.cr0 & 1) === 0 || !cpu.msr.read(MSR_SYSENTER_CS)) cpu.raise(GP, 0);
  const cs = cpu.msr.lo & 0xffff;
  if ((cs & ~SEL_RPL) === 0) cpu.raise(GP, 0);
  return cs;
}

/**
 * SYSENTER: to CPL 0 at IA32_SYSENTER_EIP with ESP = IA32_SYSENTER_ESP, CS = SYSENTER_CS (RPL
 * cleared) and SS = CS + 8 as flat 32-bit segments; VM, IF and RF cleared. Nothing is pushed.
 */
export function sysenter(cpu: Cpu): void {
  const cs = sysenterCs(cpu) & ~SEL_RPL;
  const msr = cpu.msr;
  msr.read(MSR_SYSENTER_ESP);
  const esp = msr.lo;
  msr.read(MSR_SYSENTER_EIP);
  const eip = msr.lo;
  cpu.flags &= ~(VM | IF | RF);
  loadFlat(cpu, CS, cs, CODE_DPL0);
  loadFlat(cpu, SS, cs + 8, STACK_DPL0);
  cpu.stack32 = true;
  cpu.setCpl(0);
  cpu.setCodeSize(-1);
  cpu.regs[ESP] = esp;
  cpu.eip = eip;
}

/**
 * SYSEXIT: to CPL 3 at EDX with ESP = ECX, CS = SYSENTER_CS + 16 and SS = SYSENTER_CS + 24 (RPL 3)
 * as flat 32-bit segments. #GP(0) in real mode, above CPL 0 (virtual-8086 mode included) or when
 * SYSENTER_CS bits 15:2 are 0.
 */
export function sysexit(cpu: Cpu): void {
  const cs = sysenterCs(cpu);
  if (cpu.cpl !== 0 || (cpu.flags & VM) !== 0) cpu.raise(GP, 0);
  loadFlat(cpu, CS, (cs + 16) | SEL_RPL, CODE_DPL3);
  loadFlat(cpu, SS, (cs + 24) | SEL_RPL, STACK_DPL3);
  cpu.stack32 = true;
  cpu.setCpl(3);
  cpu.setCodeSize(-1);
  cpu.regs[ESP] = cpu.regs[ECX];
  cpu.eip = cpu.regs[EDX];
}
