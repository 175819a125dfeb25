import { describe, expect, it } from 'vitest';
import { AF, CF, OF, PF, SF, ZF } from './flags.js';
import { testMachine } from './test-machine.js';

/** Runs `code` (ending in HLT) from the given AX/BX and returns the arithmetic flags. */
function flagsAfter(code: number[], ax: number, bx: number, model: '8086' | 'p6' = 'p6'): number {
  const { cpu } = testMachine(model, [...code, 0xf4]);
  cpu.setState({ eax: ax, ebx: bx });
  expect(cpu.run(100)).toBe('halt');
  return cpu.getState().eflags & (CF | PF | AF | ZF | SF | OF);
}

describe('lazy flags', () => {
  it('ADD sets carry, overflow, auxiliary carry by size', () => {
    expect(flagsAfter([0x00, 0xd8], 0xff, 0x01)).toBe(CF | ZF | AF | PF); // add al, bl: ff+01
    expect(flagsAfter([0x00, 0xd8], 0x7f, 0x01)).toBe(OF | SF | AF); // 7f+01 = 80
    expect(flagsAfter([0x01, 0xd8], 0x7fff, 0x0001)).toBe(OF | SF | AF | PF); // add ax, bx
    expect(flagsAfter([0x66, 0x01, 0xd8], 0xffffffff, 1)).toBe(CF | ZF | AF | PF); // add eax, ebx
  });

  it('SUB/CMP borrow and signed overflow', () => {
    expect(flagsAfter([0x38, 0xd8], 0x00, 0x01)).toBe(CF | SF | AF | PF); // cmp al, bl: 0-1 = ff
    expect(flagsAfter([0x39, 0xd8], 0x8000, 0x0001)).toBe(OF | PF | AF); // 8000-1 = 7fff
  });

  it('INC and DEC keep CF', () => {
    // stc; inc al (al=ff -> 00): CF stays 1, ZF set
    expect(flagsAfter([0xf9, 0xfe, 0xc0], 0xff, 0)).toBe(CF | ZF | AF | PF);
    // clc; dec al (al=80 -> 7f): OF set, CF stays 0
    expect(flagsAfter([0xf8, 0xfe, 0xc8], 0x80, 0)).toBe(OF | AF);
  });

  it('logic ops clear CF and OF', () => {
    expect(flagsAfter([0xf9, 0x20, 0xd8], 0xf0, 0x0f)).toBe(ZF | PF); // stc; and al, bl
  });

  it('SAHF and LAHF round-trip through AH', () => {
    const { cpu } = testMachine('p6', [0x9e, 0x9f, 0xf4]); // sahf; lahf; hlt
    cpu.setState({ eax: 0xd500 });
    cpu.run(10);
    expect(cpu.getState().eflags & 0xff).toBe(0xd7);
    expect((cpu.getState().eax >> 8) & 0xff).toBe(0xd7);
  });

  it('the 8086 keeps FLAGS bits 12-15 set; later models clear them in real mode', () => {
    const code = [0x31, 0xc0, 0x50, 0x9d, 0x9c, 0x58, 0xf4]; // xor ax,ax; push ax; popf; pushf; pop ax; hlt
    const a = testMachine('8086', code);
    a.cpu.run(10);
    expect(a.cpu.getState().eax & 0xffff).toBe(0xf002);
    const b = testMachine('286', code);
    b.cpu.run(10);
    expect(b.cpu.getState().eax & 0xffff).toBe(0x0002);
  });
});
