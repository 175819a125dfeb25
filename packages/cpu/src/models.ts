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
  /** CPUID leaf 1 EDX feature bits: only what this package implements. */
  readonly cpuidFeatures: number;
}

const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9;
const DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, AC = 1 << 18, ID = 1 << 21;
const BASIC = CF | PF | AF | ZF | SF | TF | IF | DF | OF;

// CPUID.1:EDX bits (Intel SDM vol. 2A, CPUID, table 3-11). Only features this package implements
// (TSC, MSR, PAE and the rest arrive with protected mode and the machine's clock).
const FEAT_CX8 = 1 << 8;
const FEAT_CMOV = 1 << 15;

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
  cpuidFeatures: 0,
};

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
    cpuidFeatures: FEAT_CX8,
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
    cpuidSignature: 0x0000_0633, // family 6, model 3 (Pentium II class)
    cpuidFeatures: FEAT_CX8 | FEAT_CMOV,
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
