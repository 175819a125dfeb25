import type { ExecSpec } from './dispatch.js';
import type { Handler } from './op.js';
import type { Cpu } from './interpreter.js';
import { UD } from './cpu.js';
import { arithM, arithR, fprem, frndint, fscale, fsqrt, fxtract, MEM_F32, MEM_F64, MEM_I16, MEM_I32, signOp } from './ops/fpu-arith.js';
import { fcomi, fcomM, fcomR, ftst, fxam } from './ops/fpu-compare.js';
import * as ctl from './ops/fpu-control.js';
import { fbld, fbstp, fcmov, ffree, fildM, fistM, fldConst, fldFloatM, fldM80, fldSti, fstFloatM, fstp, fstpM80, fstSti, fxch } from './ops/fpu-load-store.js';
import { f2xm1, fpatan, fyl2x, trig, TRIG_COS, TRIG_SIN, TRIG_SINCOS, TRIG_TAN } from './ops/fpu-transcendental.js';

/**
 * The x87 instructions (and WAIT, FXSAVE, FXRSTOR) by decoder code name. The 386 and later models
 * have the unit (a 387 beside the 386, integrated from the 486); FCMOVcc and FCOMI(P)/FUCOMI(P)
 * are P6 instructions, FXSAVE/FXRSTOR the Pentium II's. FISTTP is SSE3 and raises #UD.
 */
export const FPU_SPECS = new Map<string, ExecSpec>();

const X87 = 2;

function def(names: string | string[], reg: Handler | null, mem: Handler | null, layout: string, ext = 0, extra: Partial<ExecSpec> = {}): void {
  for (const name of Array.isArray(names) ? names : [names]) FPU_SPECS.set(name, { reg, mem, ext, layout, minGen: X87, ...extra });
}

const ud: Handler = (cpu: Cpu) => cpu.exception(UD);

// --- arithmetic -----------------------------------------------------------------------------------
const ARITH: [string, number][] = [['Fadd', 0], ['Fmul', 1], ['Fsub', 4], ['Fsubr', 5], ['Fdiv', 6], ['Fdivr', 7]];
for (const [name, kind] of ARITH) {
  def(`${name}_m32fp`, null, arithM, 'm', kind, { imm2: MEM_F32 });
  def(`${name}_m64fp`, null, arithM, 'm', kind, { imm2: MEM_F64 });
  def(`${name.replace('F', 'Fi')}_m16int`, null, arithM, 'm', kind, { imm2: MEM_I16 });
  def(`${name.replace('F', 'Fi')}_m32int`, null, arithM, 'm', kind, { imm2: MEM_I32 });
  def(`${name}_st0_sti`, arithR, null, 'xm', kind, { imm2: 0 });
  def(`${name}_sti_st0`, arithR, null, 'mx', kind, { imm2: 1 });
  def(`${name}p_sti_st0`, arithR, null, 'mx', kind, { imm2: 3 });
}
def('Fchs', signOp, null, '', 0);
def('Fabs', signOp, null, '', 1);
def('Fsqrt', fsqrt, null, '');
def('Frndint', frndint, null, '');
def('Fscale', fscale, null, '');
def('Fxtract', fxtract, null, '');
def('Fprem', fprem, null, '', 0);
def('Fprem1', fprem, null, '', 1);

// --- compare --------------------------------------------------------------------------------------
def('Fcom_m32fp', null, fcomM, 'm', 0, { imm2: MEM_F32 });
def('Fcomp_m32fp', null, fcomM, 'm', 1, { imm2: MEM_F32 });
def('Fcom_m64fp', null, fcomM, 'm', 0, { imm2: MEM_F64 });
def('Fcomp_m64fp', null, fcomM, 'm', 1, { imm2: MEM_F64 });
def('Ficom_m16int', null, fcomM, 'm', 0, { imm2: MEM_I16 });
def('Ficomp_m16int', null, fcomM, 'm', 1, { imm2: MEM_I16 });
def('Ficom_m32int', null, fcomM, 'm', 0, { imm2: MEM_I32 });
def('Ficomp_m32int', null, fcomM, 'm', 1, { imm2: MEM_I32 });
def(['Fcom_st0_sti', 'Fcom_st0_sti_DCD0'], fcomR, null, 'xm', 0, { imm2: 0 });
def(['Fcomp_st0_sti', 'Fcomp_st0_sti_DCD8', 'Fcomp_st0_sti_DED0'], fcomR, null, 'xm', 1, { imm2: 0 });
def('Fcompp', fcomR, null, '', 2, { imm2: 0 });
def('Fucom_st0_sti', fcomR, null, 'xm', 0, { imm2: 1 });
def('Fucomp_st0_sti', fcomR, null, 'xm', 1, { imm2: 1 });
def('Fucompp', fcomR, null, '', 2, { imm2: 1 });
def('Ftst', ftst, null, '');
def('Fxam', fxam, null, '');
def('Fcomi_st0_sti', fcomi, null, 'xm', 0, { imm2: 0, minGen: 6 });
def('Fcomip_st0_sti', fcomi, null, 'xm', 1, { imm2: 0, minGen: 6 });
def('Fucomi_st0_sti', fcomi, null, 'xm', 0, { imm2: 1, minGen: 6 });
def('Fucomip_st0_sti', fcomi, null, 'xm', 1, { imm2: 1, minGen: 6 });

