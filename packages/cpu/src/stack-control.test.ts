import { describe, expect, it } from 'vitest';
import { ZF } from './flags.js';
import { CODE_SEG, DATA_SEG, STACK_SEG, testMachine } from './test-machine.js';

describe('stack and control transfer', () => {
  it('PUSHA/POPA and PUSHAD/POPAD keep every register but SP', () => {
    const { cpu } = testMachine('386', [0x66, 0x60, 0x66, 0x31, 0xc0, 0x66, 0x31, 0xdb, 0x66, 0x61, 0xf4]); // pushad; xor eax,eax; xor ebx,ebx; popad
    cpu.setState({ eax: 0x11111111, ebx: 0x22222222, ebp: 0x33333333 });
    cpu.run(10);
    const s = cpu.getState();
    expect([s.eax, s.ebx, s.ebp, s.esp]).toEqual([0x11111111, 0x22222222, 0x33333333, 0xfff0]);
  });

  it('PUSH SP: the 8086 pushes the decremented value, the 286 the original', () => {
    for (const [model, pushed] of [['8086', 0xffee], ['286', 0xfff0]] as const) {
      const m = testMachine(model, [0x54, 0xf4]);
      m.cpu.run(10);
      expect(m.mem.read16((STACK_SEG << 4) + 0xffee)).toBe(pushed);
    }
  });

  it('ENTER with nesting and LEAVE', () => {
    const m = testMachine('286', [0xc8, 0x10, 0x00, 0x02, 0xc9, 0xf4]); // enter 10h, 2; leave
    m.cpu.setState({ ebp: 0xfff8 });
    m.mem.write16((STACK_SEG << 4) + 0xfff6, 0xbeef); // the outer frame's saved BP slot
    m.cpu.run(1);
    const s = m.cpu.getState();
    expect(s.ebp & 0xffff).toBe(0xffee); // frame = SP after pushing BP
    expect(s.esp & 0xffff).toBe(0xffee - 2 - 2 - 0x10);
    expect(m.mem.read16((STACK_SEG << 4) + 0xffec)).toBe(0xbeef); // copied display entry
    expect(m.mem.read16((STACK_SEG << 4) + 0xffea)).toBe(0xffee); // the new frame pointer
    m.cpu.run(10);
    expect([m.cpu.getState().esp & 0xffff, m.cpu.getState().ebp & 0xffff]).toEqual([0xfff0, 0xfff8]);
  });

  it('far CALL and RETF with 32-bit operands', () => {
    // call far 0x1000:0x0010 (66 9A: ptr16:32); at 10h: retf (66 CB); then hlt
    const code = [0x66, 0x9a, 0x10, 0x00, 0x00, 0x00, 0x00, 0x10, 0xf4];
    const m = testMachine('386', code);
    m.poke((CODE_SEG << 4) + 0x10, [0x66, 0xcb]);
    m.cpu.run(2);
    expect(m.cpu.getState().esp & 0xffff).toBe(0xfff0);
    expect(m.cpu.run(10)).toBe('halt');
    expect(m.cpu.getState().eip).toBe(9);
  });

  it('LOOP counts ECX with a 32-bit address size and CX otherwise', () => {
    const m = testMachine('386', [0x67, 0xe2, 0xfd, 0xf4]); // loop $ (ecx)
    m.cpu.setState({ ecx: 0x10003 });
    m.cpu.run(0x20000);
    expect(m.cpu.getState().ecx).toBe(0);
    const n = testMachine('386', [0xe2, 0xfe, 0xf4]); // loop $ (cx)
    n.cpu.setState({ ecx: 0x10003 });
    n.cpu.run(100);
    expect(n.cpu.getState().ecx).toBe(0x10000);
  });

  it('CMOVcc moves only when the condition holds (P6)', () => {
    const m = testMachine('p6', [0x39, 0xd8, 0x66, 0x0f, 0x44, 0xcb, 0x66, 0x0f, 0x45, 0xd3, 0xf4]); // cmp ax,bx; cmove ecx,ebx; cmovne edx,ebx
    m.cpu.setState({ eax: 5, ebx: 5, ecx: 1, edx: 2 });
    m.cpu.run(10);
    expect([m.cpu.getState().ecx, m.cpu.getState().edx]).toEqual([5, 2]);
  });

  it('CMPXCHG8B (Pentium)', () => {
    const m = testMachine('pentium', [0x0f, 0xc7, 0x0e, 0x00, 0x00, 0xf4]); // cmpxchg8b [0]
    m.mem.write32(DATA_SEG << 4, 1);
    m.mem.write32((DATA_SEG << 4) + 4, 2);
    m.cpu.setState({ eax: 1, edx: 2, ebx: 0xaaaa, ecx: 0xbbbb });
    m.cpu.run(10);
    expect([m.mem.read32(DATA_SEG << 4), m.mem.read32((DATA_SEG << 4) + 4), m.cpu.getState().eflags & ZF]).toEqual([0xaaaa, 0xbbbb, ZF]);
  });

  it('REP STOSB yields after a chunk and finishes across run() calls', () => {
    const m = testMachine('p6', [0xf3, 0xaa, 0xf4]); // rep stosb
    m.cpu.setState({ ecx: 10000, edi: 0, eax: 0x5a });
    expect(m.cpu.run(1)).toBe('budget');
    expect(m.cpu.getState().eip).toBe(0); // restarts itself
    expect(m.cpu.getState().ecx).toBe(10000 - 4096);
    expect(m.cpu.run(10)).toBe('halt');
    expect(m.cpu.getState().ecx).toBe(0);
    expect(m.mem.read8((DATA_SEG << 4) + 9999)).toBe(0x5a);
  });
});
