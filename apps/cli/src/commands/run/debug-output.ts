import type { Cpu, TraceRecord } from '@tsvm/cpu';
import { CliError } from '../../errors.js';

/** What `--break` does at a breakpoint: print the registers and stop the run, or print and go on. */
export type BreakAction = 'stop' | 'print';
export const BREAK_ACTIONS: readonly BreakAction[] = ['stop', 'print'];

const MAX_LINEAR = 0xffffffff;

function hex(value: number, digits = 8): string {
  return (value >>> 0).toString(16).padStart(digits, '0');
}

/**
 * One `--break` address: a linear address in hex (`0xFEE00000`, `fee00000h`) or decimal, or a
 * real-mode `SEGMENT:OFFSET` pair in hex (`f000:fff0` is linear 0xFFFF0).
 */
export function parseBreakAddress(text: string): number {
  const t = text.trim().toLowerCase();
  let value = Number.NaN;
  const pair = /^([0-9a-f]{1,4}):([0-9a-f]{1,8})$/.exec(t);
  if (pair !== null) value = parseInt(pair[1], 16) * 16 + parseInt(pair[2], 16);
  else if (/^0x[0-9a-f]{1,8}$/.test(t)) value = parseInt(t.slice(2), 16);
  else if (/^[0-9a-f]{1,8}h$/.test(t)) value = parseInt(t.slice(0, -1), 16);
  else if (/^\d{1,10}$/.test(t)) value = Number(t);
  if (!(value >= 0 && value <= MAX_LINEAR)) {
    throw new CliError('Usage', `--break: '${text}' is not a linear address (0x1234, 1234h, decimal, or SEG:OFF in hex) up to 0xFFFFFFFF`);
  }
  return value;
}

/** The general registers and EFLAGS on one line (`--trace=regs`). */
export function registerLine(r: TraceRecord): string {
  return `EAX=${hex(r.eax)} EBX=${hex(r.ebx)} ECX=${hex(r.ecx)} EDX=${hex(r.edx)} ESI=${hex(r.esi)} EDI=${hex(r.edi)} EBP=${hex(r.ebp)} ESP=${hex(r.esp)} EFL=${hex(r.eflags)}`;
}

/** What `--break` prints at a breakpoint: where, the instruction about to run, and the CPU's registers. */
export function breakpointReport(address: number, instruction: string, cpu: Cpu): string {
  const s = cpu.getState();
  const seg = (name: string, v: { selector: number; base: number }): string => `${name}=${hex(v.selector, 4)}(${hex(v.base)})`;
  return [
    `breakpoint at 0x${hex(address)} after ${cpu.instructions} instructions: ${instruction}`,
    `  EAX=${hex(s.eax)} EBX=${hex(s.ebx)} ECX=${hex(s.ecx)} EDX=${hex(s.edx)}`,
    `  ESI=${hex(s.esi)} EDI=${hex(s.edi)} EBP=${hex(s.ebp)} ESP=${hex(s.esp)}`,
    `  EIP=${hex(s.eip)} EFL=${hex(s.eflags)} CPL=${cpu.cpl} CR0=${hex(s.cr0)} CR2=${hex(s.cr2)} CR3=${hex(s.cr3)} CR4=${hex(s.cr4)}`,
    `  ${seg('CS', s.cs)} ${seg('SS', s.ss)} ${seg('DS', s.ds)} ${seg('ES', s.es)} ${seg('FS', s.fs)} ${seg('GS', s.gs)}`,
  ].join('\n');
}
