import { describe, expect, it } from 'vitest';
import { CPUID_FEATURE_BITS, cpuModel, type CpuidFeature, type CpuModelName } from './models.js';
import { MSR_BIOS_SIGN_ID } from './msr.js';
import { flatMachine } from './test-flat-machine.js';

const CPUID = [0x0f, 0xa2, 0xf4];
const RDMSR = [0x0f, 0x32];

function cpuid(model: CpuModelName, leaf: number, apic?: { baseMsr: number; writeBaseMsr(v: number): void }): number[] {
  const m = flatMachine(model, CPUID, 0, apic ? { apic } : {});
  m.cpu.setState({ eax: leaf, ebx: 0x1111, ecx: 0x2222, edx: 0x3333 });
  m.cpu.run(2);
  const s = m.cpu.getState();
  return [s.eax, s.ebx, s.ecx, s.edx];
}

function bits(names: CpuidFeature[]): number {
  return names.reduce((b, n) => b | (1 << CPUID_FEATURE_BITS[n]), 0) >>> 0;
}

const vendor = (ebx: number, edx: number, ecx: number): string => Buffer.from(new Uint32Array([ebx, edx, ecx]).buffer).toString('latin1');

describe('CPUID', () => {
  it('leaf 0: the highest basic leaf and GenuineIntel', () => {
    const [a, b, c, d] = cpuid('p6', 0);
    expect(a).toBe(2);
    expect(vendor(b, d, c)).toBe('GenuineIntel');
    expect(cpuid('pentium', 0)[0]).toBe(1);
    expect(cpuid('486', 0)[0]).toBe(1);
  });

  it('leaf 1 on the P6: a Pentium II signature, EBX and ECX 0, the features this package implements', () => {
    const [a, b, c, d] = cpuid('p6', 1);
    expect(a).toBe(0x652); // family 6, model 5, stepping 2
    expect([b, c]).toEqual([0, 0]);
    expect(d).toBe(bits(['fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'cx8', 'sep', 'mtrr', 'pge', 'cmov', 'pat', 'pse36', 'fxsr']));
    // Not implemented, so never reported: machine checks, MMX, SSE.
    for (const f of ['mce', 'mca', 'mmx', 'sse', 'sse2', 'apic'] as const) expect(d & (1 << CPUID_FEATURE_BITS[f])).toBe(0);
  });

  it('leaf 1 on the Pentium and 486', () => {
    const [a, , , d] = cpuid('pentium', 1);
    expect(a).toBe(0x543);
    expect(d).toBe(bits(['fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'cx8']));
    expect(cpuid('486', 1)[3]).toBe(bits(['fpu']));
  });

  it('the feature bits are the model data', () => {
    for (const name of ['486', 'pentium', 'p6'] as const) {
      const model = cpuModel(name);
      expect(model.cpuidFeatures >>> 0).toBe(bits([...model.features]));
    }
  });

  it('leaf 2: the Pentium II cache and TLB descriptors', () => {
    expect(cpuid('p6', 2)).toEqual([0x03020101, 0, 0, 0x0c040843]);
  });

  it('leaves above the highest, basic or extended, answer as the highest basic leaf', () => {
    for (const leaf of [3, 0x40000000, 0x80000000, 0x80000004, 0xffffffff]) expect(cpuid('p6', leaf)).toEqual([0x03020101, 0, 0, 0x0c040843]);
    expect(cpuid('pentium', 0x80000000)).toEqual(cpuid('pentium', 1));
  });

  it('reports the APIC while one is attached and enabled in IA32_APIC_BASE', () => {
    const apic = { baseMsr: 0xfee00900, writeBaseMsr: () => undefined };
    expect(cpuid('p6', 1, apic)[3] & (1 << 9)).toBe(1 << 9);
    apic.baseMsr = 0xfee00100; // global enable clear
    expect(cpuid('p6', 1, apic)[3] & (1 << 9)).toBe(0);
    expect(cpuid('pentium', 1, { baseMsr: 0xfee00900, writeBaseMsr: () => undefined })[3] & (1 << 9)).toBe(0);
  });

  it('leaf 1 loads the microcode revision into IA32_BIOS_SIGN_ID', () => {
    // wrmsr (8Bh = 0x1234_5678_0000_0000); cpuid leaf 1; rdmsr 8Bh
    const m = flatMachine('p6', [0x0f, 0x30, 0x31, 0xc0, 0x40, 0x0f, 0xa2, 0xb9, MSR_BIOS_SIGN_ID, 0, 0, 0, ...RDMSR, 0xf4]);
    m.cpu.setState({ ecx: MSR_BIOS_SIGN_ID, eax: 0, edx: 0x12345678 });
    m.cpu.run(10);
    const s = m.cpu.getState();
    expect([s.eax, s.edx]).toEqual([0, cpuModel('p6').microcodeRevision]);
  });
});
