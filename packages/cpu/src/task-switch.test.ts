import { describe, expect, it } from 'vitest';
import {
  ACC_DATA0,
  ACC_TASK_GATE,
  ACC_TSS16,
  ACC_TSS32,
  CODE,
  FLG_32,
  FLG_G,
  HLT,
  IDT,
  IRETD,
  SEL_CODE0,
  SEL_CODE3,
  SEL_DATA0,
  SEL_DATA3,
  SEL_TSS_MAIN,
  TSS_MAIN,
  GDT,
  callFar,
  jmpFar,
  pmMachine,
  tss32,
  type PmMachine,
} from './pm-test-machine.js';

const TSS_B = 0x5000;
const SEL_B = 0x30;
const TSS_H = 0x7000;
const SEL_H = 0x48;
const B_CODE = 0x11000;
const H_CODE = 0x12000;
const NT = 0x4000;
const busy = (acc: number): boolean => (acc & 2) !== 0;

/** A machine with TSS B (30h, code at 11000h: HLT) and handler task H (48h, code at 12000h: HLT). */
function withTasks(code: number[], patchB: Record<number, number> = {}): PmMachine {
  const m = pmMachine(code);
  m.desc(SEL_B, TSS_B, 0x67, ACC_TSS32, 0);
  m.desc(SEL_H, TSS_H, 0x67, ACC_TSS32, 0);
  tss32(m, TSS_B, B_CODE, 0x8000, patchB);
  tss32(m, TSS_H, H_CODE, 0x7800);
  m.poke(B_CODE, [HLT]);
  m.poke(H_CODE, [HLT]);
  return m;
}

