import { condition } from '../flags.js';
import { fpuEnter, recordData, part } from '../fpu/enter.js';
import { Operand } from '../fpu/arith.js';
import { Ext80, fromInt64, INDEFINITE_HI, INDEFINITE_SE, intFits, intResult, K_INF, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO, classify, toInt64 } from '../fpu/float80.js';
import { doubleOperand, encoded, encodeFloat, loadConverted, singleOperand } from '../fpu/formats.js';
import { type Fpu, FSW_C1, FSW_IE, FSW_PE } from '../fpu/fpu.js';
import type { Cpu } from '../interpreter.js';
import { ea, type Op } from '../op.js';

const operand = new Operand();
const value = new Ext80();
const TWO32 = 4294967296;
const storeBits = new Float64Array(1);
const storeHalves = new Uint32Array(storeBits.buffer);

/** Makes room for a push: false when ST(7) is in use (stack overflow; masked: the indefinite is pushed). */
export function canPush(fpu: Fpu): boolean {
  if (fpu.empty[(fpu.top - 1) & 7] !== 0) return true;
  if (fpu.overflow()) {
    fpu.push();
    fpu.setRaw(fpu.top, INDEFINITE_SE, INDEFINITE_HI, 0);
  }
  return false;
}

/** Pushes an exact 80-bit value (after `canPush`); C1 cleared. */
function pushExt(fpu: Fpu, e: Ext80): void {
  fpu.sw &= ~FSW_C1;
  fpu.push();
  fpu.setExt(0, e);
}

// --- FLD ------------------------------------------------------------------------------------------

/** FLD m32fp / m64fp (`ext` 32 or 64): converted exactly; SNaN → IE, denormal → DE. */
export function fldFloatM(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  let denormal: boolean;
  if (op.ext === 32) denormal = singleOperand(cpu.rd32(op.seg, a), operand);
  else {
    const lo = cpu.rd32(op.seg, a);
    denormal = doubleOperand(lo, cpu.rd32(op.seg, part(a + 4, op.amask)), operand);
  }
  recordData(cpu, op.seg, a);
  if (!canPush(fpu)) return;
  if (!loadConverted(fpu, operand, denormal, value)) return;
  pushExt(fpu, value);
}

/** Reads an 80-bit value from memory (no change to anything). */
export function readExt(cpu: Cpu, seg: number, a: number, amask: number, out: Ext80): Ext80 {
  const lo = cpu.rd32(seg, a);
  const hi = cpu.rd32(seg, part(a + 4, amask));
  const se = cpu.rd16(seg, part(a + 8, amask));
  return out.set(se, hi, lo);
}

/** Writes an 80-bit value to memory, the highest part first so a fault leaves the operand as it was. */
export function writeExt(cpu: Cpu, seg: number, a: number, amask: number, v: Ext80): void {
  cpu.wr16(seg, part(a + 8, amask), v.se);
  cpu.wr32(seg, part(a + 4, amask), v.hi);
  cpu.wr32(seg, a, v.lo);
}

/** FLD m80fp: all 80 bits as they are (no exception, even for SNaNs and unsupported encodings). */
export function fldM80(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const a = ea(cpu, op);
  readExt(cpu, op.seg, a, op.amask, value);
  recordData(cpu, op.seg, a);
  if (canPush(cpu.fpu)) pushExt(cpu.fpu, value);
}

/** FLD ST(i): pushes a copy of ST(i) with all 80 bits. */
export function fldSti(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (fpu.isEmpty(op.m)) {
    if (!canPush(fpu)) return;
    if (fpu.underflow()) {
      fpu.push();
      fpu.setRaw(fpu.top, INDEFINITE_SE, INDEFINITE_HI, 0);
    }
    return;
  }
  if (!canPush(fpu)) return;
  fpu.read(op.m, value);
  pushExt(fpu, value);
}

// --- FST / FSTP -------------------------------------------------------------------------------------

