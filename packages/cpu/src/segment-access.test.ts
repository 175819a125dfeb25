import { describe, expect, it } from 'vitest';
import { testMachine, type TestMachine } from './test-machine.js';

/**
 * The checks every data access makes in protected mode (Intel SDM vol. 3A, 5.3, 5.5-5.7, 6.15 for
 * #GP/#SS): the limit (expand-up and expand-down), the rights (no writes to read-only data or code, no
 * reads of execute-only code) and null segments. QEMU's TCG does not make these checks, so the guest
 * programs under guests/tests cannot show them; these tests follow the SDM.
 *
 * Each test starts in 32-bit protected mode at CPL 0 (state set directly): CS = 08h based at
 * 10000h, SS = flat, the test's instruction at CS:0. The IDT at 11000h sends #SS (12) to a HLT at
 * 100h and #GP (13) to a HLT at 110h, so the EIP after the run says which fault was taken, the
 * stack holds its error code and the faulting EIP. The GDT at 12000h holds the handlers' CS (08h).
 */
const CODE = 0x10000;
const IDT = 0x11000;
const GDT = 0x12000;
const SS_HANDLER = 0x100;
const GP_HANDLER = 0x110;
const STACK_TOP = 0x90000;

const CODE32 = { selector: 0x08, base: CODE, limit: 0xffff, attributes: 0x409b };
const FLAT_STACK = { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 };

interface Seg {
  selector: number;
  base: number;
  limit: number;
  attributes: number;
}

function machine(code: number[], segs: { ds?: Seg; es?: Seg; ss?: Seg; cs?: Seg } = {}, regs: Record<string, number> = {}): TestMachine {
  const m = testMachine('p6', []);
  m.poke(CODE, code);
  m.poke(CODE + SS_HANDLER, [0xf4]);
  m.poke(CODE + GP_HANDLER, [0xf4]);
  for (const [vector, handler] of [
    [12, SS_HANDLER],
    [13, GP_HANDLER],
  ] as const) {
    m.poke(IDT + vector * 8, [handler & 0xff, handler >>> 8, 0x08, 0, 0, 0x8e, 0, 0]);
  }
  // 08h: code, base 10000h, limit FFFFh, 32-bit (what the IDT gates name).
  m.poke(GDT + 8, [0xff, 0xff, 0x00, 0x00, 0x01, 0x9b, 0x40, 0x00]);
  m.cpu.setState({
    cr0: 0x11,
    gdtr: { base: GDT, limit: 0x17 },
    cs: segs.cs ?? CODE32,
    ss: segs.ss ?? FLAT_STACK,
    ds: segs.ds ?? FLAT_STACK,
    es: segs.es ?? FLAT_STACK,
    eip: 0,
    esp: STACK_TOP,
    idtr: { base: IDT, limit: 0x7f },
    ...regs,
  });
  return m;
}

/** Runs the instruction; returns which handler ran ('ok' when none) and the error code pushed. */
function outcome(m: TestMachine): { fault: '#GP' | '#SS' | 'ok'; error?: number; eip?: number } {
  m.cpu.run(5);
  const s = m.cpu.getState();
  if (s.eip === SS_HANDLER + 1 || s.eip === GP_HANDLER + 1) {
    return { fault: s.eip === SS_HANDLER + 1 ? '#SS' : '#GP', error: m.mem.read32(s.esp >>> 0), eip: m.mem.read32((s.esp + 4) >>> 0) };
  }
  return { fault: 'ok' };
}

const data = (limit: number, attributes: number, base = 0x20000): Seg => ({ selector: 0x18, base, limit, attributes });

// mov al, [ebx] / mov [ebx], al / mov eax, [ebx] / mov [ebx], eax / mov ax, [ebx] / mov al, [cs:ebx] / mov [cs:ebx], al
const READ8 = [0x8a, 0x03, 0xf4];
const WRITE8 = [0x88, 0x03, 0xf4];
const READ32 = [0x8b, 0x03, 0xf4];
const WRITE32 = [0x89, 0x03, 0xf4];
const READ16 = [0x66, 0x8b, 0x03, 0xf4];
const CS_READ8 = [0x2e, 0x8a, 0x03, 0xf4];
const CS_WRITE8 = [0x2e, 0x88, 0x03, 0xf4];
// push eax / pop eax
const PUSH32 = [0x50, 0xf4];

describe('segment limits on each access', () => {
  it('allows the last byte of an expand-up segment and faults one past it with #GP(0)', () => {
    expect(outcome(machine(READ8, { ds: data(0xfff, 0x93) }, { ebx: 0xfff }))).toEqual({ fault: 'ok' });
    expect(outcome(machine(READ8, { ds: data(0xfff, 0x93) }, { ebx: 0x1000 }))).toEqual({ fault: '#GP', error: 0, eip: 0 });
  });

  it('checks the last byte of a multi-byte access', () => {
    expect(outcome(machine(READ32, { ds: data(0xfff, 0x93) }, { ebx: 0xffc }))).toEqual({ fault: 'ok' });
    expect(outcome(machine(READ32, { ds: data(0xfff, 0x93) }, { ebx: 0xffd }))).toEqual({ fault: '#GP', error: 0, eip: 0 });
    expect(outcome(machine(READ16, { ds: data(0xfff, 0x93) }, { ebx: 0xfff }))).toEqual({ fault: '#GP', error: 0, eip: 0 });
  });

  it('raises #SS(0) for an access through SS past its limit', () => {
    const m = machine([0x36, ...READ8], { ss: { ...FLAT_STACK } }, { ebx: 0 });
    m.cpu.setState({ ds: data(0xfff, 0x93) });
    expect(outcome(m)).toEqual({ fault: 'ok' });
    // ss: mov al, [ebx] with SS limited to 0xFFFF; the handler's stack is SS too, so check it by address.
    const n = machine([0x36, 0x8a, 0x03, 0xf4], { ss: { selector: 0x10, base: 0, limit: 0xfffff, attributes: 0xc093 } }, { ebx: 0x100000 });
    expect(outcome(n).fault).toBe('#SS');
  });
});

