import { describe, expect, it } from 'vitest';
import { Debugger, type TraceRecord } from './debugger.js';
import { CpuError } from './errors.js';
import { CODE_SEG, testMachine } from './test-machine.js';

// 0: inc ax / 1: inc bx / 2: jmp 0 (a loop at linear 10000h)
const LOOP = [0x40, 0x43, 0xeb, 0xfc];
const BASE = CODE_SEG << 4;

describe('Debugger', () => {
  it('stops before the instruction at a breakpoint and runs it on the next run', () => {
    const { cpu } = testMachine('p6', LOOP);
    const dbg = new Debugger(cpu);
    dbg.addBreakpoint(BASE + 1);
    expect(dbg.run(100)).toBe('breakpoint');
    expect([dbg.hit, cpu.eip, cpu.instructions, cpu.getState().eax & 0xffff, cpu.getState().ebx & 0xffff]).toEqual([BASE + 1, 1, 1, 1, 0]);
    expect(dbg.run(100)).toBe('breakpoint'); // inc bx, jmp, inc ax, then the breakpoint again
    expect([cpu.instructions, cpu.getState().eax & 0xffff, cpu.getState().ebx & 0xffff]).toEqual([4, 2, 1]);
    expect(cpu.run(2)).toBe('budget'); // resuming through Cpu.run works the same way
    expect(cpu.eip).toBe(0);
  });

  it('steps one instruction, also at a breakpoint, and honours the budget', () => {
    const { cpu } = testMachine('p6', LOOP);
    const dbg = new Debugger(cpu);
    dbg.addBreakpoint(BASE);
    expect(dbg.step()).toBe('budget');
    expect([cpu.eip, cpu.instructions]).toEqual([1, 1]);
    expect(dbg.run(2)).toBe('budget');
    expect(cpu.eip).toBe(0);
    expect(dbg.run(10)).toBe('breakpoint');
    expect(cpu.instructions).toBe(3);
  });

  it('adds, lists and removes breakpoints; a CPU without any runs unwatched', () => {
    const { cpu } = testMachine('p6', LOOP);
    const dbg = new Debugger(cpu);
    expect(cpu.watch).toBeNull();
    dbg.addBreakpoint(BASE + 2);
    dbg.addBreakpoint(0xffff_fff0);
    dbg.addBreakpoint(BASE + 2);
    expect(dbg.breakpoints()).toEqual([BASE + 2, 0xffff_fff0]);
    expect(cpu.watch).toBe(dbg);
    expect(dbg.removeBreakpoint(BASE + 2)).toBe(true);
    expect(dbg.removeBreakpoint(BASE + 2)).toBe(false);
    dbg.clearBreakpoints();
    expect(dbg.breakpoints()).toEqual([]);
    expect(cpu.watch).toBeNull();
    expect(dbg.run(1000)).toBe('budget');
    for (const bad of [-1, 0x1_0000_0000, 1.5, Number.NaN, '16' as unknown as number]) {
      expect(() => dbg.addBreakpoint(bad)).toThrow(CpuError);
    }
  });

  it('breaks on the linear address, whatever CS:EIP form reaches it', () => {
    // jmp 0FFFh:0013h (linear 10003h, the jmp of the loop, reached through another segment)
    const { cpu } = testMachine('p6', [0xea, 0x13, 0x00, 0xff, 0x0f]);
    const dbg = new Debugger(cpu);
    dbg.addBreakpoint(BASE + 0x03);
    expect(dbg.run(10)).toBe('breakpoint');
    expect([cpu.segBase[1], cpu.eip]).toEqual([0xfff0, 0x13]);
  });

  it('traces each executed instruction with the registers before it runs', () => {
    const { cpu } = testMachine('p6', LOOP);
    const dbg = new Debugger(cpu);
    const seen: TraceRecord[] = [];
    dbg.setTrace((r) => seen.push({ ...r }));
    dbg.addBreakpoint(BASE + 2);
    expect(dbg.run(10)).toBe('breakpoint');
    expect(seen.map((r) => [r.linear, r.cs, r.eip, r.eax & 0xffff, r.ebx & 0xffff, r.instructions])).toEqual([
      [BASE, CODE_SEG, 0, 0, 0, 0],
      [BASE + 1, CODE_SEG, 1, 1, 0, 1],
    ]);
    expect(seen[0].eflags & 2).toBe(2);
    expect(seen[0].esp).toBe(0xfff0);
    dbg.clearBreakpoints();
    expect(cpu.watch).toBe(dbg); // the trace keeps it armed
    dbg.setTrace(null);
    expect(cpu.watch).toBeNull();
    expect(() => dbg.setTrace(42 as never)).toThrow(CpuError);
  });
});