/** Reads ST(0) for a store; on an empty register: stack underflow, false when unmasked. `out` gets the indefinite when masked. */
function storeSource(fpu: Fpu, out: Ext80): boolean {
  if (!fpu.isEmpty(0)) {
    fpu.read(0, out);
    return true;
  }
  if (!fpu.underflow()) return false;
  out.set(INDEFINITE_SE, INDEFINITE_HI, 0);
  return true;
}

/** FST/FSTP m32fp and m64fp: `ext` bit 0 = pop, bit 1 = double. */
export function fstFloatM(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const single = (op.ext & 2) === 0;
  const p = fpu.top;
  if (!single && fpu.empty[p] === 0 && fpu.exact[p] === 0) {
    // A register holding a double stores as itself: no rounding, no exception.
    storeBits[0] = fpu.val[p];
    cpu.wr32(op.seg, part(a + 4, op.amask), storeHalves[1]);
    cpu.wr32(op.seg, a, storeHalves[0]);
    fpu.sw &= ~FSW_C1;
    recordData(cpu, op.seg, a);
    if ((op.ext & 1) !== 0) fpu.pop();
    return;
  }
  const sw0 = fpu.sw;
  if (!storeSource(fpu, value)) return;
  if (!encodeFloat(fpu, value, single)) return;
  try {
    if (single) cpu.wr32(op.seg, a, encoded.lo);
    else {
      cpu.wr32(op.seg, part(a + 4, op.amask), encoded.hi);
      cpu.wr32(op.seg, a, encoded.lo);
    }
  } catch (e) {
    fpu.sw = sw0;
    throw e;
  }
  recordData(cpu, op.seg, a);
  if ((op.ext & 1) !== 0) fpu.pop();
}

/** FSTP m80fp: all 80 bits. */
export function fstpM80(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const sw0 = fpu.sw;
  if (!storeSource(fpu, value)) return;
  try {
    writeExt(cpu, op.seg, a, op.amask, value);
  } catch (e) {
    fpu.sw = sw0;
    throw e;
  }
  recordData(cpu, op.seg, a);
  fpu.sw &= ~FSW_C1;
  fpu.pop();
}

/** FST/FSTP ST(i) (`ext` 1 = pop): copies ST(0) with all 80 bits. */
export function fstSti(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  fpu.sw &= ~FSW_C1;
  if (fpu.isEmpty(0)) {
    if (!fpu.underflow()) return;
    fpu.setRaw(fpu.phys(op.m), INDEFINITE_SE, INDEFINITE_HI, 0);
  } else fpu.copyReg(op.m, 0);
  if (op.ext !== 0) fpu.pop();
}

// --- integers -------------------------------------------------------------------------------------

/** FILD m16int / m32int / m64int (`ext` = size in bits): exact. */
export function fildM(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  let hi: number;
  let lo: number;
  if (op.ext === 16) {
    lo = (cpu.rd16(op.seg, a) << 16) >> 16;
    hi = lo >> 31;
  } else {
    lo = cpu.rd32(op.seg, a);
    if (op.ext === 64) hi = cpu.rd32(op.seg, part(a + 4, op.amask));
    else hi = lo >> 31;
  }
  recordData(cpu, op.seg, a);
  if (!canPush(fpu)) return;
  const neg = hi < 0;
  if (neg) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  fromInt64(neg, hi, lo, value);
  pushExt(fpu, value);
}

/**
 * Converts ST(0) to a signed integer of `bits` under RC into `intResult` (two's complement halves in
 * `hi`/`lo`). Returns 0 on success, 1 to store the integer indefinite (masked IE), -1 when nothing may
 * be stored (unmasked IE, or an empty register with IE unmasked).
 */