describe('task switches: JMP, CALL and IRET', () => {
  it('JMP to a TSS saves the old task, loads the new one and moves the busy bit', () => {
    const m = withTasks(jmpFar(SEL_B), { 0x28: 0x11111111, 0x34: 0x22222222, 0x40: 0x33333333, 0x60: 0x38 });
    m.desc(0x38, 0x6000, 0x1f, 0x82, 0); // B's LDT
    m.cpu.setState({ eax: 0xaaaa, ebx: 0xbbbb, eflags: 0x2 | 0x1 });
    expect(m.run()).toBe('halt');
    const s = m.cpu.getState();
    expect(s.tr).toBe(SEL_B);
    expect(s.trCache).toEqual({ base: TSS_B, limit: 0x67, attributes: 0x8b });
    expect(s.eip).toBe(B_CODE + 1);
    expect([s.eax, s.ebx, s.esi, s.esp]).toEqual([0x11111111, 0x22222222, 0x33333333, 0x8000]);
    expect(s.ldtr).toBe(0x38);
    expect(s.ldtrCache).toEqual({ base: 0x6000, limit: 0x1f });
    expect(s.eflags & NT).toBe(0);
    expect(s.cr0 & 8).toBe(8); // CR0.TS
    expect(m.access(SEL_TSS_MAIN)).toBe(0x89);
    expect(m.access(SEL_B)).toBe(0x8b);
    expect(m.r16(TSS_B)).toBe(0); // no back link for JMP
    // The old task's state, with EIP after the JMP.
    expect(m.r32(TSS_MAIN + 0x20)).toBe(CODE + 7);
    expect(m.r32(TSS_MAIN + 0x24)).toBe(3);
    expect(m.r32(TSS_MAIN + 0x28)).toBe(0xaaaa);
    expect(m.r32(TSS_MAIN + 0x34)).toBe(0xbbbb);
    expect(m.r16(TSS_MAIN + 0x4c)).toBe(SEL_CODE0);
  });

  it('CALL nests the task (NT, back link, both busy) and IRET returns through the link', () => {
    // main: call 30h:0 / hlt; B: mov eax, [5000h] / iretd
    const m = withTasks([...callFar(SEL_B), HLT]);
    m.poke(B_CODE, [0xa1, 0x00, 0x50, 0x00, 0x00, IRETD]);
    m.cpu.setState({ eax: 0x1234 });
    m.run(1);
    let s = m.cpu.getState();
    expect(s.tr).toBe(SEL_B);
    expect(s.eflags & NT).toBe(NT);
    expect(m.r16(TSS_B)).toBe(SEL_TSS_MAIN);
    expect([busy(m.access(SEL_TSS_MAIN)), busy(m.access(SEL_B))]).toEqual([true, true]);
    expect(m.run()).toBe('halt');
    s = m.cpu.getState();
    expect(s.tr).toBe(SEL_TSS_MAIN);
    expect(s.eip).toBe(CODE + 8);
    expect(s.eax).toBe(0x1234); // the caller's registers come back from its TSS
    expect(s.eflags & NT).toBe(0);
    expect([busy(m.access(SEL_TSS_MAIN)), busy(m.access(SEL_B))]).toEqual([true, false]);
    expect(m.r32(TSS_B + 0x28)).toBe(SEL_TSS_MAIN); // B's EAX, saved by the IRET
    expect(m.r32(TSS_B + 0x24) & NT).toBe(0); // NT cleared in the saved image
    expect(m.r32(TSS_B + 0x20)).toBe(B_CODE + 6);
  });

  it('JMP and CALL through a task gate in the GDT; the gate DPL is checked against CPL and RPL', () => {
    const m = withTasks(jmpFar(0x40));
    m.gate(GDT, 8, SEL_B, 0, ACC_TASK_GATE);
    expect(m.run()).toBe('halt');
    expect(m.cpu.getState().tr).toBe(SEL_B);

    const r3 = withTasks(jmpFar(0x40));
    r3.gate(GDT, 8, SEL_B, 0, ACC_TASK_GATE);
    const flat = (sel: number, attributes: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attributes });
    r3.cpu.setState({ cs: flat(SEL_CODE3 | 3, 0xc0fb), ss: flat(SEL_DATA3 | 3, 0xc0f3), ds: flat(SEL_DATA3 | 3, 0xc0f3) });
    expect(r3.run()).toBe('halt');
    expect(r3.haltedVector()).toBe(13);
    expect(r3.r32(r3.cpu.getState().esp)).toBe(0x40);
    expect(r3.cpu.getState().tr).toBe(SEL_TSS_MAIN);
  });

  it.each([
    ['a busy TSS (JMP to itself)', jmpFar(SEL_TSS_MAIN), (_: PmMachine) => {}, 13, SEL_TSS_MAIN],
    ['a TSS limit below 67h', jmpFar(SEL_B), (m: PmMachine) => m.desc(SEL_B, TSS_B, 0x50, ACC_TSS32, 0), 10, SEL_B],
    ['a TSS that is not present', callFar(SEL_B), (m: PmMachine) => m.desc(SEL_B, TSS_B, 0x67, ACC_TSS32 & 0x7f, 0), 11, SEL_B],
    ['a TSS DPL below CPL or RPL', jmpFar(SEL_B | 3), () => {}, 13, SEL_B],
    ['a task gate to a busy TSS', jmpFar(0x40), (m: PmMachine) => m.gate(GDT, 8, SEL_TSS_MAIN, 0, ACC_TASK_GATE), 13, SEL_TSS_MAIN],
    ['a task gate to a non-TSS', jmpFar(0x40), (m: PmMachine) => m.gate(GDT, 8, SEL_DATA0, 0, ACC_TASK_GATE), 13, SEL_DATA0],
    ['a task gate whose TSS selector points into the LDT', jmpFar(0x40), (m: PmMachine) => m.gate(GDT, 8, SEL_B | 4, 0, ACC_TASK_GATE), 13, SEL_B | 4],
    ['a task gate that is not present', jmpFar(0x40), (m: PmMachine) => m.gate(GDT, 8, SEL_B, 0, ACC_TASK_GATE & 0x7f), 11, 0x40],
  ])('faults in the old task for %s', (_name, code, setup, vector, err) => {
    const m = withTasks(code);
    setup(m);
    expect(m.run()).toBe('halt');
    const s = m.cpu.getState();
    expect(m.haltedVector()).toBe(vector);
    expect(m.r32(s.esp)).toBe(err);
    expect(m.r32(s.esp + 4)).toBe(CODE); // the far transfer itself
    expect(s.tr).toBe(SEL_TSS_MAIN);
    expect(s.cr0 & 8).toBe(0);
    expect(m.access(SEL_TSS_MAIN)).toBe(0x8b);
    expect(m.r32(TSS_MAIN + 0x20)).toBe(0); // nothing saved
  });

  it('IRET with NT set to a back link that is not a busy TSS is #TS(link)', () => {
    const m = withTasks([IRETD]);
    m.w16(TSS_MAIN, SEL_B); // B is available, not busy
    m.cpu.setState({ eflags: 2 | NT });
    expect(m.run()).toBe('halt');
    expect(m.haltedVector()).toBe(10);
    expect(m.r32(m.cpu.getState().esp)).toBe(SEL_B);
    expect(m.cpu.getState().tr).toBe(SEL_TSS_MAIN);
  });

  it('a 16-bit TSS: CALL loads its 16-bit fields, IRET saves them back', () => {
    // 16-bit TSS at 6000h: IP 12h... code16 segment 50h at 13000h: mov ax, [0] is not needed: hlt; iret
    const m = withTasks([...callFar(0x38), HLT]);
    m.desc(0x38, 0x6000, 0x2b, ACC_TSS16, 0);
    m.desc(0x50, 0x13000, 0xffff, 0x9b, 0); // 16-bit code
    m.desc(0x58, 0x0, 0xffff, ACC_DATA0, 0); // 16-bit stack
    const w = (off: number, v: number): void => m.w16(0x6000 + off, v);
    w(0x0e, 0x0010); // IP
    w(0x10, 0x0002); // FLAGS
    w(0x12, 0x1111); // AX
    w(0x1a, 0x7000); // SP
    w(0x22, SEL_DATA0); // ES
    w(0x24, 0x50); // CS
    w(0x26, 0x58); // SS
    w(0x28, SEL_DATA0); // DS
    m.poke(0x13010, [HLT, IRETD]);
    m.cpu.setState({ eax: 0xabcd0000, fs: { selector: SEL_DATA0, base: 0, limit: 0xffffffff, attributes: 0xc093 } });
    expect(m.run()).toBe('halt');
    let s = m.cpu.getState();
    expect(s.tr).toBe(0x38);
    expect(s.trCache.attributes).toBe(0x83);
    expect(s.eip).toBe(0x11);
    expect(s.eax).toBe(0xabcd1111); // a 16-bit TSS holds the low halves only
    expect(s.cs.attributes & 0x4000).toBe(0); // 16-bit code
    expect(s.ss.selector).toBe(0x58);
    expect(s.fs.selector).toBe(0); // no FS/GS in a 16-bit TSS
    expect(s.eflags & NT).toBe(NT);
    expect(m.r16(0x6000)).toBe(SEL_TSS_MAIN);
    m.cpu.setState({ halted: false });
    expect(m.run()).toBe('halt');
    s = m.cpu.getState();
    expect(s.tr).toBe(SEL_TSS_MAIN);
    expect(s.eip).toBe(CODE + 8);
    expect(m.r16(0x600e)).toBe(0x12); // IP after the IRET
    expect(m.access(0x38)).toBe(0x81);
  });

  it('loads CR3 from a 32-bit TSS: the new task sees its own address space', () => {
    // page tables: PD1 at 20000h (identity), PD2 at 22000h (identity but 50000h -> 60000h)
    const m = withTasks(jmpFar(SEL_B), { 0x1c: 0x22000 });
    for (const [pd, pt] of [[0x20000, 0x21000], [0x22000, 0x23000]]) {
      m.w32(pd, pt | 3);
      for (let i = 0; i < 1024; i++) m.w32(pt + i * 4, (i << 12) | 3);
    }
    m.w32(0x23000 + 0x50 * 4, 0x60000 | 3);
    m.w32(0x50000, 0x1111);
    m.w32(0x60000, 0x2222);
    m.poke(B_CODE, [0xa1, 0x00, 0x00, 0x05, 0x00, HLT]); // mov eax, [50000h]
    m.cpu.setState({ cr3: 0x20000, cr0: 0x80000011 });
    expect(m.run()).toBe('halt');
    const s = m.cpu.getState();
    expect(s.cr3).toBe(0x22000);
    expect(s.eax).toBe(0x2222);
  });

  it('loads CR3 with paging off too: the new task turns paging on in its own address space', () => {
    const m = withTasks(jmpFar(SEL_B), { 0x1c: 0x22000 });
    m.w32(0x22000, 0x23000 | 3);
    for (let i = 0; i < 1024; i++) m.w32(0x23000 + i * 4, (i << 12) | 3);
    m.w32(0x23000 + 0x50 * 4, 0x60000 | 3);
    m.w32(0x60000, 0x2222);
    // mov eax, cr0 / or eax, 80000000h / mov cr0, eax / mov eax, [50000h] / hlt
    m.poke(B_CODE, [0x0f, 0x20, 0xc0, 0x0d, 0, 0, 0, 0x80, 0x0f, 0x22, 0xc0, 0xa1, 0x00, 0x00, 0x05, 0x00, HLT]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.getState().eax).toBe(0x2222);
  });
});

