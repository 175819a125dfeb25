import { describe, expect, it } from 'vitest';
import type { MooState, MooTest } from './format.js';
import { MooRunner } from './runner.js';

function state(regs: MooState['regs'], ram: number[], regMasks?: MooState['regMasks']): MooState {
  return { regs, regMasks, ram: Uint32Array.from(ram), queue: undefined };
}

function test(initial: MooState, final: MooState): MooTest {
  return { index: 0, name: 't', bytes: new Uint8Array(0), initial, final, cycleCount: 0, exception: undefined, hash: '' };
}

const base32 = { eax: 0x7fffffff, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0, esp: 0x100, cs: 0x1000, ds: 0, es: 0, fs: 0, gs: 0, ss: 0, eip: 0, eflags: 2, cr0: 0x10, cr3: 0, dr6: 0, dr7: 0 };

describe('MooRunner', () => {
  it('runs tests with 32-bit register files (RG32) and compares the changed registers', () => {
    const runner = new MooRunner('386');
    const code = [0x10000, 0x66, 0x10001, 0x05, 0x10002, 0x01, 0x10003, 0x00, 0x10004, 0x00, 0x10005, 0x00]; // add eax, 1
    const ok = runner.run(test(state(base32, code), state({ eax: 0x80000000, eip: 6, eflags: 0x0896 }, code)), 0xffff);
    expect(ok).toEqual({ passed: true, differences: [] });
    const bad = runner.run(test(state(base32, code), state({ eax: 0x80000001, eip: 6, eflags: 0x0896 }, code)), 0xffff);
    expect(bad.differences).toEqual([{ where: 'eax', expected: 0x80000001, actual: 0x80000000 }]);
  });

  it('applies the flags mask and per-test register masks', () => {
    const runner = new MooRunner('386');
    const code = [0x10000, 0x66, 0x10001, 0x05, 0x10002, 0x01, 0x10003, 0x00, 0x10004, 0x00, 0x10005, 0x00];
    const wrongFlags = state({ eax: 0x80000000, eip: 6, eflags: 0x0096 }, code); // OF expected clear
    expect(runner.run(test(state(base32, code), wrongFlags), 0xffff).passed).toBe(false);
    expect(runner.run(test(state(base32, code), wrongFlags), 0xf7ff).passed).toBe(true);
    const masked = state({ eax: 0x80000000, eip: 6, eflags: 0x0096 }, code, { eflags: 0xfffff7ff });
    expect(runner.run(test(state(base32, code), masked), 0xffff).passed).toBe(true);
  });
});
