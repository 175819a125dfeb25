import { describe, expect, it } from 'vitest';
import { CF, OF } from './flags.js';
import type { CpuModelName } from './models.js';
import { testMachine } from './test-machine.js';

function exec(model: CpuModelName, code: number[], regs: Partial<Record<'eax' | 'ecx' | 'eflags', number>>): { eax: number; flags: number } {
  const { cpu } = testMachine(model, [...code, 0xf4]);
  cpu.setState(regs);
  cpu.run(10);
  const s = cpu.getState();
  return { eax: s.eax, flags: s.eflags & (CF | OF) };
}

describe('shifts and rotates', () => {
  it('32-bit ROL, ROR, RCL, RCR, SAR', () => {
    expect(exec('386', [0x66, 0xc1, 0xc0, 0x04], { eax: 0x80000001 })).toEqual({ eax: 0x00000018, flags: 0 }); // rol eax, 4
    expect(exec('386', [0x66, 0xd1, 0xc8], { eax: 0x00000001 })).toEqual({ eax: 0x80000000, flags: CF | OF }); // ror eax, 1
    expect(exec('386', [0x66, 0xd1, 0xd0], { eax: 0x80000000, eflags: 2 | CF })).toEqual({ eax: 0x00000001, flags: CF | OF }); // rcl eax, 1
    expect(exec('386', [0x66, 0xd1, 0xd8], { eax: 0x00000001, eflags: 2 })).toEqual({ eax: 0, flags: CF }); // rcr eax, 1
    expect(exec('386', [0x66, 0xc1, 0xf8, 0x1f], { eax: 0x80000000 })).toEqual({ eax: 0xffffffff, flags: 0 }); // sar eax, 31
  });

  it('counts are masked to 5 bits from the 186 on; the 8086 shifts the full count', () => {
    // shl ax, cl with cl = 33: 8086 shifts 33 times (0); later CPUs shift 1
    expect(exec('8086', [0xd3, 0xe0], { eax: 0x4001, ecx: 33 }).eax & 0xffff).toBe(0);
    expect(exec('286', [0xd3, 0xe0], { eax: 0x4001, ecx: 33 }).eax & 0xffff).toBe(0x8002);
    // shr ax, cl with cl = 16: all bits out, CF = the last bit shifted (bit 15)
    const shr = exec('386', [0xd3, 0xe8], { eax: 0x8000, ecx: 16 }); // OF is undefined for counts above 1
    expect([shr.eax & 0xffff, shr.flags & CF]).toEqual([0, CF]);
  });

  it('a zero count changes neither the operand nor the flags', () => {
    expect(exec('p6', [0xd3, 0xe0], { eax: 0x1234, ecx: 32, eflags: 2 | CF | OF })).toEqual({ eax: 0x1234, flags: CF | OF });
  });

  it('RCL by 9 on a byte is a full rotation through CF', () => {
    expect(exec('p6', [0xd2, 0xd0], { eax: 0x81, ecx: 9, eflags: 2 }).eax & 0xff).toBe(0x81); // rcl al, cl
  });
});