describe('task switches: interrupts and exceptions through task gates', () => {
  it('an exception through an IDT task gate pushes its error code on the new task stack', () => {
    // mov ax, 800h / mov ds, ax (past the GDT limit: #GP(800h))
    const m = withTasks([0x66, 0xb8, 0x00, 0x08, 0x8e, 0xd8, HLT]);
    m.gate(IDT, 13, SEL_H, 0, ACC_TASK_GATE);
    expect(m.run()).toBe('halt');
    const s = m.cpu.getState();
    expect(s.tr).toBe(SEL_H);
    expect(s.eip).toBe(H_CODE + 1);
    expect(s.esp).toBe(0x7800 - 4);
    expect(m.r32(0x7800 - 4)).toBe(0x800);
    expect(m.r16(TSS_H)).toBe(SEL_TSS_MAIN);
    expect(s.eflags & NT).toBe(NT);
    expect(m.r32(TSS_MAIN + 0x20)).toBe(CODE + 4); // the faulting instruction
  });

  it('a hardware interrupt through an IDT task gate saves the next instruction, pushes nothing', () => {
    let pending = false;
    const m = pmMachine([0x90, 0x90, HLT], {
      interrupts: {
        acknowledge: () => {
          if (!pending) return -1;
          pending = false;
          return 0x40;
        },
      },
    });
    m.desc(SEL_H, TSS_H, 0x67, ACC_TSS32, 0);
    tss32(m, TSS_H, H_CODE, 0x7800);
    m.poke(H_CODE, [HLT]);
    m.gate(IDT, 0x40, SEL_H, 0, ACC_TASK_GATE);
    m.cpu.setState({ eflags: 0x202 });
    m.cpu.step(); // NOP
    pending = true;
    expect(m.run()).toBe('halt');
    const s = m.cpu.getState();
    expect(s.tr).toBe(SEL_H);
    expect(s.esp).toBe(0x7800);
    expect(m.r32(TSS_MAIN + 0x20)).toBe(CODE + 1);
    expect(m.r32(TSS_MAIN + 0x24) & 0x200).toBe(0x200);
  });

  it('INT n through a task gate checks the gate DPL against CPL', () => {
    const m = withTasks([0xcd, 0x40, HLT]);
    m.gate(IDT, 0x40, SEL_H, 0, ACC_TASK_GATE);
    const flat = (sel: number, attributes: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attributes });
    m.cpu.setState({ cs: flat(SEL_CODE3 | 3, 0xc0fb), ss: flat(SEL_DATA3 | 3, 0xc0f3), esp: 0x8800 });
    expect(m.run()).toBe('halt');
    expect(m.haltedVector()).toBe(13);
    expect(m.r32(m.cpu.getState().esp)).toBe(0x40 * 8 + 2);
  });
});

