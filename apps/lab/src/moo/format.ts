/**
 * The MOO single-step test format (Machine Opcode Operation, v1.1): the data model a reader produces.
 * One file holds the tests of one opcode (or opcode + ModR/M reg); each test is an initial and a final
 * machine state around one instruction.
 */

/** The 16-bit register file in the order of the `REGS`/`RMSK` bitmask (bit 0 = ax ... bit 13 = flags). */
export const MOO_REGS16 = ['ax', 'bx', 'cx', 'dx', 'cs', 'ss', 'ds', 'es', 'sp', 'bp', 'si', 'di', 'ip', 'flags'] as const;
export type MooReg16 = (typeof MOO_REGS16)[number];

/** The 32-bit register file in the order of the `RG32`/`RM32` bitmask (bit 0 = cr0 ... bit 19 = dr7). */
export const MOO_REGS32 = [
  'cr0', 'cr3', 'eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp',
  'cs', 'ds', 'es', 'fs', 'gs', 'ss', 'eip', 'eflags', 'dr6', 'dr7',
] as const;
export type MooReg32 = (typeof MOO_REGS32)[number];

/** Register values by name; a final state holds only the registers the instruction changed. */
export type MooRegisters = Partial<Record<MooReg16 | MooReg32, number>>;

export interface MooState {
  /** Register values (16-bit `REGS` and/or 32-bit `RG32`, merged by name). */
  regs: MooRegisters;
  /** Masks of defined bits per register (`RMSK`/`RM32` inside this state), when present. */
  regMasks: MooRegisters | undefined;
  /** Memory bytes as flat pairs: `ram[2*i]` is a physical address, `ram[2*i+1]` the byte there. */
  ram: Uint32Array;
  /** Prefetch queue contents, when present. */
  queue: Uint8Array | undefined;
}

export interface MooException {
  /** Vector number of the exception or interrupt the test took. */
  vector: number;
  /** Physical address of the flags image pushed on the stack. */
  flagsAddress: number;
}

export interface MooTest {
  index: number;
  name: string;
  bytes: Uint8Array;
  initial: MooState;
  final: MooState;
  /** Number of bus cycles recorded (the cycles themselves are not decoded). */
  cycleCount: number;
  exception: MooException | undefined;
  /** SHA-1 of the test as 40 lower-case hex digits (the key of revocation lists), '' when absent. */
  hash: string;
}

export interface MooMeta {
  /** Version of the test collection the file belongs to. */
  major: number;
  minor: number;
  cpuType: number;
  /** The opcode under test, 0xFFFFFFFF when the file mixes opcodes. */
  opcode: number;
  mnemonic: string;
  testCount: number;
  cpuMode: number;
}

export interface MooFile {
  formatMajor: number;
  formatMinor: number;
  /** The CPU the tests were captured on: '8088', '8086', 'V20', 'V30', '186', 'C286', '386E'. */
  cpuId: string;
  meta: MooMeta | undefined;
  /** File-wide masks of defined register bits (top-level `RMSK`/`RM32`), when present. */
  regMasks: MooRegisters | undefined;
  tests: MooTest[];
}