function toInteger(fpu: Fpu, bits: number): number {
  fpu.sw &= ~FSW_C1;
  if (fpu.isEmpty(0)) return fpu.underflow() ? 1 : -1;
  fpu.read(0, value);
  const k = classify(value.se, value.hi, value.lo);
  if (k === K_QNAN || k === K_SNAN || k === K_INF || k === K_UNSUPPORTED) return fpu.signal(FSW_IE) ? -1 : 1;
  if (k === K_ZERO) {
    intResult.hi = 0;
    intResult.lo = 0;
    return 0;
  }
  toInt64(value.se, value.hi, value.lo, fpu.rc());
  if (!intFits(bits)) return fpu.signal(FSW_IE) ? -1 : 1;
  if (intResult.inexact) {
    fpu.signal(FSW_PE);
    if (intResult.up) fpu.sw |= FSW_C1;
  }
  if (intResult.neg) {
    const lo = (~intResult.lo + 1) >>> 0;
    intResult.hi = (~intResult.hi + (lo === 0 ? 1 : 0)) >>> 0;
    intResult.lo = lo;
  }
  return 0;
}

/** FIST/FISTP m16int, m32int, m64int: `ext` = size in bits | 1 to pop. */
export function fistM(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const bits = op.ext & ~1;
  const sw0 = fpu.sw;
  const r = toInteger(fpu, bits);
  if (r < 0) return;
  let lo = intResult.lo;
  let hi = intResult.hi;
  if (r === 1) {
    lo = bits === 16 ? 0x8000 : bits === 32 ? 0x80000000 : 0;
    hi = 0x80000000;
  }
  try {
    if (bits === 16) cpu.wr16(op.seg, a, lo);
    else if (bits === 32) cpu.wr32(op.seg, a, lo);
    else {
      cpu.wr32(op.seg, part(a + 4, op.amask), hi);
      cpu.wr32(op.seg, a, lo);
    }
  } catch (e) {
    fpu.sw = sw0;
    throw e;
  }
  recordData(cpu, op.seg, a);
  if ((op.ext & 1) !== 0) fpu.pop();
}

// --- packed BCD -----------------------------------------------------------------------------------

/** FBLD m80bcd: 18 packed digits and a sign byte, converted exactly (invalid digits are not checked, as on hardware the result is undefined). */
export function fbld(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const sign = cpu.rd8(op.seg, part(a + 9, op.amask));
  let hi = 0;
  let lo = 0;
  for (let i = 8; i >= 0; i--) {
    const b = cpu.rd8(op.seg, part(a + i, op.amask));
    for (let j = 0; j < 2; j++) {
      const l = lo * 10 + (j === 0 ? b >>> 4 : b & 15);
      const carry = Math.floor(l / TWO32);
      lo = l - carry * TWO32;
      hi = hi * 10 + carry;
    }
  }
  recordData(cpu, op.seg, a);
  if (!canPush(fpu)) return;
  fromInt64((sign & 0x80) !== 0, hi >>> 0, lo >>> 0, value);
  pushExt(fpu, value);
}

const bcdBytes = new Uint8Array(10);

/** FBSTP m80bcd: ST(0) rounded by RC to 18 digits; out of range → IE (masked: the BCD indefinite). */
export function fbstp(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  const a = ea(cpu, op);
  const sw0 = fpu.sw;
  const r = toInteger(fpu, 64);
  if (r < 0) return;
  bcdBytes.fill(0);
  let ok = r === 0;
  if (ok) {
    let neg = false;
    let hi = intResult.hi;
    let lo = intResult.lo;
    if ((hi & 0x80000000) !== 0) {
      neg = true;
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    }
    // 10^18 − 1 = 0x0DE0B6B3_A763FFFF
    if (hi > 0x0de0b6b3 || (hi === 0x0de0b6b3 && lo > 0xa763ffff)) {
      ok = false;
      if (fpu.signal(FSW_IE)) {
        fpu.sw = (fpu.sw & ~FSW_PE) | (sw0 & FSW_PE);
        return;
      }
    } else {
      for (let i = 0; i < 9; i++) {
        let digits = 0;
        for (let j = 0; j < 2; j++) {
          const qh = Math.floor(hi / 10);
          const rh = hi - qh * 10;
          const x = rh * TWO32 + lo;
          const ql = Math.floor(x / 10);
          digits |= (x - ql * 10) << (j * 4);
          hi = qh;
          lo = ql;
        }
        bcdBytes[i] = digits;
      }
      bcdBytes[9] = neg ? 0x80 : 0;
    }
  }
  if (!ok) {
    bcdBytes[9] = 0xff;
    bcdBytes[8] = 0xff;
    bcdBytes[7] = 0xc0;
  }
  try {
    for (let i = 9; i >= 0; i--) cpu.wr8(op.seg, part(a + i, op.amask), bcdBytes[i]);
  } catch (e) {
    fpu.sw = sw0;
    throw e;
  }
  recordData(cpu, op.seg, a);
  fpu.pop();
}

