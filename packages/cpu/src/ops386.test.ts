import { describe, expect, it } from 'vitest';
import { CF, OF, ZF } from './flags.js';
import type { CpuState } from './state.js';
import { testMachine, DATA_SEG } from './test-machine.js';

/** Runs `code` + HLT on a P6 (or `model`) from `regs`, returns the final state. */
function exec(code: number[], regs: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi' | 'eflags', number>> = {}, model: 'p6' | '386' | '486' | '8086' = 'p6'): CpuState {
  const { cpu } = testMachine(model, [...code, 0xf4]);
  cpu.setState(regs);
  expect(cpu.run(1000)).toBe('halt');
  return cpu.getState();
}

describe('32-bit forms in real mode (operand-size prefix 66, address-size 67)', () => {
  it('ADD EAX, imm32 and 32-bit register moves', () => {
    expect(exec([0x66, 0x05, 0x01, 0x00, 0x00, 0x80], { eax: 0x7fffffff }).eax).toBe(0x00000000);
    expect(exec([0x66, 0x89, 0xd8], { ebx: 0xdeadbeef }).eax).toBe(0xdeadbeef); // mov eax, ebx
  });

  it('32-bit memory operands with a SIB byte', () => {
    const { cpu, mem } = testMachine('p6', [0x67, 0x66, 0x8b, 0x04, 0x9e, 0xf4]); // mov eax, [esi+ebx*4]
    mem.write32((DATA_SEG << 4) + 0x10 + 3 * 4, 0x12345678);
    cpu.setState({ esi: 0x10, ebx: 3 });
    cpu.run(10);
    expect(cpu.getState().eax).toBe(0x12345678);
  });

  it('REP BSF / REP BSR (TZCNT/LZCNT encodings) run as BSF/BSR on a CPU without BMI1', () => {
    let s = exec([0xf3, 0x66, 0x0f, 0xbc, 0xc1], { ecx: 0x100 }); // rep bsf eax, ecx
    expect(s.eax).toBe(8);
    expect(s.eflags & ZF).toBe(0);
    s = exec([0xf3, 0x66, 0x0f, 0xbd, 0xc1], { ecx: 0x100 }); // rep bsr eax, ecx
    expect(s.eax).toBe(8);
    s = exec([0xf3, 0x66, 0x0f, 0xbc, 0xc1], { eax: 0x1234, ecx: 0 });
    expect(s.eflags & ZF).toBe(ZF);
    expect(s.eax).toBe(0x1234);
  });

  it('MOVZX / MOVSX', () => {
    expect(exec([0x66, 0x0f, 0xb6, 0xc3], { eax: 0xffffffff, ebx: 0x80 }).eax).toBe(0x80); // movzx eax, bl
    expect(exec([0x66, 0x0f, 0xbe, 0xc3], { ebx: 0x80 }).eax).toBe(0xffffff80); // movsx eax, bl
    expect(exec([0x66, 0x0f, 0xbf, 0xc3], { ebx: 0x8001 }).eax).toBe(0xffff8001); // movsx eax, bx
  });

  it('BT / BTS / BTR / BTC set CF from the old bit', () => {
    let s = exec([0x66, 0x0f, 0xa3, 0xd8], { eax: 0x80000000, ebx: 31 }); // bt eax, ebx
    expect(s.eflags & CF).toBe(CF);
    s = exec([0x66, 0x0f, 0xba, 0xe8, 0x04], { eax: 0 }); // bts eax, 4
    expect(s.eax).toBe(0x10);
    expect(s.eflags & CF).toBe(0);
    s = exec([0x0f, 0xba, 0xf0, 0x13], { eax: 0xffff }); // btr ax, 19 (mod 16 = 3)
    expect(s.eax & 0xffff).toBe(0xfff7);
    expect(s.eflags & CF).toBe(CF);
    s = exec([0x66, 0x0f, 0xbb, 0xd8], { eax: 1, ebx: 0 }); // btc eax, ebx
    expect(s.eax).toBe(0);
  });

  it('BT with a register offset addresses memory beyond the operand', () => {
    const { cpu, mem } = testMachine('p6', [0x0f, 0xab, 0x1e, 0x00, 0x01, 0xf4]); // bts [0100], bx
    cpu.setState({ ebx: 35 }); // word 2 (byte offset 4), bit 3
    cpu.run(10);
    expect(mem.read8((DATA_SEG << 4) + 0x104)).toBe(0x08);
  });

  it('BSF / BSR find the lowest and highest set bit; zero source sets ZF', () => {
    expect(exec([0x66, 0x0f, 0xbc, 0xc3], { ebx: 0x00f0_0000 }).eax).toBe(20);
    expect(exec([0x66, 0x0f, 0xbd, 0xc3], { ebx: 0x00f0_0000 }).eax).toBe(23);
    const s = exec([0x66, 0x0f, 0xbc, 0xc3], { eax: 7, ebx: 0 });
    expect(s.eflags & ZF).toBe(ZF);
    expect(s.eax).toBe(7);
  });

  it('SHLD / SHRD', () => {
    expect(exec([0x66, 0x0f, 0xa4, 0xd8, 0x08], { eax: 0x11223344, ebx: 0xaabbccdd }).eax).toBe(0x223344aa);
    expect(exec([0x66, 0x0f, 0xad, 0xd8], { eax: 0x11223344, ebx: 0xaabbccdd, ecx: 8 }).eax).toBe(0xdd112233);
    expect(exec([0x0f, 0xa4, 0xd8, 0x04], { eax: 0x1234, ebx: 0xabcd }).eax & 0xffff).toBe(0x234a);
  });

  it('SETcc', () => {
    expect(exec([0x39, 0xd8, 0x0f, 0x94, 0xc1], { eax: 5, ebx: 5 }).ecx & 0xff).toBe(1); // cmp; sete cl
    expect(exec([0x39, 0xd8, 0x0f, 0x9c, 0xc1], { eax: 0xffff, ebx: 1 }).ecx & 0xff).toBe(1); // setl: -1 < 1
    expect(exec([0x39, 0xd8, 0x0f, 0x92, 0xc1], { eax: 0xffff, ebx: 1 }).ecx & 0xff).toBe(0); // setb: ffff !< 1
  });

  it('BSWAP (486)', () => {
    expect(exec([0x66, 0x0f, 0xc8], { eax: 0x11223344 }).eax).toBe(0x44332211);
  });

  it('XADD and CMPXCHG (486)', () => {
    const x = exec([0x66, 0x0f, 0xc1, 0xd8], { eax: 10, ebx: 5 }); // xadd eax, ebx
    expect([x.eax, x.ebx]).toEqual([15, 10]);
    const eq = exec([0x66, 0x0f, 0xb1, 0xd9], { eax: 7, ecx: 7, ebx: 99 }); // cmpxchg ecx, ebx
    expect([eq.ecx, eq.eflags & ZF]).toEqual([99, ZF]);
    const ne = exec([0x66, 0x0f, 0xb1, 0xd9], { eax: 7, ecx: 8, ebx: 99 });
    expect([ne.eax, ne.ecx, ne.eflags & ZF]).toEqual([8, 8, 0]);
  });

  it('MUL / IMUL / DIV / IDIV at 32 bits', () => {
    const m = exec([0x66, 0xf7, 0xe3], { eax: 0xffffffff, ebx: 0xffffffff }); // mul ebx
    expect([m.edx, m.eax, m.eflags & (CF | OF)]).toEqual([0xfffffffe, 1, CF | OF]);
    const im = exec([0x66, 0xf7, 0xeb], { eax: 0xfffffffe, ebx: 3 }); // imul ebx: -2*3
    expect([im.edx, im.eax, im.eflags & CF]).toEqual([0xffffffff, 0xfffffffa, 0]);
    const i2 = exec([0x66, 0x0f, 0xaf, 0xc3], { eax: 0x10000, ebx: 0x10000 }); // imul eax, ebx
    expect([i2.eax, i2.eflags & OF]).toEqual([0, OF]);
    const d = exec([0x66, 0xf7, 0xf3], { edx: 1, eax: 0, ebx: 3 }); // div ebx: 2^32 / 3
    expect([d.eax, d.edx]).toEqual([0x55555555, 1]);
    const id = exec([0x66, 0xf7, 0xfb], { edx: 0xffffffff, eax: 0xfffffff9, ebx: 2 }); // idiv: -7 / 2
    expect([id.eax, id.edx]).toEqual([0xfffffffd, 0xffffffff]);
  });

  it('CPUID reports the model; older models raise #UD', () => {
    const s = exec([0x0f, 0xa2], { eax: 0 });
    expect(s.eax).toBe(2); // the P6's highest leaf: 2 (cache descriptors)
    expect([s.ebx, s.edx, s.ecx].map((v) => Buffer.from(new Uint32Array([v]).buffer).toString('latin1')).join('')).toBe('GenuineIntel');
    expect(exec([0x0f, 0xa2], { eax: 1 }).eax >> 8 & 0xf).toBe(6);
    expect(exec([0x0f, 0xa2], { eax: 1 }, '486').eax >> 8 & 0xf).toBe(4);
  });

  it('string instructions with 32-bit registers (REP MOVSD, address size 32)', () => {
    const { cpu, mem } = testMachine('p6', [0xf3, 0x67, 0x66, 0xa5, 0xf4]); // rep movsd (67: esi/edi/ecx)
    for (let i = 0; i < 16; i++) mem.write8((DATA_SEG << 4) + i, i + 1);
    cpu.setState({ esi: 0, edi: 0x100, ecx: 4 });
    cpu.run(10);
    const s = cpu.getState();
    expect([s.ecx, s.esi, s.edi]).toEqual([0, 16, 0x110]);
    expect(mem.read32((DATA_SEG << 4) + 0x10c)).toBe(0x100f0e0d);
  });
});

