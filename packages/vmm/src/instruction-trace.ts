import { CS, type Cpu } from '@tsvm/cpu';
import type { PhysicalMemory } from '@tsvm/mmu';
import { decode, formatIntel, Instruction } from '@tsvm/x86-decoder';

const MAX_INSTRUCTION = 15;
/** D/B bit of the hidden CS attributes: a 32-bit code segment. */
const ATTR_DB = 0x4000;
const bytes = new Uint8Array(MAX_INSTRUCTION);
const insn = new Instruction();

function hex(value: number, digits: number): string {
  return (value >>> 0).toString(16).padStart(digits, '0');
}

/**
 * The instruction at CS:EIP as one trace line: `cs:eip  bytes  mnemonic operands`. Reads guest memory
 * through the physical bus (no paging yet), so it has no side effects on the guest.
 */
export function formatInstructionAt(cpu: Cpu, memory: PhysicalMemory): string {
  const is32 = (cpu.segAttr[CS] & ATTR_DB) !== 0;
  const eip = cpu.eip >>> 0;
  const linear = (cpu.segBase[CS] + eip) >>> 0;
  for (let i = 0; i < MAX_INSTRUCTION; i++) bytes[i] = memory.read8((linear + i) & (cpu.a20Mask >>> 0));
  decode(bytes, 0, eip, is32 ? 32 : 16, insn);
  const length = Math.max(1, insn.length);
  let code = '';
  for (let i = 0; i < length; i++) code += hex(bytes[i], 2);
  return `${hex(cpu.segSel[CS], 4)}:${hex(eip, is32 ? 8 : 4)}  ${code.padEnd(2 * 8)}  ${formatIntel(insn)}`;
}
