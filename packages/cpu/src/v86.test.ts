import { describe, expect, it } from 'vitest';
import { HANDLER, IDT, IRETD, HLT, SEL_CODE0, SEL_DATA0, pmMachine, type PmMachine } from './pm-test-machine.js';

const VM = 0x20000;
const IOPL3 = 0x3000;
const V86_CS = 0x1200;
const V86_IP = 0x10;
const V86_CODE = (V86_CS << 4) + V86_IP;
/** INT 80h is a DPL-3 interrupt gate whose handler halts. */
const INT80 = [0xcd, 0x80];
/** The ring-0 stack of interrupts from v86 mode (TSS SS0:ESP0 = 10h:B000h). */
const KSTACK = 0xb000;

/**
 * Enters v86 mode with IRETD at CPL 0 (CS:IP = 1200:0010, SS:SP = 2000:0100, ES 3000h, DS 4000h,
 * FS 5000h, GS 6000h) and runs `code` there until a handler halts.
 */
function v86(code: number[], eflags = VM | IOPL3 | 2, setup?: (m: PmMachine) => void): PmMachine {
  const m = pmMachine([IRETD]);
  m.gate(IDT, 0x80, SEL_CODE0, HANDLER + 0x80 * 16, 0xee);
  const frame = [V86_IP, V86_CS, eflags, 0x100, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000];
  frame.forEach((v, i) => m.w32(0x9000 - 36 + i * 4, v));
  m.cpu.setState({ esp: 0x9000 - 36 });
  m.poke(V86_CODE, code);
  setup?.(m);
  expect(m.run()).toBe('halt');
  return m;
}

/** The ring-0 frame of an interrupt from v86 mode, without an error code. */
function frame(m: PmMachine, errorCode = false): number[] {
  const top = KSTACK - (errorCode ? 40 : 36);
  return Array.from({ length: 9 }, (_, i) => m.r32(top + (errorCode ? 4 : 0) + i * 4));
}