describe('port I/O', () => {
  it('IN/OUT and INSB/OUTSB use byte, word and dword ports', () => {
    const written: string[] = [];
    const io = {
      in8: (p: number) => p & 0xff,
      in16: (p: number) => (p ^ 0xffff) & 0xffff,
      in32: () => 0x12345678,
      out8: (p: number, v: number) => written.push(`b${p.toString(16)}=${v.toString(16)}`),
      out16: (p: number, v: number) => written.push(`w${p.toString(16)}=${v.toString(16)}`),
      out32: (p: number, v: number) => written.push(`d${p.toString(16)}=${v.toString(16)}`),
    };
    // in al, 42h; out dx, al; in ax, dx; out 80h, ax; insb; outsb; in eax, dx; hlt
    const m = testMachine('486', [0xe4, 0x42, 0xee, 0xed, 0xe7, 0x80, 0x6c, 0x6e, 0x66, 0xed, 0xf4]);
    m.cpu.io = io;
    m.cpu.setState({ edx: 0x3f8, edi: 0x10, esi: 0x20 });
    m.poke((DATA_SEG << 4) + 0x20, [0x99]);
    m.cpu.run(20);
    const s = m.cpu.getState();
    expect(written).toEqual(['b3f8=42', 'w80=fc07', 'b3f8=99']);
    expect(m.mem.read8((DATA_SEG << 4) + 0x10)).toBe(0xf8);
    expect([s.edi, s.esi, s.eax]).toEqual([0x11, 0x21, 0x12345678]);
  });
});
