import { EAX, EBX, ECX, EDX, GP } from '../cpu.js';
import { CF, DF, IF, materializeFlags } from '../flags.js';
import { virtualCli, virtualSti } from '../vme.js';
import type { Cpu } from '../interpreter.js';
import type { Op } from '../op.js';
import { checkIoAccess } from '../io-permission.js';

export function nop(): void {
  // deliberately empty: NOP, WAIT without an FPU, the 8086's ESC without a coprocessor, hint NOPs
}

/** HLT: stop until an interrupt (the loop reports it). */
export function hlt(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(GP, 0);
  cpu.halted = true;
}

/** CLC, STC, CMC, CLD, STD, CLI, STI by `ext` 0-6. STI holds interrupts off for one more instruction. */
export function flagOp(cpu: Cpu, op: Op): void {
  materializeFlags(cpu);
  switch (op.ext) {
    case 0: cpu.flags &= ~CF; break;
    case 1: cpu.flags |= CF; break;
    case 2: cpu.flags ^= CF; break;
    case 3: cpu.flags &= ~DF; break;
    case 4: cpu.flags |= DF; break;
    case 5:
      // Above IOPL (v86 mode below IOPL 3 included): VIF under VME/PVI, else #GP(0).
      if (cpu.cpl > ((cpu.flags >>> 12) & 3)) virtualCli(cpu);
      else cpu.flags &= ~IF;
      break;
    default:
      if (cpu.cpl > ((cpu.flags >>> 12) & 3)) {
        virtualSti(cpu);
        break;
      }
      if ((cpu.flags & IF) === 0) cpu.shadow = true;
      cpu.flags |= IF;
      break;
  }
}

/** IN AL/AX/EAX, imm8 (`ext` 0) or DX (`ext` 1). */
export function inPort(cpu: Cpu, op: Op): void {
  const port = op.ext !== 0 ? cpu.r16[EDX << 1] : op.imm & 0xff;
  checkIoAccess(cpu, port, (op.msb + 1) >>> 3);
  if (op.msb === 7) cpu.r8[0] = cpu.io.in8(port);
  else if (op.msb === 15) cpu.r16[0] = cpu.io.in16(port);
  else cpu.regs[EAX] = cpu.io.in32(port);
}

/** OUT imm8/DX, AL/AX/EAX. */
export function outPort(cpu: Cpu, op: Op): void {
  const port = op.ext !== 0 ? cpu.r16[EDX << 1] : op.imm & 0xff;
  checkIoAccess(cpu, port, (op.msb + 1) >>> 3);
  if (op.msb === 7) cpu.io.out8(port, cpu.r8[0]);
  else if (op.msb === 15) cpu.io.out16(port, cpu.r16[0]);
  else cpu.io.out32(port, cpu.regs[EAX] >>> 0);
}

/** "GenuineIntel" as CPUID leaf 0 returns it in EBX, EDX, ECX. */
const VENDOR_EBX = 0x756e6547;
const VENDOR_EDX = 0x49656e69;
const VENDOR_ECX = 0x6c65746e;
/** CPUID.1:EDX.APIC: reported while a local APIC is attached and enabled in IA32_APIC_BASE. */
const FEATURE_APIC = 1 << 9;
const APIC_BASE_ENABLE = 1 << 11;

/**
 * CPUID (SDM vol. 2A): leaf 0 (highest leaf, vendor), leaf 1 (signature; EBX and ECX 0 as on the
 * P6; the model's features), leaf 2 (cache descriptors). A leaf above the highest, basic or extended
 * (these models have no extended range, as the Pentium II has none), answers as the highest basic
 * leaf does. Leaf 1 also loads the microcode revision into IA32_BIOS_SIGN_ID.
 */
export function cpuid(cpu: Cpu): void {
  const model = cpu.model;
  let leaf = cpu.regs[EAX] >>> 0;
  if (leaf > model.cpuidMaxLeaf) leaf = model.cpuidMaxLeaf;
  let a: number, b: number, c: number, d: number;
  if (leaf === 0) {
    a = model.cpuidMaxLeaf;
    b = VENDOR_EBX;
    d = VENDOR_EDX;
    c = VENDOR_ECX;
  } else if (leaf === 1) {
    a = model.cpuidSignature;
    b = 0;
    c = 0;
    d = model.cpuidFeatures;
    const apic = cpu.msr.apic;
    if (apic !== null && model.msrSet >= 6 && (apic.baseMsr & APIC_BASE_ENABLE) !== 0) d |= FEATURE_APIC;
    cpu.msr.loadMicrocodeSignature();
  } else {
    const l2 = model.cpuidLeaf2;
    a = l2[0];
    b = l2[1];
    c = l2[2];
    d = l2[3];
  }
  cpu.regs[EAX] = a;
  cpu.regs[EBX] = b;
  cpu.regs[ECX] = c;
  cpu.regs[EDX] = d;
}