describe('virtual-8086 mode', () => {
  it('is entered by IRETD at CPL 0 with VM set: real-mode segments, CPL 3', () => {
    // mov ax, [0] / mov bx, 7000h / mov ds, bx / mov cx, [2] / int 80h
    const m = v86([0xa1, 0, 0, 0xbb, 0x00, 0x70, 0x8e, 0xdb, 0x8b, 0x0e, 2, 0, ...INT80], VM | IOPL3 | 2, (mm) => {
      mm.w16(0x40000, 0x4444);
      mm.w16(0x70002, 0x7777);
    });
    const s = m.cpu.getState();
    expect(m.haltedVector()).toBe(0x80);
    expect((s.eax & 0xffff) >>> 0).toBe(0x4444);
    expect(s.ecx & 0xffff).toBe(0x7777);
    // the handler runs at ring 0 on the TSS stack, VM and IF clear, data segments null
    expect(s.cs.selector).toBe(SEL_CODE0);
    expect(s.ss.selector).toBe(SEL_DATA0);
    expect(s.esp).toBe(KSTACK - 36);
    expect(s.eflags & (VM | 0x200)).toBe(0);
    expect([s.ds.selector, s.es.selector, s.fs.selector, s.gs.selector]).toEqual([0, 0, 0, 0]);
    // EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
    expect(frame(m)).toEqual([V86_IP + 14, V86_CS, VM | IOPL3 | 2, 0x100, 0x2000, 0x3000, 0x7000, 0x5000, 0x6000]);
  });

  it('keeps the state API consistent: VM in EFLAGS means CPL 3 and real-mode segment loads', () => {
    const m = pmMachine([0x8e, 0xd8, HLT]); // mov ds, ax
    const v = (sel: number) => ({ selector: sel, base: sel << 4, limit: 0xffff, attributes: 0xf3 });
    m.cpu.setState({ eflags: VM | 2, cs: v(0x1000), ss: v(0x900), eip: 0, esp: 0x100, eax: 0xabcd });
    m.cpu.step();
    const s = m.cpu.getState();
    expect(s.ds).toEqual({ selector: 0xabcd, base: 0xabcd0, limit: 0xffff, attributes: 0xf3 });
    m.cpu.step(); // HLT at CPL 3: #GP(0)
    expect(m.cpu.getState().cs.selector).toBe(SEL_CODE0);
    expect(m.r32(KSTACK - 40)).toBe(0);
  });

  it('returns to v86 mode with IRETD from the ring-0 handler, popping ES, DS, FS, GS', () => {
    // v86: int 80h / hlt (CPL 3: #GP(0)); the INT 80h handler is an IRETD
    const m = v86([...INT80, HLT], VM | IOPL3 | 2, (mm) => mm.poke(HANDLER + 0x80 * 16, [IRETD]));
    expect(m.haltedVector()).toBe(13);
    expect(m.r32(KSTACK - 40)).toBe(0);
    expect(frame(m, true)).toEqual([V86_IP + 2, V86_CS, VM | IOPL3 | 2, 0x100, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000]);
  });

  it.each([
    ['CLI', [0xfa]],
    ['STI', [0xfb]],
    ['PUSHF', [0x9c]],
    ['POPF', [0x9d]],
    ['IRET', [0xcf]],
    ['INT n', [0xcd, 0x80]],
  ])('faults %s with #GP(0) when IOPL < 3', (_name, code) => {
    const m = v86(code, VM | 0x1002);
    expect(m.haltedVector()).toBe(13);
    expect(m.r32(KSTACK - 40)).toBe(0);
    expect(frame(m, true)[0]).toBe(V86_IP);
    expect(m.cpu.getState().esp).toBe(KSTACK - 40);
  });

  it('sends INT3 through the IDT whatever IOPL is, checking the gate DPL against CPL 3', () => {
    const m = v86([0xcc], VM | 2);
    expect(m.haltedVector()).toBe(13);
    expect(m.r32(KSTACK - 40)).toBe(3 * 8 + 2);
    const ok = v86([0xcc], VM | 2, (mm) => mm.gate(IDT, 3, SEL_CODE0, HANDLER + 3 * 16, 0xee));
    expect(ok.haltedVector()).toBe(3);
    expect(frame(ok)[0]).toBe(V86_IP + 1);
  });

  it('runs the sensitive instructions at IOPL 3; POPF and IRET cannot change IOPL or VM', () => {
    // pushf / pop ax / and ah, 0CFh / push ax / popf / cli / sti / push 0 / push cs / push 1Fh / iret
    // (1Fh:) pushf / pop bx / int 80h
    const code = [0x9c, 0x58, 0x80, 0xe4, 0xcf, 0x50, 0x9d, 0xfa, 0xfb, 0x6a, 0x00, 0x0e, 0x6a, 0x1f, 0xcf];
    const m = v86([...code, 0x9c, 0x5b, ...INT80]);
    expect(m.haltedVector()).toBe(0x80);
    const s = m.cpu.getState();
    expect(s.eax & 0xffff).toBe(0x0002);
    expect(s.ebx & 0xffff).toBe(0x3002);
    expect(frame(m)[2]).toBe(VM | IOPL3 | 2);
  });

  it('refuses a handler that is not a non-conforming DPL-0 code segment: #GP(selector)', () => {
    const dpl3 = v86(INT80, VM | IOPL3 | 2, (mm) => {
      mm.desc(0x30, 0, 0xfffff, 0xfb, 0xc); // code DPL 3
      mm.gate(IDT, 0x80, 0x30, HANDLER + 0x80 * 16, 0xee);
    });
    expect(dpl3.haltedVector()).toBe(13);
    expect(dpl3.r32(KSTACK - 40)).toBe(0x30);
    const conforming = v86(INT80, VM | IOPL3 | 2, (mm) => {
      mm.desc(0x30, 0, 0xfffff, 0x9f, 0xc); // conforming code DPL 0
      mm.gate(IDT, 0x80, 0x30, HANDLER + 0x80 * 16, 0xee);
    });
    expect(conforming.r32(KSTACK - 40)).toBe(0x30);
  });

  it('pushes a 16-bit frame through a 16-bit interrupt gate', () => {
    const m = v86(INT80, VM | IOPL3 | 2, (mm) => mm.gate(IDT, 0x80, SEL_CODE0, HANDLER + 0x80 * 16, 0xe6));
    expect(m.haltedVector()).toBe(0x80);
    expect(m.cpu.getState().esp).toBe(KSTACK - 18);
    const words = Array.from({ length: 9 }, (_, i) => m.r16(KSTACK - 18 + i * 2));
    expect(words).toEqual([V86_IP + 2, V86_CS, (IOPL3 | 2) & 0xffff, 0x100, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000]);
  });

  it('runs under paging at CPL 3: a remapped page, and #PF with the user bit on a supervisor page', () => {
    const paging = (mm: PmMachine, supervisorPage: number): void => {
      mm.w32(0x20000, 0x21000 | 7);
      for (let i = 0; i < 1024; i++) mm.w32(0x21000 + i * 4, (i << 12) | (i === supervisorPage ? 3 : 7));
      mm.w32(0x21000 + 0x40 * 4, 0x50000 | 7); // linear 40000h -> physical 50000h
      mm.w16(0x50000, 0x5050);
      mm.cpu.setState({ cr3: 0x20000, cr0: 0x80000011 });
    };
    const m = v86([0xa1, 0, 0, ...INT80], VM | IOPL3 | 2, (mm) => paging(mm, -1)); // mov ax, [0]: DS = 4000h
    expect(m.haltedVector()).toBe(0x80);
    expect(m.cpu.getState().eax & 0xffff).toBe(0x5050);
    const pf = v86([0xa1, 0, 0, ...INT80], VM | IOPL3 | 2, (mm) => {
      paging(mm, 0x30); // linear 30000h (ES = 3000h) is supervisor-only
      mm.poke(V86_CODE, [0x26, 0xa1, 0, 0]); // mov ax, [es:0]
    });
    expect(pf.haltedVector()).toBe(14);
    expect(pf.r32(KSTACK - 40)).toBe(0x5); // present, read, user
    expect(pf.cpu.getState().cr2).toBe(0x30000);
  });

  it('takes an external interrupt to the ring-0 handler', () => {
    let pending = false;
    const m = pmMachine([IRETD], {
      interrupts: {
        acknowledge: () => {
          if (!pending) return -1;
          pending = false;
          return 0x40;
        },
      },
    });
    [V86_IP, V86_CS, VM | 0x202, 0x100, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000].forEach((v, i) => m.w32(0x9000 - 36 + i * 4, v));
    m.cpu.setState({ esp: 0x9000 - 36 });
    m.poke(V86_CODE, [0x90, 0x90]);
    m.cpu.step(); // IRETD into v86
    m.cpu.step(); // NOP
    pending = true;
    expect(m.run()).toBe('halt');
    expect(m.haltedVector()).toBe(0x40);
    expect(frame(m)[0]).toBe(V86_IP + 1);
  });

  it('raises #UD for the protected-mode-only instructions (LAR, LLDT, STR)', () => {
    for (const code of [[0x0f, 0x02, 0xc0], [0x0f, 0x00, 0xd0], [0x0f, 0x00, 0xc8]]) {
      const m = v86(code);
      expect(m.haltedVector()).toBe(6);
    }
  });
});
