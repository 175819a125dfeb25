import { CS, type Cpu } from '@tsvm/cpu';
import { ACCESS_FETCH, type PhysicalMemory } from '@tsvm/mmu';
import { decode, formatIntel, Instruction } from '@tsvm/x86-decoder';

const MAX_INSTRUCTION = 15;
const PAGE_MASK = 0xfff;
/** D/B bit of the hidden CS attributes: a 32-bit code segment. */
const ATTR_DB = 0x4000;
const bytes = new Uint8Array(MAX_INSTRUCTION);
const insn = new Instruction();

function hex(value: number, digits: number): string {
  return (value >>> 0).toString(16).padStart(digits, '0');
}

/**
 * The physical address of the instruction byte at `linear`, through the page tables when paging is
 * on (a walk without side effects: no accessed bits, no TLB fill), or -1 where nothing is mapped.
 */
function physicalOf(cpu: Cpu, linear: number): number {
  if (!cpu.paging || cpu.mmu === null) return (linear & cpu.a20Mask) >>> 0;
  return cpu.mmu.debugTranslate(linear, 0, ACCESS_FETCH).physical;
}

/**
 * The instruction at CS:EIP as one trace line: `cs:eip  bytes  mnemonic operands`. Reads guest memory
 * through the physical bus (translating linear addresses when paging is on), so it has no side effects
 * on the guest; bytes on a page that does not translate read as 0.
 */
export function formatInstructionAt(cpu: Cpu, memory: PhysicalMemory): string {
  const is32 = (cpu.segAttr[CS] & ATTR_DB) !== 0;
  const eip = cpu.eip >>> 0;
  const linear = (cpu.segBase[CS] + eip) >>> 0;
  let page = -1;
  let base = -1;
  for (let i = 0; i < MAX_INSTRUCTION; i++) {
    const lin = (linear + i) >>> 0;
    if (page === -1 || (lin & PAGE_MASK) === 0) {
      page = lin >>> 12;
      const p = physicalOf(cpu, lin);
      base = p < 0 ? -1 : p - (lin & PAGE_MASK);
    }
    bytes[i] = base < 0 ? 0 : memory.read8(base + (lin & PAGE_MASK));
  }
  decode(bytes, 0, eip, is32 ? 32 : 16, insn);
  const length = Math.max(1, insn.length);
  let code = '';
  for (let i = 0; i < length; i++) code += hex(bytes[i], 2);
  return `${hex(cpu.segSel[CS], 4)}:${hex(eip, is32 ? 8 : 4)}  ${code.padEnd(2 * 8)}  ${formatIntel(insn)}`;
}
