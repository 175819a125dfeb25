import { describe, expect, it } from 'vitest';
import { HANDLER, HLT, IDT, IRETD, SEL_CODE0, SEL_CODE3, SEL_DATA3, TSS_MAIN, pmMachine, type PmMachine } from './pm-test-machine.js';

const VM = 0x20000;
const VIF = 0x80000;
const VIP = 0x100000;
const IF = 0x200;
const IOPL3 = 0x3000;
const V86_CS = 0x1200;
const V86_CODE = V86_CS << 4;
const KSTACK = 0xb000;
/** The main TSS grows an interrupt redirection bitmap at 68h (all clear: every INT n redirected). */
const REDIRECT = TSS_MAIN + 0x68;

/**
 * Enters v86 mode at 1200:0000 (SS:SP 2000:0100) by IRETD with `eflags`, CR4 = `cr4`, and runs
 * until a handler halts (HLT in v86 mode is #GP(0)).
 */
function vme(code: number[], eflags: number, cr4 = 1, setup?: (m: PmMachine) => void): PmMachine {
  const m = pmMachine([IRETD]);
  m.desc(0x28, TSS_MAIN, 0x88 + 0x20, 0x8b, 0);
  m.w16(TSS_MAIN + 0x66, 0x88);
  m.gate(IDT, 0x80, SEL_CODE0, HANDLER + 0x80 * 16, 0xee);
  [0, V86_CS, VM | eflags, 0x100, 0x2000, 0, 0, 0, 0].forEach((v, i) => m.w32(0x9000 - 36 + i * 4, v));
  m.cpu.setState({ esp: 0x9000 - 36, cr4, trCache: { limit: 0x88 + 0x20 } });
  m.poke(V86_CODE, code);
  setup?.(m);
  expect(m.run()).toBe('halt');
  return m;
}

/** EFLAGS in the ring-0 frame of a #GP(0) from v86 mode, and the IP it reports. */
function gpFrame(m: PmMachine): { ip: number; eflags: number } {
  expect(m.haltedVector()).toBe(13);
  expect(m.r32(KSTACK - 40)).toBe(0);
  return { ip: m.r32(KSTACK - 36), eflags: m.r32(KSTACK - 28) };
}

