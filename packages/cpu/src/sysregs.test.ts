import { describe, expect, it } from 'vitest';
import { GP, UD } from './cpu.js';
import type { CpuModelName } from './models.js';
import { flatMachine } from './test-flat-machine.js';

const MOV_CR4_EAX = [0x0f, 0x22, 0xe0];
const MOV_EAX_CR4 = [0x0f, 0x20, 0xe0];

function run(model: CpuModelName, code: number[], regs: { eax?: number; cr4?: number } = {}, cpl: 0 | 3 = 0): { fault: number; eax: number; cr4: number } {
  const m = flatMachine(model, [...code, ...(cpl === 0 ? [0xf4] : [0xeb, 0xfe])], cpl);
  m.cpu.setState(regs);
  m.cpu.run(20);
  const s = m.cpu.getState();
  return { fault: m.faultVector(), eax: s.eax, cr4: s.cr4 };
}

describe('CR4', () => {
  it('takes the bits the model supports and refuses the others with #GP(0)', () => {
    // VME, PVI, TSD, DE, PSE, PAE, PGE, PCE, OSFXSR on the P6
    expect(run('p6', MOV_CR4_EAX, { eax: 0x3bf })).toMatchObject({ fault: -1, cr4: 0x3bf });
    for (const bit of [6, 10, 11, 20, 31]) expect(run('p6', MOV_CR4_EAX, { eax: (1 << bit) >>> 0 }).fault).toBe(GP);
    expect(run('pentium', MOV_CR4_EAX, { eax: 0x1f }).fault).toBe(-1);
    for (const bit of [5, 7, 8, 9]) expect(run('pentium', MOV_CR4_EAX, { eax: 1 << bit }).fault).toBe(GP);
    expect(run('p6', [...MOV_CR4_EAX, ...MOV_EAX_CR4], { eax: 0x10 })).toMatchObject({ fault: -1, eax: 0x10 });
  });

  it('does not exist before the Pentium; CR1 and CR5-CR7 never do', () => {
    expect(run('486', MOV_EAX_CR4).fault).toBe(UD);
    expect(run('386', MOV_CR4_EAX).fault).toBe(UD);
    expect(run('p6', [0x0f, 0x20, 0xc8]).fault).toBe(UD); // mov eax, cr1
    expect(run('p6', [0x0f, 0x22, 0xe8]).fault).toBe(UD); // mov cr5, eax
  });
});

describe('debug registers 4 and 5', () => {
  it('alias DR6 and DR7 without CR4.DE and are #UD with it', () => {
    // mov dr5, eax; mov ebx, dr7 -> mov eax, dr4
    const code = [0x0f, 0x23, 0xe8, 0x0f, 0x21, 0xe0];
    const m = flatMachine('p6', [...code, 0xf4]);
    m.cpu.setState({ eax: 0x401 });
    m.cpu.run(5);
    expect(m.cpu.getState().dr[7]).toBe(0x401);
    expect(run('p6', [0x0f, 0x21, 0xe0]).eax).toBe(0xffff0ff0); // DR6's reset value
    expect(run('p6', [0x0f, 0x21, 0xe0], { cr4: 8 }).fault).toBe(UD);
    expect(run('p6', [0x0f, 0x23, 0xe8], { cr4: 8 }).fault).toBe(UD);
  });
});

describe('UD2, INVD and WBINVD', () => {
  it('UD2 raises #UD; INVD and WBINVD need CPL 0', () => {
    expect(run('p6', [0x0f, 0x0b]).fault).toBe(UD);
    expect(run('p6', [0x0f, 0x09]).fault).toBe(-1);
    expect(run('p6', [0x0f, 0x09], {}, 3).fault).toBe(GP);
    expect(run('p6', [0x0f, 0x08], {}, 3).fault).toBe(GP);
  });
});