describe('task switches: faults after the commit point are taken by the new task', () => {
  it('a data segment that is not present: #NP(selector) in the new task, at its first instruction', () => {
    const m = withTasks(jmpFar(SEL_B), { 0x54: 0x60 });
    m.desc(0x60, 0, 0xfffff, ACC_DATA0 & 0x7f, FLG_G | FLG_32);
    expect(m.run()).toBe('halt');
    const s = m.cpu.getState();
    expect(m.haltedVector()).toBe(11);
    expect(s.tr).toBe(SEL_B);
    expect(m.r32(s.esp)).toBe(0x60);
    expect(m.r32(s.esp + 4)).toBe(B_CODE); // EIP: the new task's first instruction
    expect(s.esp).toBe(0x8000 - 16);
    expect(m.access(SEL_TSS_MAIN)).toBe(0x89);
    expect(m.access(SEL_B)).toBe(0x8b);
  });

  /** The #TS handler is a task (H), as the SDM recommends: it sees the error code on its stack. */
  function tsTask(patchB: Record<number, number>, setup: (m: PmMachine) => void): { m: PmMachine; err: number } {
    const m = withTasks(jmpFar(SEL_B), patchB);
    m.gate(IDT, 10, SEL_H, 0, ACC_TASK_GATE);
    m.gate(IDT, 11, SEL_H, 0, ACC_TASK_GATE);
    m.gate(IDT, 12, SEL_H, 0, ACC_TASK_GATE);
    setup(m);
    expect(m.run()).toBe('halt');
    expect(m.cpu.getState().tr).toBe(SEL_H);
    expect(m.r16(TSS_H)).toBe(SEL_B);
    return { m, err: m.r32(0x7800 - 4) };
  }

  it('a stack segment of the wrong privilege: #TS(SS); the faulting task is saved with its selectors', () => {
    const { m, err } = tsTask({ 0x50: SEL_DATA3 }, () => {});
    expect(err).toBe(SEL_DATA3);
    expect(m.r32(TSS_B + 0x20)).toBe(B_CODE);
    expect(m.r16(TSS_B + 0x50)).toBe(SEL_DATA3);
  });

  it('a stack segment that is not present: #SS(SS)', () => {
    const { m, err } = tsTask({ 0x50: 0x60 }, (mm) => mm.desc(0x60, 0, 0xfffff, ACC_DATA0 & 0x7f, FLG_G | FLG_32));
    expect(err).toBe(0x60);
    expect(m.r32(TSS_H + 0x20)).toBe(H_CODE);
    expect(m.cpu.getState().eip).toBe(H_CODE + 1);
  });

  it('checks CS privilege before SS, and SS before CS presence (table 7-1)', () => {
    // CS 68h: code DPL 0 with RPL 3 in the TSS; SS bad too: #TS(CS)
    expect(tsTask({ 0x4c: 0x68 | 3, 0x50: SEL_DATA3 }, (mm) => mm.desc(0x68, 0, 0xfffff, 0x9b, FLG_G | FLG_32)).err).toBe(0x68);
    // CS not present, SS bad: #TS(SS) first
    expect(tsTask({ 0x4c: 0x68, 0x50: SEL_DATA3 }, (mm) => mm.desc(0x68, 0, 0xfffff, 0x1b, FLG_G | FLG_32)).err).toBe(SEL_DATA3);
    // CS not present alone: #NP(CS)
    expect(tsTask({ 0x4c: 0x68 }, (mm) => mm.desc(0x68, 0, 0xfffff, 0x1b, FLG_G | FLG_32)).err).toBe(0x68);
    // a null CS: #TS(0)
    expect(tsTask({ 0x4c: 0 }, () => {}).err).toBe(0);
  });

  it('an LDT selector that does not name an LDT: #TS(LDT)', () => {
    expect(tsTask({ 0x60: SEL_DATA0 }, () => {}).err).toBe(SEL_DATA0);
  });

  it('loads a TSS with VM set into virtual-8086 mode without descriptor checks', () => {
    const m = withTasks(jmpFar(SEL_B), { 0x24: 0x20002, 0x20: 0x10, 0x4c: 0x1200, 0x50: 0x2000, 0x54: 0x3000, 0x38: 0x100 });
    m.poke(0x12010, [HLT]);
    m.gate(IDT, 13, SEL_CODE0, 0x4000 + 13 * 16, 0x8e);
    expect(m.run()).toBe('halt');
    // HLT in v86 mode is #GP(0), taken at ring 0 with the v86 frame
    const s = m.cpu.getState();
    expect(m.haltedVector()).toBe(13);
    expect(s.tr).toBe(SEL_B);
    expect(s.esp).toBe(0xb000 - 40);
    expect(m.r32(s.esp + 4)).toBe(0x10);
    expect(m.r32(s.esp + 8)).toBe(0x1200);
    expect(m.r32(s.esp + 12) & 0x20000).toBe(0x20000);
    expect(m.r32(s.esp + 20)).toBe(0x2000);
    expect(m.r32(s.esp + 28)).toBe(0x3000);
  });
});
