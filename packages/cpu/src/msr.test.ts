import { describe, expect, it } from 'vitest';
import { CpuError } from './errors.js';
import { GP, UD } from './cpu.js';
import type { CpuModelName } from './models.js';
import {
  MSR_APIC_BASE,
  MSR_EVNTSEL0,
  MSR_MISC_ENABLE,
  MSR_MTRR_DEF_TYPE,
  MSR_MTRR_FIX4K_C0000,
  MSR_MTRR_PHYSBASE0,
  MSR_MTRRCAP,
  MSR_PAT,
  MSR_PERFCTR0,
  MSR_PLATFORM_ID,
  MSR_SYSENTER_CS,
  MSR_SYSENTER_EIP,
  MSR_SYSENTER_ESP,
  MSR_TSC,
} from './msr.js';
import { flatMachine, type FlatMachine } from './test-flat-machine.js';

const RDMSR = [0x0f, 0x32];
const WRMSR = [0x0f, 0x30];
const RDTSC = [0x0f, 0x31];
const RDPMC = [0x0f, 0x33];
const HLT = [0xf4];

/** Runs `code` (ending in HLT) from a flat CPL 0 or 3 state with the given registers. */
function exec(model: CpuModelName, code: number[], regs: { eax?: number; ecx?: number; edx?: number; cr4?: number } = {}, cpl: 0 | 3 = 0): FlatMachine {
  const m = flatMachine(model, [...code, ...(cpl === 0 ? HLT : [0xeb, 0xfe])], cpl); // HLT, or JMP $ at CPL 3
  m.cpu.setState(regs);
  m.cpu.run(100);
  return m;
}

function rdmsr(model: CpuModelName, index: number): { fault: number; value: [number, number] } {
  const m = exec(model, RDMSR, { ecx: index });
  const s = m.cpu.getState();
  return { fault: m.faultVector(), value: [s.edx, s.eax] };
}

/** WRMSR then RDMSR of the same MSR: the fault (or -1) and what was read back as [EDX, EAX]. */
function roundTrip(model: CpuModelName, index: number, high: number, low: number): { fault: number; value: [number, number] } {
  const m = exec(model, [...WRMSR, 0x31, 0xc0, 0x31, 0xd2, ...RDMSR], { ecx: index, edx: high, eax: low }); // xor eax,eax; xor edx,edx
  const s = m.cpu.getState();
  return { fault: m.faultVector(), value: [s.edx, s.eax] };
}

