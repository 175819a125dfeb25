import { CS, DS, ES, FS, GS, REAL_MODE_ATTR, SS, type CpuCore } from './cpu.js';

/** Power-on EDX on the 386 and later: the component and revision identifier (family in bits 8-11). */
function resetEdx(cpu: CpuCore): number {
  const gen = cpu.model.generation;
  if (gen < 3) return 0;
  if (gen === 3) return 0x0303;
  return cpu.model.cpuidSignature;
}

/**
 * The state after RESET (Intel SDM vol. 3A, 9.1.1, table 9-1; 8086 User's Manual, "System Reset").
 * 8086: CS=FFFF, IP=0. 286: CS=F000 with base FF0000, IP=FFF0. 386 and later: CS=F000 with base
 * FFFF0000, EIP=FFF0, EDX holds the signature, CR0 = 60000010 (486+; the 386 reports ET).
 */
export function resetCpu(cpu: CpuCore): void {
  const gen = cpu.model.generation;
  cpu.regs.fill(0);
  cpu.regs[2] = resetEdx(cpu);
  for (const seg of [ES, CS, SS, DS, FS, GS]) {
    cpu.segSel[seg] = 0;
    cpu.segBase[seg] = 0;
    cpu.segLimit[seg] = 0xffff;
    cpu.segAttr[seg] = REAL_MODE_ATTR;
  }
  if (gen === 0) {
    cpu.segSel[CS] = 0xffff;
    cpu.segBase[CS] = 0xffff0;
    cpu.eip = 0;
  } else {
    cpu.segSel[CS] = 0xf000;
    cpu.segBase[CS] = gen === 2 ? 0xff0000 : 0xffff0000 | 0;
    cpu.eip = 0xfff0;
  }
  cpu.ipMask = 0xffff;
  cpu.stack32 = false;
  cpu.flags = cpu.model.flagsFixedOne;
  cpu.lazy = 0;
  cpu.cr0 = gen >= 4 ? 0x60000010 : gen === 3 ? 0x10 : gen === 2 ? 0xfff0 : 0;
  cpu.cr2 = 0;
  cpu.cr3 = 0;
  cpu.cr4 = 0;
  cpu.dr.fill(0);
  cpu.dr[6] = gen >= 3 ? 0xffff0ff0 | 0 : 0;
  cpu.dr[7] = gen >= 3 ? 0x400 : 0;
  cpu.gdtrBase = 0;
  cpu.gdtrLimit = 0xffff;
  cpu.idtrBase = 0;
  cpu.idtrLimit = 0x3ff;
  cpu.ldtr = 0;
  cpu.ldtrBase = 0;
  cpu.ldtrLimit = 0xffff;
  cpu.tr = 0;
  cpu.trBase = 0;
  cpu.trLimit = 0xffff;
  cpu.trAttr = 0x8b;
  cpu.a20Mask = gen === 0 ? 0xfffff : gen === 2 ? 0xffffff : -1;
  cpu.halted = false;
  cpu.shadow = false;
  cpu.shutdown = false;
  cpu.instructions = 0;
  cpu.msr.reset();
  cpu.fpu.present = gen >= 3;
  cpu.fpu.reset();
}
