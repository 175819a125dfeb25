import { CpuError } from './errors.js';

/** The CPU generations tsvm models. `p6` (Pentium Pro / Pentium II class) is the default. */
export type CpuModelName = '8086' | '286' | '386' | '486' | 'pentium' | 'p6';

export const CPU_MODEL_NAMES: readonly CpuModelName[] = ['8086', '286', '386', '486', 'pentium', 'p6'];

/** What differs between the generations, as data the interpreter reads at decode time. */
export interface CpuModel {
  readonly name: CpuModelName;
  /** 0 = 8086, 2 = 286, 3 = 386, 4 = 486, 5 = Pentium, 6 = P6. */
  readonly generation: number;
  /** The 8086 has no invalid opcodes: 0F is POP CS, 60-6F alias 70-7F, C0/C1 alias C2/C3, C8/C9 alias CA/CB. */
  readonly opcodeAliases8086: boolean;
  /** 186 and later mask shift and rotate counts to 5 bits; the 8086 shifts up to 255 times. */
  readonly maskShiftCount: boolean;
  /** The 8086 pushes the address of the next instruction on a divide error; 286 and later the faulting one. */
  readonly divideErrorPushesNext: boolean;
  /** The 8086 pushes SP after decrementing it; 286 and later push the value before. */
  readonly pushSpDecremented: boolean;
  /** 386 and later: 32-bit operand and address sizes, FS/GS, the 0F 386 instructions. */
  readonly has32: boolean;
  /** 486 and later: BSWAP, XADD, CMPXCHG, INVD/WBINVD/INVLPG. */
  readonly has486: boolean;
  /** CPUID exists (late 486 and later; the 486 model here is a late one with CPUID). */
  readonly hasCpuid: boolean;
  /** Pentium and later: CMPXCHG8B. */
  readonly hasPentium: boolean;
  /** P6 and later: CMOVcc, long NOP (0F 1F). */
  readonly hasP6: boolean;
  /** FLAGS bits that read as 1 whatever is written (bit 1 always; bits 12-15 on the 8086). */
  readonly flagsFixedOne: number;
  /** EFLAGS bits software can change in real mode. */
  readonly flagsWritable: number;
  /** CPUID leaf 1 EAX (family/model/stepping) when `hasCpuid`. */
  readonly cpuidSignature: number;
  /** The CPUID.1:EDX features this model reports: only what this package implements. */
  readonly features: readonly CpuidFeature[];
  /** `features` as CPUID.1:EDX bits (the APIC bit is added while a local APIC is attached and enabled). */
  readonly cpuidFeatures: number;
  /** The highest basic CPUID leaf (leaf 0 EAX); higher leaves answer as this one does. */
  readonly cpuidMaxLeaf: number;
  /** CPUID leaf 2 (EAX, EBX, ECX, EDX: cache and TLB descriptors) when `cpuidMaxLeaf` >= 2. */
  readonly cpuidLeaf2: readonly [number, number, number, number];
  /** CR4 exists (MOV to or from CR4 is #UD without it). */
  readonly hasCr4: boolean;
  /** CR4 bits MOV CR4 may set (a write with any other bit is #GP(0)); follows `features`. */
  readonly cr4Writable: number;
  /** The MSRs (RDMSR/WRMSR/RDTSC): 0 none (#UD), 5 the Pentium's TSC, 6 the P6 set (msr.ts). */
  readonly msrSet: number;
  /** The microcode update revision IA32_BIOS_SIGN_ID reports after CPUID leaf 1 (none loaded: 0). */
  readonly microcodeRevision: number;
}

/**
 * CPUID.1:EDX feature flags by bit (Intel SDM vol. 2A, CPUID, table 3-11). A model lists only the
 * features this package implements.
 */
export const CPUID_FEATURE_BITS = {
  fpu: 0,
  vme: 1,
  de: 2,
  pse: 3,
  tsc: 4,
  msr: 5,
  pae: 6,
  mce: 7,
  cx8: 8,
  apic: 9,
  sep: 11,
  mtrr: 12,
  pge: 13,
  mca: 14,
  cmov: 15,
  pat: 16,
  pse36: 17,
  mmx: 23,
  fxsr: 24,
  sse: 25,
  sse2: 26,
} as const;

export type CpuidFeature = keyof typeof CPUID_FEATURE_BITS;

/** CR4 bits (Intel SDM vol. 3A, 2.5). */
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;

/** The CR4 bit each feature brings (PCE comes with RDPMC, which the P6 has). */
const CR4_BY_FEATURE: Partial<Record<CpuidFeature, number>> = {
  vme: CR4_VME | CR4_PVI,
  tsc: CR4_TSD,
  de: CR4_DE,
  pse: CR4_PSE,
  pae: CR4_PAE,
  mce: CR4_MCE,
  pge: CR4_PGE,
  fxsr: CR4_OSFXSR,
  sse: CR4_OSXMMEXCPT,
};

function featureBits(features: readonly CpuidFeature[]): number {
  return features.reduce((bits, f) => bits | (1 << CPUID_FEATURE_BITS[f]), 0);
}

