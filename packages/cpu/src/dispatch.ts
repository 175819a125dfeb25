import { CS, DS, ES, FS, GS, SS } from './cpu.js';
import type { Handler } from './op.js';
import { FPU_SPECS } from './dispatch-fpu.js';
import * as arith from './ops/arith.js';
import * as bcd from './ops/bcd.js';
import * as bit from './ops/bit.js';
import * as control from './ops/control.js';
import * as data from './ops/data.js';
import * as descQuery from './ops/descriptor-query.js';
import * as exchange from './ops/exchange.js';
import * as fastSyscall from './ops/fast-syscall.js';
import * as msr from './ops/msr.js';
import * as muldiv from './ops/muldiv.js';
import * as shift from './ops/shift.js';
import * as stack from './ops/stack.js';
import * as str from './ops/string.js';
import * as system from './ops/system.js';
import * as systemPm from './ops/system-pm.js';
import * as sysregs from './ops/sysregs.js';

/**
 * How one decoder `Code` executes: the handler for its register form and for its memory form, the
 * operation selector (`ext`) the family handler reads, and where each decoded operand goes.
 *
 * Layout letters, one per decoded operand in order: `m` r/m (register number or memory operand),
 * `r` register, `s` segment register (into `ext`), `i` immediate, `j` second immediate (into `imm2`),
 * `b` near branch (into `rel`), `f` far pointer (selector into `ext`, offset into `imm`), `c` control or
 * debug register number (into `ext`), `x` ignored.
 */
export interface ExecSpec {
  reg: Handler | null;
  mem: Handler | null;
  ext: number;
  layout: string;
  /** Fixed values that override the decoded ones. */
  imm?: number;
  imm2?: number;
  /** Operand size (sign-bit index) when the decoder reports none. */
  msb?: number;
  /** The instruction needs this model generation (3 = 386, 4 = 486, 5 = Pentium, 6 = P6). */
  minGen?: number;
}

export const EXEC_SPECS = new Map<string, ExecSpec>();

function def(names: string | string[], reg: Handler | null, mem: Handler | null, layout: string, ext = 0, extra: Partial<ExecSpec> = {}): void {
  for (const name of Array.isArray(names) ? names : [names]) EXEC_SPECS.set(name, { reg, mem, ext, layout, ...extra });
}

const W = ['16', '32'] as const;
const BWD = ['8', '16', '32'] as const;

// --- ALU rows 00-3F, 80-83, 84/85, A8/A9, F6/F7 /0 /1 --------------------------------------------
const ALU = ['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp'];
ALU.forEach((name, kind) => {
  for (const s of BWD) {
    def(`${name}_rm${s}_r${s}`, arith.aluRmRegR, arith.aluRmRegM, 'mr', kind);
    def(`${name}_r${s}_rm${s}`, arith.aluRegRmR, arith.aluRegRmM, 'rm', kind);
  }
  def([`${name}_AL_imm8`, `${name}_AX_imm16`, `${name}_EAX_imm32`], arith.aluRmImmR, null, 'mi', kind);
  def([`${name}_rm8_imm8`, `${name}_rm8_imm8_82`, `${name}_rm16_imm16`, `${name}_rm32_imm32`, `${name}_rm16_imm8`, `${name}_rm32_imm8`], arith.aluRmImmR, arith.aluRmImmM, 'mi', kind);
});
for (const s of BWD) def(`Test_rm${s}_r${s}`, arith.aluRmRegR, arith.aluRmRegM, 'mr', arith.ALU_TEST);
def(['Test_AL_imm8', 'Test_AX_imm16', 'Test_EAX_imm32'], arith.aluRmImmR, null, 'mi', arith.ALU_TEST);
def(['Test_rm8_imm8', 'Test_rm8_imm8_F6r1', 'Test_rm16_imm16', 'Test_rm32_imm32', 'Test_rm16_imm16_F7r1', 'Test_rm32_imm32_F7r1'], arith.aluRmImmR, arith.aluRmImmM, 'mi', arith.ALU_TEST);