describe('RDMSR and WRMSR', () => {
  it('keep the SYSENTER MSRs (bits 63:32 ignored, read as 0)', () => {
    expect(roundTrip('p6', MSR_SYSENTER_CS, 0xffff, 0x0008)).toEqual({ fault: -1, value: [0, 8] });
    expect(roundTrip('p6', MSR_SYSENTER_ESP, 1, 0xc0001000)).toEqual({ fault: -1, value: [0, 0xc0001000] });
    expect(roundTrip('p6', MSR_SYSENTER_EIP, 0, 0xc0100000)).toEqual({ fault: -1, value: [0, 0xc0100000] });
  });

  it('keep PAT and the MTRRs, refusing invalid memory types and reserved bits with #GP(0)', () => {
    expect(rdmsr('p6', MSR_PAT).value).toEqual([0x00070406, 0x00070406]);
    expect(roundTrip('p6', MSR_PAT, 0x00070106, 0x00070406)).toEqual({ fault: -1, value: [0x00070106, 0x00070406] });
    expect(roundTrip('p6', MSR_PAT, 0, 0x02).fault).toBe(GP); // type 2 is reserved
    expect(roundTrip('p6', MSR_MTRR_DEF_TYPE, 0, 0xc06).value).toEqual([0, 0xc06]);
    expect(roundTrip('p6', MSR_MTRR_DEF_TYPE, 0, 0x106).fault).toBe(GP);
    expect(roundTrip('p6', MSR_MTRR_DEF_TYPE, 0, 0x3).fault).toBe(GP);
    expect(roundTrip('p6', MSR_MTRR_PHYSBASE0, 0xf, 0xfff00006).value).toEqual([0xf, 0xfff00006]);
    expect(roundTrip('p6', MSR_MTRR_PHYSBASE0, 0x10, 0).fault).toBe(GP); // above MAXPHYADDR 36
    expect(roundTrip('p6', MSR_MTRR_PHYSBASE0 + 1, 0xf, 0xfff00800).value).toEqual([0xf, 0xfff00800]);
    expect(roundTrip('p6', MSR_MTRR_PHYSBASE0 + 1, 0, 0x801).fault).toBe(GP);
    expect(roundTrip('p6', MSR_MTRR_FIX4K_C0000 + 7, 0x06060606, 0x05050505).value).toEqual([0x06060606, 0x05050505]);
    expect(roundTrip('p6', MSR_MTRR_FIX4K_C0000, 0x06060606, 0x05050503).fault).toBe(GP);
  });

  it('read MTRRcap, the platform ID and MISC_ENABLE; MTRRcap and the platform ID are read-only', () => {
    expect(rdmsr('p6', MSR_MTRRCAP).value).toEqual([0, 0x508]);
    expect(rdmsr('p6', MSR_PLATFORM_ID)).toEqual({ fault: -1, value: [0, 0] });
    expect(rdmsr('p6', MSR_MISC_ENABLE).value).toEqual([0, 1]);
    expect(roundTrip('p6', MSR_MTRRCAP, 0, 0x508).fault).toBe(GP);
    expect(roundTrip('p6', MSR_PLATFORM_ID, 0, 0).fault).toBe(GP);
    expect(roundTrip('p6', MSR_MISC_ENABLE, 0, 0)).toEqual({ fault: -1, value: [0, 0] });
    expect(roundTrip('p6', MSR_MISC_ENABLE, 0, 8).fault).toBe(GP);
    expect(roundTrip('p6', MSR_EVNTSEL0, 1, 0).fault).toBe(GP);
  });

  it('raise #GP(0) for MSRs the model does not have, and above CPL 0', () => {
    for (const index of [0x0, 0x11, 0x1a1, 0xc0000080, 0x40000000]) expect(rdmsr('p6', index).fault).toBe(GP);
    expect(rdmsr('pentium', MSR_SYSENTER_CS).fault).toBe(GP);
    expect(rdmsr('pentium', MSR_TSC).fault).toBe(-1);
    const user = exec('p6', RDMSR, { ecx: MSR_SYSENTER_CS }, 3);
    expect([user.faultVector(), user.errorCode()]).toEqual([GP, 0]);
    expect(exec('p6', WRMSR, { ecx: MSR_SYSENTER_CS }, 3).faultVector()).toBe(GP);
  });

  it('are #UD before the Pentium', () => {
    expect(rdmsr('486', MSR_TSC).fault).toBe(UD);
    expect(exec('486', RDTSC).faultVector()).toBe(UD);
  });

  it('IA32_APIC_BASE reads and writes the attached local APIC; reserved bits are #GP(0)', () => {
    const writes: number[] = [];
    const apic = { baseMsr: 0xfee00900, writeBaseMsr: (v: number) => writes.push(v) };
    const run = (regs: { eax: number; edx: number }): FlatMachine => {
      const m = flatMachine('p6', [...RDMSR, 0x89, 0xc3, 0xb8, regs.eax & 0xff, (regs.eax >>> 8) & 0xff, (regs.eax >>> 16) & 0xff, regs.eax >>> 24, 0xba, regs.edx, 0, 0, 0, ...WRMSR, ...HLT], 0, { apic });
      m.cpu.setState({ ecx: MSR_APIC_BASE });
      m.cpu.run(10);
      return m;
    };
    const m = run({ eax: 0xfed00800, edx: 0 }); // rdmsr; mov ebx, eax; mov eax, ..; mov edx, ..; wrmsr
    expect([m.faultVector(), m.cpu.getState().ebx]).toEqual([-1, 0xfee00900]);
    expect(writes).toEqual([0xfed00800]);
    expect(run({ eax: 0xfee00801, edx: 0 }).faultVector()).toBe(GP);
    expect(run({ eax: 0xfee00800, edx: 1 }).faultVector()).toBe(GP);
    expect(writes).toHaveLength(1);
    expect(rdmsr('p6', MSR_APIC_BASE)).toEqual({ fault: -1, value: [0, 0] }); // no APIC attached
  });
});