describe('expand-down data segments', () => {
  // limit 0FFFh, B = 0: valid offsets 1000h-FFFFh.
  const down16 = data(0xfff, 0x97);
  // limit 0FFFh, B = 1: valid offsets 1000h-FFFFFFFFh.
  const down32 = data(0xfff, 0x4097, 0);

  it('faults at and below the limit and allows the offsets above it', () => {
    expect(outcome(machine(READ8, { ds: down16 }, { ebx: 0xfff })).fault).toBe('#GP');
    expect(outcome(machine(READ8, { ds: down16 }, { ebx: 0 })).fault).toBe('#GP');
    expect(outcome(machine(READ8, { ds: down16 }, { ebx: 0x1000 }))).toEqual({ fault: 'ok' });
    expect(outcome(machine(WRITE32, { ds: down16 }, { ebx: 0xfffc }))).toEqual({ fault: 'ok' });
  });

  it('ends at FFFFh without B and at FFFFFFFFh with it', () => {
    expect(outcome(machine(READ32, { ds: down16 }, { ebx: 0xfffd })).fault).toBe('#GP');
    expect(outcome(machine(READ8, { ds: down16 }, { ebx: 0x10000 })).fault).toBe('#GP');
    expect(outcome(machine(READ8, { ds: down32 }, { ebx: 0x10000 }))).toEqual({ fault: 'ok' });
    expect(outcome(machine(READ8, { ds: down32 }, { ebx: 0xfff })).fault).toBe('#GP');
  });

  it('works as a stack: PUSH below the top, #SS(0) when the push would go to the limit', () => {
    const stack = { selector: 0x10, base: 0x20000, limit: 0xfff, attributes: 0x4097 };
    const m = machine(PUSH32, { ss: stack }, { esp: 0x2000, eax: 0xcafe });
    m.cpu.run(2);
    expect(m.mem.read32(0x20000 + 0x1ffc)).toBe(0xcafe);
    const n = machine(PUSH32, { ss: stack }, { esp: 0x1002 });
    // The #SS itself cannot be delivered on that stack (it is full), so it becomes #DF: its vector is not
    // in this IDT, the CPU shuts down. What matters is that the PUSH did not write below the limit.
    n.cpu.run(3);
    expect(n.mem.read32(0x20000 + 0xffe)).toBe(0);
    expect(n.cpu.getState().esp).toBe(0x1002);
  });

  it('is empty when the limit is the top', () => {
    expect(outcome(machine(READ8, { ds: data(0xffff, 0x97) }, { ebx: 0xffff })).fault).toBe('#GP');
  });
});

describe('read and write rights on each access', () => {
  it('refuses writes to read-only data with #GP(0) and leaves memory unchanged', () => {
    const m = machine(WRITE32, { ds: data(0xffff, 0x91) }, { ebx: 0x10, eax: 0x12345678 });
    expect(outcome(m)).toEqual({ fault: '#GP', error: 0, eip: 0 });
    expect(m.mem.read32(0x20010)).toBe(0);
    expect(outcome(machine(READ8, { ds: data(0xffff, 0x91) }, { ebx: 0x10 }))).toEqual({ fault: 'ok' });
  });

  it('refuses writes through a code segment and reads of execute-only code', () => {
    expect(outcome(machine(CS_WRITE8, {}, { ebx: 0x200 })).fault).toBe('#GP');
    expect(outcome(machine(CS_READ8, {}, { ebx: 0x200 }))).toEqual({ fault: 'ok' });
    const executeOnly = { ...CODE32, attributes: 0x4099 };
    expect(outcome(machine(CS_READ8, { cs: executeOnly }, { ebx: 0x200 })).fault).toBe('#GP');
  });

  it('allows readable code loaded into a data segment register to be read, not written', () => {
    const code = { selector: 0x18, base: 0x20000, limit: 0xffff, attributes: 0x409b };
    expect(outcome(machine(READ8, { ds: code }, { ebx: 0 }))).toEqual({ fault: 'ok' });
    expect(outcome(machine(WRITE8, { ds: code }, { ebx: 0 })).fault).toBe('#GP');
  });

  it('does not check rights in real mode (only the limit)', () => {
    const m = machine(WRITE8, { ds: data(0xffff, 0x91) }, { ebx: 0x10, eax: 0x77 });
    m.cpu.setState({ cr0: 0x10, cs: { selector: CODE >>> 4 } });
    m.cpu.run(2);
    expect(m.mem.read8(0x20010)).toBe(0x77);
  });
});

describe('null segments', () => {
  // mov ax, 0 / mov ds, ax / mov al, [ebx]
  const LOAD_NULL_THEN_READ = [0x66, 0xb8, 0x00, 0x00, 0x8e, 0xd8, 0x8a, 0x03, 0xf4];

  it('load without a fault, then #GP(0) on the first use', () => {
    const m = machine(LOAD_NULL_THEN_READ, {}, { ebx: 0 });
    expect(outcome(m)).toEqual({ fault: '#GP', error: 0, eip: 6 });
    expect(m.cpu.getState().ds.selector).toBe(0);
  });

  it('fault on writes too, at any offset', () => {
    const m = machine([0x66, 0xb8, 0x03, 0x00, 0x8e, 0xc0, 0x26, 0x88, 0x03, 0xf4], {}, { ebx: 0x1234 });
    expect(outcome(m)).toEqual({ fault: '#GP', error: 0, eip: 6 });
  });
});