for (const s of BWD) {
  def(`Inc_rm${s}`, arith.incDecR, arith.incDecM, 'm', 0);
  def(`Dec_rm${s}`, arith.incDecR, arith.incDecM, 'm', 1);
  def(`Neg_rm${s}`, arith.negR, arith.negM, 'm');
  def(`Not_rm${s}`, arith.notR, arith.notM, 'm');
  def(`Mul_rm${s}`, muldiv.mulR, muldiv.mulM, 'm', 0);
  def(`Imul_rm${s}`, muldiv.mulR, muldiv.mulM, 'm', 1);
  def(`Div_rm${s}`, muldiv.divR, muldiv.divM, 'm', 0);
  def(`Idiv_rm${s}`, muldiv.divR, muldiv.divM, 'm', 1);
}
for (const s of W) {
  def(`Inc_r${s}`, arith.incDecR, null, 'm', 0);
  def(`Dec_r${s}`, arith.incDecR, null, 'm', 1);
  def(`Imul_r${s}_rm${s}`, muldiv.imulR, muldiv.imulM, 'rm', 0);
  def([`Imul_r${s}_rm${s}_imm8`, `Imul_r${s}_rm${s}_imm${s}`], muldiv.imulR, muldiv.imulM, 'rmi', 1);
}

// --- shifts and rotates -------------------------------------------------------------------------
['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sal', 'Sar'].forEach((name, kind) => {
  for (const s of BWD) {
    def(`${name}_rm${s}_imm8`, shift.shiftImmR, shift.shiftImmM, 'mi', kind);
    def(`${name}_rm${s}_1`, shift.shiftImmR, shift.shiftImmM, 'mx', kind, { imm: 1 });
    def(`${name}_rm${s}_CL`, shift.shiftClR, shift.shiftClM, 'mx', kind);
  }
});
for (const s of W) {
  def(`Shld_rm${s}_r${s}_imm8`, shift.shldR, shift.shldM, 'mri', 0, { minGen: 3 });
  def(`Shrd_rm${s}_r${s}_imm8`, shift.shldR, shift.shldM, 'mri', 1, { minGen: 3 });
  def(`Shld_rm${s}_r${s}_CL`, shift.shldR, shift.shldM, 'mrx', 2, { minGen: 3 });
  def(`Shrd_rm${s}_r${s}_CL`, shift.shldR, shift.shldM, 'mrx', 3, { minGen: 3 });
}

// --- BCD ------------------------------------------------------------------------------------------
def('Daa', bcd.daa, null, '');
def('Das', bcd.das, null, '');
def('Aaa', bcd.aaaAas, null, '', 0);
def('Aas', bcd.aaaAas, null, '', 1);
def('Aam_imm8', bcd.aam, null, 'i');
def('Aad_imm8', bcd.aad, null, 'i');

