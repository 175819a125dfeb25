import { describe, expect, it } from 'vitest';
import { fpuMachine, X } from '../fpu/fpu-test-machine.js';
import { FSW_C2, FSW_IE, FSW_PE, FSW_ZE } from '../fpu/fpu.js';

/**
 * The transcendental instructions compute in doubles, so results are checked against the true
 * values (decimal constants below, correctly rounded) to within 2 units in the last place of a
 * double — not of the x87's 64-bit significand.
 */
const ULP2 = 2 * 2 ** -52;
function near(got: number, want: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.abs(want) * ULP2);
}

/** Loads y then x (so ST0 = x, ST1 = y), runs `op`, stores ST0 then ST1 as doubles. */
function run(op: number[], x: number, y = 0): { st0: number; st1: number; sw: number; top: number } {
  const m = fpuMachine([...X.fninit, ...X.fld64(8), ...X.fld64(0), ...op, ...X.fnstswAx, ...X.fstp64(16), ...X.fstp64(24)]);
  m.f64(0, x);
  m.f64(8, y);
  m.run();
  const sw = m.cpu.getState().eax & 0xffff;
  return { st0: m.f64(16), st1: m.f64(24), sw, top: (sw >> 11) & 7 };
}

describe('x87 transcendental instructions', () => {
  it('FSIN, FCOS, FSINCOS, FPTAN against known values', () => {
    near(run(X.fsin, Math.PI / 6).st0, 0.5);
    near(run(X.fcos, Math.PI / 3).st0, 0.5);
    near(run(X.fsin, 1).st0, 0.8414709848078965);
    near(run(X.fcos, 1).st0, 0.5403023058681398);
    const sc = run(X.fsincos, 2);
    near(sc.st0, -0.4161468365471424); // cos 2
    near(sc.st1, 0.9092974268256817); // sin 2
    const t = run(X.fptan, 1);
    expect(t.st0).toBe(1);
    near(t.st1, 1.5574077246549023);
    expect(run(X.fsin, 1).sw & FSW_PE).toBe(FSW_PE);
    expect(Object.is(run(X.fsin, -0).st0, -0)).toBe(true);
  });

  it('out-of-range operands (|x| >= 2^63) set C2 and leave ST(0); infinities are invalid', () => {
    const r = run(X.fsin, 2 ** 63);
    expect([r.st0, r.sw & FSW_C2]).toEqual([2 ** 63, FSW_C2]);
    expect(run(X.fcos, 2 ** 62).sw & FSW_C2).toBe(0);
    const inf = run(X.fcos, Infinity);
    expect(Number.isNaN(inf.st0)).toBe(true);
    expect(inf.sw & FSW_IE).toBe(FSW_IE);
  });

  it('FPATAN in every quadrant', () => {
    // ST1 = y, ST0 = x: atan(y / x)
    near(run(X.fpatan, 1, 1).st0, 0.7853981633974483);
    near(run(X.fpatan, -1, 1).st0, 2.356194490192345);
    near(run(X.fpatan, -1, -1).st0, -2.356194490192345);
    near(run(X.fpatan, 1, -Math.sqrt(3)).st0, -1.0471975511965976);
    expect(run(X.fpatan, -0, 0).st0).toBe(Math.PI);
    expect(run(X.fpatan, 1, 1).top).toBe(7);
  });

  it('F2XM1, FYL2X, FYL2XP1', () => {
    near(run(X.f2xm1, 0.5).st0, 0.41421356237309503);
    near(run(X.f2xm1, -0.5).st0, -0.2928932188134524);
    expect(run(X.f2xm1, 1).st0).toBe(1);
    expect(run(X.f2xm1, -1).st0).toBe(-0.5);
    near(run(X.fyl2x, 10, 1).st0, 3.321928094887362);
    expect(run(X.fyl2x, 8, 3).st0).toBe(9);
    near(run(X.fyl2x, Math.E, 2).st0, 2 * 1.4426950408889634);
    near(run(X.fyl2xp1, 0.25, 1).st0, 0.32192809488736235);
    near(run(X.fyl2xp1, 1e-10, 1).st0, 1.4426950408168288e-10);
    const z = run(X.fyl2x, 0, 1);
    expect([z.st0, z.sw & FSW_ZE]).toEqual([-Infinity, FSW_ZE]);
    expect(run(X.fyl2x, -1, 1).sw & FSW_IE).toBe(FSW_IE);
  });
});
