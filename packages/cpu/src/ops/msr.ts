import { EAX, ECX, EDX, GP } from '../cpu.js';
import type { Cpu } from '../interpreter.js';
import { CR4_PCE, CR4_TSD } from '../models.js';

/** RDTSC: EDX:EAX = the time-stamp counter; #GP(0) above CPL 0 with CR4.TSD (SDM vol. 2B, RDTSC). */
export function rdtsc(cpu: Cpu): void {
  if ((cpu.cr4 & CR4_TSD) !== 0 && cpu.cpl !== 0) cpu.raise(GP, 0);
  const msr = cpu.msr;
  msr.readTsc();
  cpu.regs[EAX] = msr.lo;
  cpu.regs[EDX] = msr.hi;
}

/** RDMSR: EDX:EAX = MSR[ECX]; #GP(0) above CPL 0 or for an MSR the model does not have. */
export function rdmsr(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(GP, 0);
  const msr = cpu.msr;
  if (!msr.read(cpu.regs[ECX] >>> 0)) cpu.raise(GP, 0);
  cpu.regs[EAX] = msr.lo;
  cpu.regs[EDX] = msr.hi;
}

/** WRMSR: MSR[ECX] = EDX:EAX; #GP(0) above CPL 0, for an unknown or read-only MSR, or reserved bits. */
export function wrmsr(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(GP, 0);
  if (!cpu.msr.write(cpu.regs[ECX] >>> 0, cpu.regs[EAX], cpu.regs[EDX])) cpu.raise(GP, 0);
}

/**
 * RDPMC: EDX:EAX = performance counter ECX (0 or 1 on the P6; they count nothing). #GP(0) above CPL 0
 * without CR4.PCE, and for another counter number (SDM vol. 2B, RDPMC).
 */
export function rdpmc(cpu: Cpu): void {
  if ((cpu.cr4 & CR4_PCE) === 0 && cpu.cpl !== 0) cpu.raise(GP, 0);
  const msr = cpu.msr;
  if (!msr.readCounter(cpu.regs[ECX])) cpu.raise(GP, 0);
  cpu.regs[EAX] = msr.lo;
  cpu.regs[EDX] = msr.hi;
}