// --- data movement ------------------------------------------------------------------------------
for (const s of BWD) {
  def(`Mov_rm${s}_r${s}`, data.movRmRegR, data.movRmRegM, 'mr');
  def(`Mov_r${s}_rm${s}`, data.movRegRmR, data.movRegRmM, 'rm');
  def([`Mov_rm${s}_imm${s}`, `Mov_r${s}_imm${s}`], data.movRmImmR, data.movRmImmM, 'mi');
  def(`Xchg_rm${s}_r${s}`, data.xchgR, data.xchgM, 'mr');
}
def(['Mov_AL_moffs8', 'Mov_AX_moffs16', 'Mov_EAX_moffs32'], null, data.movRegRmM, 'rm');
def(['Mov_moffs8_AL', 'Mov_moffs16_AX', 'Mov_moffs32_EAX'], null, data.movRmRegM, 'mr');
def(['Xchg_r16_AX', 'Xchg_r32_EAX'], data.xchgR, null, 'mr');
def(['Mov_rm16_Sreg', 'Mov_r32m16_Sreg'], data.movRmSregR, data.movRmSregM, 'ms');
def(['Mov_Sreg_rm16', 'Mov_Sreg_r32m16'], data.movSregRmR, data.movSregRmM, 'sm');
def(['Lea_r16_m', 'Lea_r32_m'], null, data.lea, 'rm');
def('Xlat_m8', null, data.xlat, 'x');
const FAR_LOADS: [string, number, number][] = [['Les', ES, 0], ['Lds', DS, 0], ['Lss', SS, 3], ['Lfs', FS, 3], ['Lgs', GS, 3]];
for (const [name, seg, gen] of FAR_LOADS) {
  def([`${name}_r16_m1616`, `${name}_r32_m1632`], null, data.loadFarPointer, 'rm', seg, { minGen: gen });
}
def(['Movzx_r16_rm8', 'Movzx_r32_rm8'], data.movxR, data.movxM, 'rm', 0, { imm2: 7, minGen: 3 });
def(['Movzx_r16_rm16', 'Movzx_r32_rm16'], data.movxR, data.movxM, 'rm', 0, { imm2: 15, minGen: 3 });
def(['Movsx_r16_rm8', 'Movsx_r32_rm8'], data.movxR, data.movxM, 'rm', 1, { imm2: 7, minGen: 3 });
def(['Movsx_r16_rm16', 'Movsx_r32_rm16'], data.movxR, data.movxM, 'rm', 1, { imm2: 15, minGen: 3 });
def(['Cbw', 'Cwde'], data.cbw, null, '');
def(['Cwd', 'Cdq'], data.cwd, null, '');
def('Lahf', data.lahf, null, '');
def('Sahf', data.sahf, null, '');
def('Salc', data.salc, null, '');
def('Bswap_r32', data.bswap, null, 'm', 0, { minGen: 4 });
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
CC.forEach((cc, n) => {
  for (const s of W) def(`Cmov${cc}_r${s}_rm${s}`, data.cmovR, data.cmovM, 'rm', n, { minGen: 6 });
  def(`Set${cc}_rm8`, data.setccR, data.setccM, 'm', n, { minGen: 3 });
  def([`J${cc}_rel8_16`, `J${cc}_rel8_32`, `J${cc}_rel16`, `J${cc}_rel32_32`], control.jcc, null, 'b', n);
});

// --- stack ----------------------------------------------------------------------------------------
for (const s of W) {
  def(`Push_r${s}`, stack.pushReg, null, 'm');
  def(`Pop_r${s}`, stack.popReg, null, 'm');
  def(`Push_rm${s}`, stack.pushReg, stack.pushMem, 'm');
  def(`Pop_rm${s}`, stack.popReg, stack.popMem, 'm');
}
def(['Push_imm16', 'Pushd_imm32', 'Pushw_imm8', 'Pushd_imm8'], stack.pushImm, null, 'i', 0, { minGen: 2 });
const SEGS: [string, number][] = [['ES', ES], ['CS', CS], ['SS', SS], ['DS', DS], ['FS', FS], ['GS', GS]];
for (const [name, seg] of SEGS) {
  def([`Pushw_${name}`, `Pushd_${name}`], stack.pushSeg, null, 'x', seg, { minGen: seg >= FS ? 3 : 0 });
  def([`Popw_${name}`, `Popd_${name}`], stack.popSeg, null, 'x', seg, { minGen: seg >= FS ? 3 : 0 });
}
def(['Pushaw', 'Pushad'], stack.pusha, null, '', 0, { minGen: 2 });
def(['Popaw', 'Popad'], stack.popa, null, '', 0, { minGen: 2 });
def(['Pushfw', 'Pushfd'], stack.pushf, null, '');
def(['Popfw', 'Popfd'], stack.popf, null, '');
def(['Enterw_imm16_imm8', 'Enterd_imm16_imm8'], stack.enter, null, 'ij', 0, { minGen: 2 });
def(['Leavew', 'Leaved'], stack.leave, null, '', 0, { minGen: 2 });