// --- constants and register moves -----------------------------------------------------------------

/**
 * FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (`ext` 0-6): the 64-bit significands of the
 * constants rounded to nearest, with the last bit adjusted for the other rounding modes as the
 * 387 and later do (SDM vol. 1, 8.3.8): log2(10) rounds up, the others round down.
 */
const CONST_SE = [0x3fff, 0x4000, 0x3fff, 0x4000, 0x3ffd, 0x3ffe, 0];
const CONST_HI = [0x80000000, 0xd49a784b, 0xb8aa3b29, 0xc90fdaa2, 0x9a209a84, 0xb17217f7, 0];
const CONST_LO = [0, 0xcd1b8afe, 0x5c17f0bc, 0x2168c235, 0xfbcff799, 0xd1cf79ac, 0];
/** −1: the nearest value is above the true one (round down/chop take one off); +1: below (round up adds one). */
const CONST_ADJUST = [0, 1, -1, -1, -1, -1, 0];

export function fldConst(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  if (!canPush(fpu)) return;
  const i = op.ext;
  let lo = CONST_LO[i];
  const rc = fpu.rc();
  if (CONST_ADJUST[i] < 0 && (rc === 1 || rc === 3)) lo -= 1;
  else if (CONST_ADJUST[i] > 0 && rc === 2) lo += 1;
  value.set(CONST_SE[i], CONST_HI[i], lo);
  pushExt(fpu, value);
}

/** FXCH ST(i): empty registers count as the indefinite after a (masked) stack underflow. */
export function fxch(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  fpu.sw &= ~FSW_C1;
  if (fpu.isEmpty(0) || fpu.isEmpty(op.m)) {
    if (!fpu.underflow()) return;
    if (fpu.isEmpty(0)) fpu.setRaw(fpu.phys(0), INDEFINITE_SE, INDEFINITE_HI, 0);
    if (fpu.isEmpty(op.m)) fpu.setRaw(fpu.phys(op.m), INDEFINITE_SE, INDEFINITE_HI, 0);
  }
  const p = fpu.phys(0);
  const q = fpu.phys(op.m);
  swap(fpu.val, p, q);
  swap(fpu.se, p, q);
  swap(fpu.hi, p, q);
  swap(fpu.lo, p, q);
  swap(fpu.exact, p, q);
  swap(fpu.kind, p, q);
}

function swap(a: Float64Array | Uint32Array | Uint16Array | Uint8Array, p: number, q: number): void {
  const t = a[p];
  a[p] = a[q];
  a[q] = t;
}

/** FFREE ST(i) / FFREEP ST(i) (`ext` 1 pops). */
export function ffree(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  fpu.empty[fpu.phys(op.m)] = 1;
  if (op.ext !== 0) fpu.top = (fpu.top + 1) & 7;
}

/** FDECSTP (`ext` -1) / FINCSTP (`ext` 1): TOP moves, tags untouched, C1 cleared. */
export function fstp(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  fpu.top = (fpu.top + op.ext) & 7;
  fpu.sw &= ~FSW_C1;
}

/** FCMOVcc ST(0), ST(i): `ext` = the integer condition code (B, E, BE, P and their negations). */
export function fcmov(cpu: Cpu, op: Op): void {
  if (!fpuEnter(cpu, op)) return;
  const fpu = cpu.fpu;
  fpu.sw &= ~FSW_C1;
  if (fpu.isEmpty(0) || fpu.isEmpty(op.m)) {
    if (fpu.underflow()) fpu.setRaw(fpu.phys(0), INDEFINITE_SE, INDEFINITE_HI, 0);
    return;
  }
  if (condition(cpu, op.ext)) fpu.copyReg(0, op.m);
}
