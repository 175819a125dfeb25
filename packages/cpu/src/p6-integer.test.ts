import { describe, expect, it } from 'vitest';
import { GP, UD } from './cpu.js';
import { flatMachine } from './test-flat-machine.js';
import { DATA_SEG, testMachine } from './test-machine.js';

const CF = 1, PF = 4, ZF = 0x40, SF = 0x80, OF = 0x800;

/** The 16 conditions of Jcc/SETcc/CMOVcc (SDM vol. 1, table B-1), by their encoding. */
function holds(cc: number, f: number): boolean {
  const c = (f & CF) !== 0, p = (f & PF) !== 0, z = (f & ZF) !== 0, s = (f & SF) !== 0, o = (f & OF) !== 0;
  const base = [o, c, z, c || z, s, p, s !== o, z || s !== o][cc >> 1];
  return (cc & 1) === 0 ? base : !base;
}

describe('CMOVcc (P6)', () => {
  it('moves for exactly the flag combinations its condition names, register and memory forms', () => {
    for (let cc = 0; cc < 16; cc++) {
      for (const flags of [0, CF, PF, ZF, SF, OF, SF | OF, CF | ZF, ZF | SF, OF | ZF]) {
        // cmovcc eax, ebx; cmovcc cx, [0]; hlt
        const m = testMachine('p6', [0x66, 0x0f, 0x40 + cc, 0xc3, 0x0f, 0x40 + cc, 0x0e, 0x00, 0x00, 0xf4]);
        m.mem.write16(DATA_SEG << 4, 0x5678);
        m.cpu.setState({ eax: 1, ebx: 0x12345678, ecx: 0xffff0002, eflags: 2 | flags });
        m.cpu.run(5);
        const s = m.cpu.getState();
        const moved = holds(cc, flags);
        expect([cc, flags, s.eax, s.ecx]).toEqual([cc, flags, moved ? 0x12345678 : 1, moved ? 0xffff5678 : 0xffff0002]);
      }
    }
  });

  it('reads its memory operand even when it does not move (a bad address faults either way)', () => {
    // cmovo eax, [esi] with ESI beyond a 4 KiB data segment, OF clear
    const m = flatMachine('p6', [0x0f, 0x40, 0x06, 0xf4]);
    m.cpu.setState({ esi: 0x2000, ds: { selector: 0x10, base: 0, limit: 0xfff, attributes: 0x4093 } });
    m.cpu.run(5);
    expect(m.faultVector()).toBe(GP);
  });

  it('is #UD before the P6', () => {
    const m = flatMachine('pentium', [0x0f, 0x44, 0xc3, 0xf4]);
    m.cpu.run(5);
    expect(m.faultVector()).toBe(UD);
  });
});

describe('CMPXCHG8B (Pentium and later)', () => {
  it('on a mismatch loads EDX:EAX from memory, clears ZF and leaves memory as it was', () => {
    const m = testMachine('p6', [0x0f, 0xc7, 0x0e, 0x00, 0x00, 0xf4]); // cmpxchg8b [0]
    m.mem.write32(DATA_SEG << 4, 0x11111111);
    m.mem.write32((DATA_SEG << 4) + 4, 0x22222222);
    m.cpu.setState({ eax: 0x11111111, edx: 0x33333333, ebx: 0xaaaa, ecx: 0xbbbb, eflags: 2 | ZF });
    m.cpu.run(5);
    const s = m.cpu.getState();
    expect([s.eax, s.edx, s.eflags & ZF]).toEqual([0x11111111, 0x22222222, 0]);
    expect([m.mem.read32(DATA_SEG << 4), m.mem.read32((DATA_SEG << 4) + 4)]).toEqual([0x11111111, 0x22222222]);
  });

  it('is #UD with a register operand and on the 486', () => {
    const reg = flatMachine('p6', [0x0f, 0xc7, 0xc8, 0xf4]); // cmpxchg8b eax (mod 11)
    reg.cpu.run(5);
    expect(reg.faultVector()).toBe(UD);
    const old = flatMachine('486', [0x0f, 0xc7, 0x0e, 0xf4]);
    old.cpu.run(5);
    expect(old.faultVector()).toBe(UD);
  });
});