// --- control transfer -----------------------------------------------------------------------------
def(['Jmp_rel8_16', 'Jmp_rel8_32', 'Jmp_rel16', 'Jmp_rel32_32'], control.jmpRel, null, 'b');
def(['Call_rel16', 'Call_rel32_32'], control.callRel, null, 'b');
def(['Jmp_rm16', 'Jmp_rm32'], control.jmpNearR, control.jmpNearM, 'm');
def(['Call_rm16', 'Call_rm32'], control.callNearR, control.callNearM, 'm');
def(['Jmp_ptr1616', 'Jmp_ptr1632'], control.jmpFarImm, null, 'f');
def(['Call_ptr1616', 'Call_ptr1632'], control.callFarImm, null, 'f');
def(['Jmp_m1616', 'Jmp_m1632'], null, control.jmpFarM, 'm');
def(['Call_m1616', 'Call_m1632'], null, control.callFarM, 'm');
def(['Retnw', 'Retnd'], control.retNear, null, '');
def(['Retnw_imm16', 'Retnd_imm16'], control.retNear, null, 'i');
def(['Retfw', 'Retfd'], control.retFar, null, '');
def(['Retfw_imm16', 'Retfd_imm16'], control.retFar, null, 'i');
def(['Iretw', 'Iretd'], control.iret, null, '');
def(['Jcxz_rel8_16', 'Jcxz_rel8_32', 'Jecxz_rel8_16', 'Jecxz_rel8_32'], control.jcxz, null, 'b');
const LOOPS: [string, number][] = [['Loop', 0], ['Loope', 1], ['Loopne', 2]];
for (const [name, kind] of LOOPS) {
  def([`${name}_rel8_16_CX`, `${name}_rel8_32_CX`, `${name}_rel8_16_ECX`, `${name}_rel8_32_ECX`], control.loop, null, 'bx', kind);
}
def('Int_imm8', control.intN, null, 'i');
def('Int3', control.intN, null, '', 0, { imm: 3 });
def('Int1', control.intN, null, '', 0, { imm: 1 });
def('Into', control.into, null, '');
def(['Bound_r16_m1616', 'Bound_r32_m3232'], null, control.bound, 'rm', 0, { minGen: 2 });

// --- strings --------------------------------------------------------------------------------------
def('Movsb_m8_m8', str.movs, str.movs, 'xx', 0, { msb: 7 });
def(['Movsw_m16_m16', 'Movsd_m32_m32'], str.movs, str.movs, 'xx');
def('Cmpsb_m8_m8', str.cmps, str.cmps, 'xx', 0, { msb: 7 });
def(['Cmpsw_m16_m16', 'Cmpsd_m32_m32'], str.cmps, str.cmps, 'xx');
def(['Stosb_m8_AL', 'Stosw_m16_AX', 'Stosd_m32_EAX'], str.stos, str.stos, 'xx');
def(['Lodsb_AL_m8', 'Lodsw_AX_m16', 'Lodsd_EAX_m32'], str.lods, str.lods, 'xx');
def(['Scasb_AL_m8', 'Scasw_AX_m16', 'Scasd_EAX_m32'], str.scas, str.scas, 'xx');
def('Insb_m8_DX', str.ins, str.ins, 'xx', 0, { minGen: 2, msb: 7 });
def(['Insw_m16_DX', 'Insd_m32_DX'], str.ins, str.ins, 'xx', 0, { minGen: 2 });
def('Outsb_DX_m8', str.outs, str.outs, 'xx', 0, { minGen: 2, msb: 7 });
def(['Outsw_DX_m16', 'Outsd_DX_m32'], str.outs, str.outs, 'xx', 0, { minGen: 2 });