function cr4Bits(features: readonly CpuidFeature[], generation: number): number {
  return features.reduce((bits, f) => bits | (CR4_BY_FEATURE[f] ?? 0), generation >= 6 ? CR4_PCE : 0);
}

const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9;
const DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, AC = 1 << 18, ID = 1 << 21;
const BASIC = CF | PF | AF | ZF | SF | TF | IF | DF | OF;

const base = {
  opcodeAliases8086: false,
  maskShiftCount: true,
  divideErrorPushesNext: false,
  pushSpDecremented: false,
  has32: true,
  has486: false,
  hasCpuid: false,
  hasPentium: false,
  hasP6: false,
  flagsFixedOne: 0x2,
  cpuidSignature: 0,
  features: [] as readonly CpuidFeature[],
  cpuidFeatures: 0,
  cr4Writable: 0,
  cpuidMaxLeaf: 0,
  cpuidLeaf2: [0, 0, 0, 0] as const,
  hasCr4: false,
  msrSet: 0,
  microcodeRevision: 0,
};

/**
 * The Pentium II's leaf 2 (Intel AP-485, "CPUID leaf 2" example): one call; descriptors 01h (ITLB
 * 4 KiB pages, 32 entries), 02h (ITLB 4 MiB, 2), 03h (DTLB 4 KiB, 64), 43h (L2 512 KiB, 4-way, 32-byte
 * lines), 08h (L1I 16 KiB), 04h (DTLB 4 MiB, 8), 0Ch (L1D 16 KiB).
 */
const P6_LEAF2 = [0x0302_0101, 0, 0, 0x0c04_0843] as const;

/** The 486DX: its on-chip FPU. */
const I486_FEATURES: readonly CpuidFeature[] = ['fpu'];
/** Features of the Pentium (P54C) this package implements (not machine checks or the APIC). */
const PENTIUM_FEATURES: readonly CpuidFeature[] = [...I486_FEATURES, 'vme', 'de', 'pse', 'tsc', 'msr', 'cx8'];
/**
 * Features of the P6 (Pentium II class) this package implements; the APIC bit follows the attached
 * APIC. Not offered: MCE/MCA, MMX.
 */
const P6_FEATURES: readonly CpuidFeature[] = [...PENTIUM_FEATURES, 'pae', 'sep', 'mtrr', 'pge', 'cmov', 'pat', 'pse36', 'fxsr'];

const MODELS: Readonly<Record<CpuModelName, CpuModel>> = {
  '8086': {
    ...base,
    name: '8086',
    generation: 0,
    opcodeAliases8086: true,
    maskShiftCount: false,
    divideErrorPushesNext: true,
    pushSpDecremented: true,
    has32: false,
    flagsFixedOne: 0xf002,
    flagsWritable: BASIC,
  },
  // The 286 in real mode: bits 12-15 read as 0 and cannot be set.
  '286': { ...base, name: '286', generation: 2, has32: false, flagsWritable: BASIC },
  '386': { ...base, name: '386', generation: 3, flagsWritable: BASIC | IOPL | NT },
  '486': {
    ...base,
    name: '486',
    generation: 4,
    has486: true,
    hasCpuid: true,
    flagsWritable: BASIC | IOPL | NT | AC | ID,
    cpuidSignature: 0x0000_0480, // family 4, model 8 (486DX4 class, the first with CPUID)
    features: I486_FEATURES,
    cpuidFeatures: featureBits(I486_FEATURES),
    cpuidMaxLeaf: 1,
  },
  pentium: {
    ...base,
    name: 'pentium',
    generation: 5,
    has486: true,
    hasCpuid: true,
    hasPentium: true,
    flagsWritable: BASIC | IOPL | NT | AC | ID,
    cpuidSignature: 0x0000_0543, // family 5, model 4, stepping 3
    features: PENTIUM_FEATURES,
    cpuidFeatures: featureBits(PENTIUM_FEATURES),
    cpuidMaxLeaf: 1,
    hasCr4: true,
    cr4Writable: cr4Bits(PENTIUM_FEATURES, 5),
    msrSet: 5,
  },
  p6: {
    ...base,
    name: 'p6',
    generation: 6,
    has486: true,
    hasCpuid: true,
    hasPentium: true,
    hasP6: true,
    flagsWritable: BASIC | IOPL | NT | AC | ID,
    cpuidSignature: 0x0000_0652, // family 6, model 5, stepping 2 (Pentium II, Deschutes)
    features: P6_FEATURES,
    cpuidFeatures: featureBits(P6_FEATURES),
    cpuidMaxLeaf: 2,
    cpuidLeaf2: P6_LEAF2,
    hasCr4: true,
    cr4Writable: cr4Bits(P6_FEATURES, 6),
    msrSet: 6,
  },
};

/** The model record for `name`; an unknown name is a `CpuError('UnknownModel')` listing the known ones. */
export function cpuModel(name: string): CpuModel {
  const model = (MODELS as Record<string, CpuModel | undefined>)[name];
  if (model === undefined) {
    throw new CpuError('UnknownModel', `unknown CPU model '${name}' (known: ${CPU_MODEL_NAMES.join(', ')})`);
  }
  return model;
}