describe('the time-stamp counter', () => {
  it('counts retired instructions by default and is set by WRMSR (the P6 clears bits 63:32)', () => {
    // rdtsc; mov ebx, eax; nop; nop; rdtsc
    const m = exec('p6', [...RDTSC, 0x89, 0xc3, 0x90, 0x90, ...RDTSC]);
    const s = m.cpu.getState();
    expect([s.ebx, s.eax - s.ebx, s.edx]).toEqual([0, 4, 0]);
    // wrmsr TSC = 5_0000_0000h; rdtsc
    const w = exec('p6', [...WRMSR, ...RDTSC], { ecx: MSR_TSC, edx: 5, eax: 0 });
    expect([w.cpu.getState().edx, w.cpu.getState().eax]).toEqual([0, 1]);
    const p = exec('pentium', [...WRMSR, ...RDTSC], { ecx: MSR_TSC, edx: 5, eax: 0xfffffff0 });
    expect([p.cpu.getState().edx, p.cpu.getState().eax]).toEqual([5, 0xfffffff1]);
  });

  it('follows the clock it is given, with the offset of the last write and reset to 0', () => {
    let ticks = 0x1_2345_6789;
    const m = flatMachine('p6', [...RDTSC, ...HLT], 0, { timeStampCounter: () => ticks });
    m.cpu.reset(); // RESET: the TSC starts at 0 from the clock's current value
    ticks += 0x1_0000_0010;
    m.cpu.setState({ cr0: 0, eip: 0, cs: { selector: 0x1000 } });
    m.cpu.run(2);
    expect([m.cpu.getState().edx, m.cpu.getState().eax]).toEqual([1, 0x10]);
  });

  it('CR4.TSD makes RDTSC #GP(0) above CPL 0', () => {
    expect(exec('p6', RDTSC, { cr4: 4 }, 3).faultVector()).toBe(GP);
    expect(exec('p6', RDTSC, { cr4: 0 }, 3).faultVector()).toBe(-1);
    expect(exec('p6', RDTSC, { cr4: 4 }, 0).faultVector()).toBe(-1);
  });
});

describe('RDPMC', () => {
  it('reads P6 counters 0 and 1 (40 bits, sign-extended from bit 31 on write); others are #GP(0)', () => {
    const m = exec('p6', [...WRMSR, 0xb9, 0, 0, 0, 0, ...RDPMC], { ecx: MSR_PERFCTR0, edx: 0, eax: 0x80000005 }); // mov ecx, 0
    expect([m.cpu.getState().edx, m.cpu.getState().eax]).toEqual([0xff, 0x80000005]);
    expect(exec('p6', RDPMC, { ecx: 2 }).faultVector()).toBe(GP);
    expect(exec('pentium', RDPMC, { ecx: 0 }).faultVector()).toBe(UD);
  });

  it('needs CPL 0 or CR4.PCE', () => {
    expect(exec('p6', RDPMC, { ecx: 1 }, 3).faultVector()).toBe(GP);
    expect(exec('p6', RDPMC, { ecx: 1, cr4: 0x100 }, 3).faultVector()).toBe(-1);
  });
});

describe('MSRs in the state API', () => {
  it('lists the TSC and the stored MSRs, and restores them on another CPU', () => {
    const a = exec('p6', [...WRMSR], { ecx: MSR_SYSENTER_EIP, eax: 0xc0100000, edx: 0 });
    const msrs = a.cpu.getState().msrs;
    expect(msrs.find((e) => e.index === MSR_SYSENTER_EIP)).toEqual({ index: MSR_SYSENTER_EIP, high: 0, low: 0xc0100000 });
    expect(msrs.find((e) => e.index === MSR_TSC)).toEqual({ index: MSR_TSC, high: 0, low: 2 });
    const b = flatMachine('p6', [...RDMSR, ...HLT]);
    b.cpu.setState({ msrs: [...msrs, { index: MSR_TSC, high: 3, low: 7 }] });
    expect(b.cpu.getState().msrs).toEqual(msrs.map((e) => (e.index === MSR_TSC ? { index: MSR_TSC, high: 3, low: 7 } : e)));
    expect(flatMachine('486', []).cpu.getState().msrs).toEqual([]);
  });

  it('refuses entries WRMSR would refuse, changing nothing', () => {
    const m = flatMachine('p6', []);
    const before = m.cpu.getState();
    const bad: unknown[] = [
      [{ index: MSR_SYSENTER_CS, high: 0, low: 8 }, { index: MSR_PAT, high: 0, low: 2 }],
      [{ index: MSR_MTRRCAP, high: 0, low: 0x508 }],
      [{ index: 0x1234, high: 0, low: 0 }],
      [{ index: MSR_SYSENTER_CS, high: 0, low: -1 }],
      [{ index: MSR_TSC, high: 1 << 22, low: 0 }],
      [null],
      'all of them',
    ];
    for (const msrs of bad) {
      expect(() => m.cpu.setState({ msrs } as never)).toThrow(CpuError);
      expect(() => m.cpu.setState({ msrs } as never)).toThrow(/msrs/);
    }
    expect(m.cpu.getState()).toEqual(before);
  });

  it('RESET returns them to their power-on values', () => {
    const m = exec('p6', WRMSR, { ecx: MSR_PAT, eax: 0, edx: 0 });
    m.cpu.reset();
    const pat = m.cpu.getState().msrs.find((e) => e.index === MSR_PAT);
    expect(pat).toEqual({ index: MSR_PAT, high: 0x00070406, low: 0x00070406 });
  });
});