describe('virtual-8086 mode extensions (CR4.VME)', () => {
  it('CLI and STI below IOPL 3 change VIF, not IF; PUSHF shows VIF as IF and IOPL 3', () => {
    // cli / pushf / pop ax / sti / pushf / pop bx / hlt
    const m = vme([0xfa, 0x9c, 0x58, 0xfb, 0x9c, 0x5b, HLT], 2 | VIF);
    const s = m.cpu.getState();
    expect(s.eax & 0xffff).toBe(0x3002);
    expect(s.ebx & 0xffff).toBe(0x3202);
    const f = gpFrame(m);
    expect(f.ip).toBe(6);
    expect(f.eflags & (VIF | IF | IOPL3)).toBe(VIF);
  });

  it('STI with VIP set is #GP(0), leaving VIF', () => {
    const f = gpFrame(vme([0xfb], 2 | VIP));
    expect(f.ip).toBe(0);
    expect(f.eflags & VIF).toBe(0);
  });

  it('faults the 32-bit forms PUSHFD, POPFD and IRETD below IOPL 3', () => {
    for (const code of [[0x66, 0x9c], [0x66, 0x9d], [0x66, 0xcf]]) expect(gpFrame(vme(code, 2)).ip).toBe(0);
  });

  it('POPF below IOPL 3: IF goes to VIF; TF, or IF with VIP pending, is #GP(0)', () => {
    // push 0202h / popf / hlt
    const ok = vme([0x68, 0x02, 0x02, 0x9d, HLT], 2);
    expect(gpFrame(ok).eflags & (VIF | IF)).toBe(VIF);
    expect(gpFrame(vme([0x68, 0x02, 0x01, 0x9d, HLT], 2)).ip).toBe(3); // TF in the image
    expect(gpFrame(vme([0x68, 0x02, 0x02, 0x9d, HLT], 2 | VIP)).ip).toBe(3);
    expect(gpFrame(vme([0x68, 0x02, 0x00, 0x9d, HLT], 2 | VIP | VIF)).eflags & VIF).toBe(0);
  });

  it('IRET below IOPL 3 pops IP, CS and FLAGS, IF into VIF', () => {
    // push 0202h / push 1200h / push 0Ah / iret / (0Ah:) hlt
    const m = vme([0x68, 0x02, 0x02, 0x68, 0x00, 0x12, 0x6a, 0x0a, 0xcf, 0x90, HLT], 2);
    const f = gpFrame(m);
    expect(f.ip).toBe(0x0a);
    expect(f.eflags & (VIF | IF | IOPL3)).toBe(VIF);
    expect(m.r32(KSTACK - 24)).toBe(0x100); // SP back where it was
  });

  it('redirects INT n with a clear bitmap bit to the IVT handler, in v86 mode', () => {
    // int 21h; the IVT sends vector 21h to 1300:0010, where HLT faults
    const m = vme([0xcd, 0x21], 2 | VIF, 1, (mm) => {
      mm.w16(0x21 * 4, 0x0010);
      mm.w16(0x21 * 4 + 2, 0x1300);
      mm.poke(0x13010, [HLT]);
    });
    const f = gpFrame(m);
    expect(f.ip).toBe(0x10);
    expect(m.r32(KSTACK - 32)).toBe(0x1300); // CS
    expect(f.eflags & VIF).toBe(0); // VIF cleared by the redirection
    // IP, CS, FLAGS (IF = the old VIF, IOPL 3) on the v86 stack
    expect([m.r16(0x20000 + 0xfa), m.r16(0x20000 + 0xfc), m.r16(0x20000 + 0xfe)]).toEqual([2, V86_CS, 0x3202]);
  });

  it('redirects at IOPL 3 too, clearing IF; a set bit goes to the IDT (IOPL 3) or faults (below)', () => {
    const setup = (mm: PmMachine): void => {
      mm.w16(0x21 * 4 + 2, 0x1300);
      mm.poke(0x13000, [HLT]);
    };
    const r3 = vme([0xcd, 0x21], IOPL3 | IF | 2, 1, setup);
    expect(gpFrame(r3).eflags & IF).toBe(0);
    expect(r3.r16(0x20000 + 0xfe)).toBe(0x3202);
    const viaIdt = vme([0xcd, 0x80], IOPL3 | 2, 1, (mm) => mm.poke(REDIRECT + 0x10, [0x01]));
    expect(viaIdt.haltedVector()).toBe(0x80);
    expect(gpFrame(vme([0xcd, 0x80], 2, 1, (mm) => mm.poke(REDIRECT + 0x10, [0x01]))).ip).toBe(0);
  });

  it('changes nothing without CR4.VME: CLI below IOPL 3 is #GP(0)', () => {
    expect(gpFrame(vme([0xfa], 2 | VIF, 0)).eflags & VIF).toBe(VIF);
  });
});

describe('protected-mode virtual interrupts (CR4.PVI)', () => {
  function ring3(code: number[], eflags: number, cr4: number): PmMachine {
    const m = pmMachine([...code, HLT]);
    const flat = (sel: number, attributes: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attributes });
    m.cpu.setState({ cr4, eflags, cs: flat(SEL_CODE3 | 3, 0xc0fb), ss: flat(SEL_DATA3 | 3, 0xc0f3), esp: 0x8800 });
    expect(m.run()).toBe('halt');
    return m;
  }

  it('CLI and STI at CPL 3 below IOPL change VIF', () => {
    const m = ring3([0xfa], 2 | VIF, 2);
    expect(m.haltedVector()).toBe(13);
    expect(m.r32(KSTACK - 24 + 4)).toBe(0x10001); // the HLT after the CLI faulted
    expect(m.r32(KSTACK - 24 + 12) & (VIF | IF)).toBe(0);
    expect(ring3([0xfb], 2, 2).r32(KSTACK - 24 + 12) & (VIF | IF)).toBe(VIF);
  });

  it('STI with VIP set, or without PVI, is #GP(0) at the STI', () => {
    expect(ring3([0xfb], 2 | VIP, 2).r32(KSTACK - 24 + 4)).toBe(0x10000);
    expect(ring3([0xfa], 2, 0).r32(KSTACK - 24 + 4)).toBe(0x10000);
  });
});