// --- bit operations (386) ---------------------------------------------------------------------------
const BT: [string, number][] = [['Bt', 0], ['Bts', 1], ['Btr', 2], ['Btc', 3]];
for (const [name, kind] of BT) {
  for (const s of W) {
    def(`${name}_rm${s}_r${s}`, bit.btR, bit.btM, 'mr', kind, { minGen: 3 });
    def(`${name}_rm${s}_imm8`, bit.btR, bit.btM, 'mi', kind, { imm2: 1, minGen: 3 });
  }
}
for (const s of W) {
  def(`Bsf_r${s}_rm${s}`, bit.bsfR, bit.bsfM, 'rm', 0, { minGen: 3 });
  def(`Bsr_r${s}_rm${s}`, bit.bsfR, bit.bsfM, 'rm', 1, { minGen: 3 });
  // F3 0F BC/BD (TZCNT/LZCNT on BMI1/LZCNT parts): a CPU without them ignores the F3 prefix and runs
  // BSF/BSR. Compilers emit `rep bsf` for exactly this reason (Linux's __ffs, _find_first_bit).
  def(`Tzcnt_r${s}_rm${s}`, bit.bsfR, bit.bsfM, 'rm', 0, { minGen: 3 });
  def(`Lzcnt_r${s}_rm${s}`, bit.bsfR, bit.bsfM, 'rm', 1, { minGen: 3 });
  def(`Xadd_rm${s}_r${s}`, exchange.xaddR, exchange.xaddM, 'mr', 0, { minGen: 4 });
  def(`Cmpxchg_rm${s}_r${s}`, exchange.cmpxchgR, exchange.cmpxchgM, 'mr', 0, { minGen: 4 });
}
def('Xadd_rm8_r8', exchange.xaddR, exchange.xaddM, 'mr', 0, { minGen: 4 });
def('Cmpxchg_rm8_r8', exchange.cmpxchgR, exchange.cmpxchgM, 'mr', 0, { minGen: 4 });
def('Cmpxchg8b_m64', null, exchange.cmpxchg8b, 'm', 0, { minGen: 5 });

// --- system and I/O ---------------------------------------------------------------------------------
def(['Nopw', 'Nopd', 'Pause', 'Wait'], system.nop, null, '');
def(['Nop_rm16', 'Nop_rm32'], system.nop, system.nop, 'm', 0, { minGen: 6 });
def('Hlt', system.hlt, null, '');
['Clc', 'Stc', 'Cmc', 'Cld', 'Std', 'Cli', 'Sti'].forEach((name, kind) => def(name, system.flagOp, null, '', kind));
def('In_AL_imm8', system.inPort, null, 'xi', 0, { msb: 7 });
def('In_AL_DX', system.inPort, null, 'xx', 1, { msb: 7 });
def('Out_imm8_AL', system.outPort, null, 'ix', 0, { msb: 7 });
def('Out_DX_AL', system.outPort, null, 'xx', 1, { msb: 7 });
def(['In_AX_imm8', 'In_EAX_imm8'], system.inPort, null, 'xi', 0);
def(['In_AX_DX', 'In_EAX_DX'], system.inPort, null, 'xx', 1);
def(['Out_imm8_AX', 'Out_imm8_EAX'], system.outPort, null, 'ix', 0);
def(['Out_DX_AX', 'Out_DX_EAX'], system.outPort, null, 'xx', 1);
def('Cpuid', system.cpuid, null, '', 0, { minGen: 4 });
def(['Invd', 'Wbinvd'], sysregs.invalidateCaches, null, '', 0, { minGen: 4 });
def('Ud2', sysregs.ud2, null, '', 0, { minGen: 2 });
def('Rdtsc', msr.rdtsc, null, '', 0, { minGen: 5 });
def('Rdmsr', msr.rdmsr, null, '', 0, { minGen: 5 });
def('Wrmsr', msr.wrmsr, null, '', 0, { minGen: 5 });
def('Rdpmc', msr.rdpmc, null, '', 0, { minGen: 6 });
def('Sysenter', fastSyscall.sysenter, null, '', 0, { minGen: 6 });
def('Sysexitd', fastSyscall.sysexit, null, '', 0, { minGen: 6 });
def('Invlpg_m', null, systemPm.invlpg, 'm', 0, { minGen: 4 });
def(['Lldt_rm16', 'Lldt_r32m16'], systemPm.lldtR, systemPm.lldtM, 'm', 0, { minGen: 2 });
def(['Ltr_rm16', 'Ltr_r32m16'], systemPm.ltrR, systemPm.ltrM, 'm', 0, { minGen: 2 });
def(['Sldt_rm16', 'Sldt_r32m16'], systemPm.storeSysSelR, systemPm.storeSysSelM, 'm', 0, { minGen: 2 });
def(['Lar_r16_rm16', 'Lar_r32_r32m16'], descQuery.larR, descQuery.larM, 'rm', 0, { minGen: 2 });
def(['Lsl_r16_rm16', 'Lsl_r32_r32m16'], descQuery.lslR, descQuery.lslM, 'rm', 0, { minGen: 2 });
def(['Verr_rm16', 'Verr_r32m16'], descQuery.verR, descQuery.verM, 'm', 0, { minGen: 2 });
def(['Verw_rm16', 'Verw_r32m16'], descQuery.verR, descQuery.verM, 'm', 1, { minGen: 2 });
def(['Arpl_rm16_r16', 'Arpl_r32m16_r32'], descQuery.arplR, descQuery.arplM, 'mr', 0, { minGen: 2 });
def(['Str_rm16', 'Str_r32m16'], systemPm.storeSysSelR, systemPm.storeSysSelM, 'm', 1, { minGen: 2 });

