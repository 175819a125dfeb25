import { PhysicalMemory } from '@tsvm/mmu';
import type { InterruptSource } from './bus.js';
import { Cpu } from './interpreter.js';
import type { CpuModelName } from './models.js';

/** Where test code runs: CS = 0x1000 (code at physical 0x10000), SS:SP = 0x2000:0xFFF0, DS = 0x3000. */
export const CODE_SEG = 0x1000;
export const STACK_SEG = 0x2000;
export const DATA_SEG = 0x3000;

export interface TestMachine {
  cpu: Cpu;
  mem: PhysicalMemory;
  /** Writes bytes at a physical address. */
  poke(addr: number, bytes: number[]): void;
}

/** A CPU on 2 MiB of RAM with `code` at CS:0 and the usual real-mode segments loaded. */
export function testMachine(model: CpuModelName, code: number[], interrupts?: InterruptSource): TestMachine {
  const mem = new PhysicalMemory({ ramSize: 2 << 20 });
  const cpu = new Cpu({ model, memory: mem, ...(interrupts ? { interrupts } : {}) });
  const poke = (addr: number, bytes: number[]): void => bytes.forEach((b, i) => mem.write8(addr + i, b));
  poke(CODE_SEG << 4, code);
  cpu.setState({
    cs: { selector: CODE_SEG },
    eip: 0,
    ss: { selector: STACK_SEG },
    esp: 0xfff0,
    ds: { selector: DATA_SEG },
    es: { selector: DATA_SEG },
  });
  return { cpu, mem, poke };
}