// --- loads, stores, moves -------------------------------------------------------------------------
def('Fld_m32fp', null, fldFloatM, 'm', 32);
def('Fld_m64fp', null, fldFloatM, 'm', 64);
def('Fld_m80fp', null, fldM80, 'm');
def('Fld_sti', fldSti, null, 'm');
def('Fst_m32fp', null, fstFloatM, 'm', 0);
def('Fstp_m32fp', null, fstFloatM, 'm', 1);
def('Fst_m64fp', null, fstFloatM, 'm', 2);
def('Fstp_m64fp', null, fstFloatM, 'm', 3);
def('Fstp_m80fp', null, fstpM80, 'm');
def('Fst_sti', fstSti, null, 'm', 0);
def(['Fstp_sti', 'Fstp_sti_DFD0', 'Fstp_sti_DFD8', 'Fstpnce_sti'], fstSti, null, 'm', 1);
def('Fild_m16int', null, fildM, 'm', 16);
def('Fild_m32int', null, fildM, 'm', 32);
def('Fild_m64int', null, fildM, 'm', 64);
def('Fist_m16int', null, fistM, 'm', 16);
def('Fistp_m16int', null, fistM, 'm', 17);
def('Fist_m32int', null, fistM, 'm', 32);
def('Fistp_m32int', null, fistM, 'm', 33);
def('Fistp_m64int', null, fistM, 'm', 65);
def(['Fisttp_m16int', 'Fisttp_m32int', 'Fisttp_m64int'], ud, ud, 'm');
def('Fbld_m80bcd', null, fbld, 'm');
def('Fbstp_m80bcd', null, fbstp, 'm');
['Fld1', 'Fldl2t', 'Fldl2e', 'Fldpi', 'Fldlg2', 'Fldln2', 'Fldz'].forEach((name, i) => def(name, fldConst, null, '', i));
def(['Fxch_st0_sti', 'Fxch_st0_sti_DDC8', 'Fxch_st0_sti_DFC8'], fxch, null, 'xm');
def('Ffree_sti', ffree, null, 'm', 0);
def('Ffreep_sti', ffree, null, 'm', 1);
def('Fdecstp', fstp, null, '', -1);
def('Fincstp', fstp, null, '', 1);
const FCMOV: [string, number][] = [['b', 2], ['e', 4], ['be', 6], ['u', 10], ['nb', 3], ['ne', 5], ['nbe', 7], ['nu', 11]];
for (const [cc, n] of FCMOV) def(`Fcmov${cc}_st0_sti`, fcmov, null, 'xm', n, { minGen: 6 });

// --- transcendental -------------------------------------------------------------------------------
def('Fsin', trig, null, '', TRIG_SIN);
def('Fcos', trig, null, '', TRIG_COS);
def('Fsincos', trig, null, '', TRIG_SINCOS);
def('Fptan', trig, null, '', TRIG_TAN);
def('Fpatan', fpatan, null, '');
def('F2xm1', f2xm1, null, '');
def('Fyl2x', fyl2x, null, '', 0);
def('Fyl2xp1', fyl2x, null, '', 1);

// --- control and environment ----------------------------------------------------------------------
def('Wait', ctl.fwait, null, '', 0, { minGen: 0 });
def('Fnop', ctl.fnop, null, '');
def(['Fneni', 'Fndisi', 'Fnsetpm'], ctl.fnIgnored, null, '');
def('Fldcw_m2byte', null, ctl.fldcw, 'm');
def('Fnstcw_m2byte', null, ctl.fnstcw, 'm');
def('Fnstsw_m2byte', null, ctl.fnstswM, 'm');
def('Fnstsw_AX', ctl.fnstswAx, null, '');
def('Fninit', ctl.fninit, null, '');
def('Fnclex', ctl.fnclex, null, '');
def('Fnstenv_m14byte', null, ctl.fnstenv, 'm', 0, { imm2: 0 });
def('Fnstenv_m28byte', null, ctl.fnstenv, 'm', 0, { imm2: 1 });
def('Fldenv_m14byte', null, ctl.fldenv, 'm', 0, { imm2: 0 });
def('Fldenv_m28byte', null, ctl.fldenv, 'm', 0, { imm2: 1 });
def('Fnsave_m94byte', null, ctl.fnsave, 'm', 0, { imm2: 0 });
def('Fnsave_m108byte', null, ctl.fnsave, 'm', 0, { imm2: 1 });
def('Frstor_m94byte', null, ctl.frstor, 'm', 0, { imm2: 0 });
def('Frstor_m108byte', null, ctl.frstor, 'm', 0, { imm2: 1 });
def('Fxsave_m512byte', null, ctl.fxsave, 'm', 0, { minGen: 6 });
def('Fxrstor_m512byte', null, ctl.fxrstor, 'm', 0, { minGen: 6 });
