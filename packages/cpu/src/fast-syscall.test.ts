import { describe, expect, it } from 'vitest';
import { GP, UD } from './cpu.js';
import { IF, RF } from './flags.js';
import { MSR_SYSENTER_CS, MSR_SYSENTER_EIP, MSR_SYSENTER_ESP } from './msr.js';
import { FLAT_CODE, flatMachine, SEL_CODE0, type FlatMachine } from './test-flat-machine.js';

const SYSENTER = [0x0f, 0x34];
const SYSEXIT = [0x0f, 0x35];
const KERNEL_EIP = 0x12000;
const KERNEL_ESP = 0x88000;

function withSysenterMsrs(m: FlatMachine, cs: number): void {
  m.cpu.setState({
    msrs: [
      { index: MSR_SYSENTER_CS, high: 0, low: cs },
      { index: MSR_SYSENTER_ESP, high: 0, low: KERNEL_ESP },
      { index: MSR_SYSENTER_EIP, high: 0, low: KERNEL_EIP },
    ],
  });
}

describe('SYSENTER and SYSEXIT', () => {
  it('SYSENTER from CPL 3 enters CPL 0 with flat segments from SYSENTER_CS, clearing IF and RF', () => {
    const m = flatMachine('p6', SYSENTER, 3);
    withSysenterMsrs(m, SEL_CODE0 | 3); // the RPL bits are cleared
    m.poke(KERNEL_EIP, [0x89, 0xe0]); // mov eax, esp
    m.cpu.setState({ eflags: 0x2 | IF | RF | 0x1 });
    m.cpu.step();
    const s = m.cpu.getState();
    expect(s.cs).toEqual({ selector: 0x08, base: 0, limit: 0xffffffff, attributes: 0xc09b });
    expect(s.ss).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 });
    expect([s.eip, s.esp, s.eflags & (IF | RF), s.eflags & 1]).toEqual([KERNEL_EIP, KERNEL_ESP, 0, 1]);
    m.cpu.step(); // runs as 32-bit code at CPL 0
    expect(m.cpu.getState().eax).toBe(KERNEL_ESP);
    expect(m.cpu.cpl).toBe(0);
  });

  it('SYSEXIT returns to CPL 3 at EDX with ESP = ECX, CS = SYSENTER_CS + 16, SS = + 24', () => {
    const m = flatMachine('p6', SYSEXIT, 0);
    withSysenterMsrs(m, SEL_CODE0);
    m.poke(0x13000, [0x0f, 0x34]); // the ring-3 code calls SYSENTER again
    m.cpu.setState({ edx: 0x13000, ecx: 0x6f000 });
    m.cpu.step();
    const s = m.cpu.getState();
    expect(s.cs).toEqual({ selector: 0x1b, base: 0, limit: 0xffffffff, attributes: 0xc0fb });
    expect(s.ss).toEqual({ selector: 0x23, base: 0, limit: 0xffffffff, attributes: 0xc0f3 });
    expect([s.eip, s.esp, m.cpu.cpl]).toEqual([0x13000, 0x6f000, 3]);
    m.cpu.step();
    expect([m.cpu.getState().eip, m.cpu.cpl]).toEqual([KERNEL_EIP, 0]);
  });

  it('raise #GP(0) with SYSENTER_CS bits 15:2 clear, in real mode, and SYSEXIT above CPL 0', () => {
    const zero = flatMachine('p6', SYSENTER, 3);
    withSysenterMsrs(zero, 3);
    zero.cpu.run(5);
    expect([zero.faultVector(), zero.errorCode()]).toEqual([GP, 0]);
    const exitZero = flatMachine('p6', SYSEXIT, 0);
    exitZero.cpu.run(5);
    expect(exitZero.faultVector()).toBe(GP);
    const user = flatMachine('p6', SYSEXIT, 3);
    withSysenterMsrs(user, SEL_CODE0);
    user.cpu.run(5);
    expect(user.faultVector()).toBe(GP);
    // Real mode: the #GP goes through the IVT (vector 13 at 0000:0034 -> 2000:0000, a HLT).
    const real = flatMachine('p6', SYSENTER, 0);
    withSysenterMsrs(real, SEL_CODE0);
    real.poke(13 * 4, [0, 0, 0, 0x20]);
    real.poke(0x20000, [0xf4]);
    real.cpu.setState({ cr0: 0, cs: { selector: FLAT_CODE >>> 4, base: FLAT_CODE, limit: 0xffff, attributes: 0x93 }, eip: 0, ss: { selector: 0, base: 0, limit: 0xffff, attributes: 0x93 }, esp: 0x7000, idtr: { base: 0, limit: 0x3ff } });
    real.cpu.run(3);
    expect(real.cpu.getState().cs.selector).toBe(0x2000);
  });

  it('are #UD on the Pentium', () => {
    const m = flatMachine('pentium', SYSENTER, 0);
    m.cpu.run(3);
    expect(m.faultVector()).toBe(UD);
  });
});
