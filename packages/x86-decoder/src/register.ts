/**
 * Registers as small integers: `class << 5 | index`. `reg & 31` is the register's number inside its
 * class (what an interpreter indexes its register file with) and `reg >> 5` its class.
 *
 * 8-bit registers keep the legacy encoding: 0-7 are AL CL DL BL AH CH DH BH, 8-15 are R8L-R15L and
 * 16-19 are SPL BPL SIL DIL (only reachable with a REX prefix).
 */
export const RegClass = {
  None: 0,
  Gpr8: 1,
  Gpr16: 2,
  Gpr32: 3,
  Gpr64: 4,
  Segment: 5,
  Control: 6,
  Debug: 7,
  Test: 8,
  St: 9,
  Mm: 10,
  Xmm: 11,
  Ymm: 12,
  Zmm: 13,
  K: 14,
  Bnd: 15,
  Tmm: 16,
  Ip: 17,
} as const;
export type RegClass = (typeof RegClass)[keyof typeof RegClass];

const GPR8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh', 'r8l', 'r9l', 'r10l', 'r11l', 'r12l', 'r13l', 'r14l', 'r15l', 'spl', 'bpl', 'sil', 'dil'];
const GPR16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const GPR32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const GPR64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const SEG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

function numbered(prefix: string, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(prefix + String(i));
  return out;
}

/** Names of every register by class, index = number inside the class. */
const CLASS_NAMES: readonly (readonly string[])[] = [
  [],
  GPR8,
  GPR16,
  GPR32,
  GPR64,
  SEG,
  numbered('cr', 16),
  numbered('dr', 16),
  numbered('tr', 8),
  numbered('st', 8),
  numbered('mm', 8),
  numbered('xmm', 32),
  numbered('ymm', 32),
  numbered('zmm', 32),
  numbered('k', 8),
  numbered('bnd', 4),
  numbered('tmm', 8),
  ['eip', 'rip'],
];

/** Lower-case name of every register value (`''` for values that name no register; `'none'` for 0). */
export const REGISTER_NAMES: readonly string[] = (() => {
  const names: string[] = new Array<string>(CLASS_NAMES.length << 5).fill('');
  names[0] = 'none';
  for (let c = 1; c < CLASS_NAMES.length; c++) {
    const list = CLASS_NAMES[c] ?? [];
    for (let i = 0; i < list.length; i++) names[(c << 5) | i] = list[i] ?? '';
  }
  return names;
})();

/** Register value from a class and an index inside it. */
export function reg(cls: RegClass, index: number): number {
  return (cls << 5) | index;
}

/** Register value by lower-case name (`eax`, `st3`, `xmm17`), or -1 when there is no such register. */
export function registerByName(name: string): number {
  return REGISTER_NAMES.indexOf(name.toLowerCase());
}

/** The most used register values, for readable code in consumers. */
export const Register = {
  None: 0,
  AL: 32 + 0, CL: 32 + 1, DL: 32 + 2, BL: 32 + 3, AH: 32 + 4, CH: 32 + 5, DH: 32 + 6, BH: 32 + 7,
  AX: 64 + 0, CX: 64 + 1, DX: 64 + 2, BX: 64 + 3, SP: 64 + 4, BP: 64 + 5, SI: 64 + 6, DI: 64 + 7,
  EAX: 96 + 0, ECX: 96 + 1, EDX: 96 + 2, EBX: 96 + 3, ESP: 96 + 4, EBP: 96 + 5, ESI: 96 + 6, EDI: 96 + 7,
  RAX: 128 + 0, RCX: 128 + 1, RDX: 128 + 2, RBX: 128 + 3, RSP: 128 + 4, RBP: 128 + 5, RSI: 128 + 6, RDI: 128 + 7,
  ES: 160 + 0, CS: 160 + 1, SS: 160 + 2, DS: 160 + 3, FS: 160 + 4, GS: 160 + 5,
  ST0: 288 + 0,
  EIP: 544 + 0, RIP: 544 + 1,
} as const;