// --- system registers (what real mode can use; protected mode is not modelled yet) ----------------
def(['Lgdt_m1632_16', 'Lgdt_m1632'], null, sysregs.lgdt, 'm', 0, { minGen: 2 });
def(['Lidt_m1632_16', 'Lidt_m1632'], null, sysregs.lgdt, 'm', 1, { minGen: 2 });
def(['Sgdt_m1632_16', 'Sgdt_m1632'], null, sysregs.sgdt, 'm', 0, { minGen: 2 });
def(['Sidt_m1632_16', 'Sidt_m1632'], null, sysregs.sgdt, 'm', 1, { minGen: 2 });
def(['Smsw_rm16', 'Smsw_r32m16'], sysregs.smswR, sysregs.smswM, 'm', 0, { minGen: 2 });
def(['Lmsw_rm16', 'Lmsw_r32m16'], sysregs.lmswR, sysregs.lmswM, 'm', 0, { minGen: 2 });
def('Clts', sysregs.clts, null, '', 0, { minGen: 2 });
def('Mov_r32_cr', sysregs.movFromSys, null, 'mc', 0, { minGen: 3, imm2: 0 });
def('Mov_cr_r32', sysregs.movToSys, null, 'cm', 0, { minGen: 3, imm2: 0 });
def('Mov_r32_dr', sysregs.movFromSys, null, 'mc', 0, { minGen: 3, imm2: 1 });
def('Mov_dr_r32', sysregs.movToSys, null, 'cm', 0, { minGen: 3, imm2: 1 });

// 0F 0D, 0F 18-1F: the P6 executes the reserved-NOP space (later prefetch hints) as no-ops.
const HINT_NOPS = ['0F0D', '0F18', '0F19', '0F1A', '0F1B', '0F1C', '0F1D', '0F1E', '0F1F'].flatMap((o) => [`Reservednop_rm16_r16_${o}`, `Reservednop_rm32_r32_${o}`]);
def([...HINT_NOPS, 'Prefetchnta_m8', 'Prefetcht0_m8', 'Prefetcht1_m8', 'Prefetcht2_m8'], system.nop, system.nop, 'm', 0, { minGen: 6 });

// --- x87 (dispatch-fpu.ts) -------------------------------------------------------------------------
for (const [name, spec] of FPU_SPECS) EXEC_SPECS.set(name, spec);
