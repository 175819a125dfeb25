import { describe, expect, it } from 'vitest';
import { testMachine, type TestMachine } from './test-machine.js';

const read32 = (m: TestMachine, addr: number): number => m.mem.read32(addr) >>> 0;

/** An IDT gate at physical 0x11000 + 8 * vector to selector 08h; `type` 8Eh/EEh interrupt (DPL 0/3). */
function gate(m: TestMachine, vector: number, offset: number, type: number): void {
  m.poke(0x11000 + vector * 8, [offset & 0xff, (offset >>> 8) & 0xff, 0x08, 0, 0, type, 0, 0]);
}

/*
 * GDT at 12000h: 08h ring-0 code32 (base 10000h), 10h ring-0 flat data, 18h ring-3 code32 (base
 * 10000h), 20h ring-3 flat data, 28h 32-bit TSS at 13000h (SS0:ESP0 = 10h:90000h, no I/O bitmap).
 *
 * ring 0 at 0:    mov ax, 28h / ltr ax / str ecx / push 23h / push 80000h / push 2 / push 1Bh /
 *                 push 100h / iretd                                  ; to ring 3
 * ring 3 at 100h: mov eax, 1234h / int 80h / mov edi, esi / int 81h (gate DPL 0: #GP(40Ah)) /
 *                 in al, 60h (IOPL 0: #GP(0)) / cli (#GP(0)) / nop / int 82h
 * #GP at 200h:    pop edx / mov [ebp], edx / add ebp, 4 / add dword [esp], 2 / iretd
 * int 80h at 300h: mov esi, 77h / iretd
 * int 82h at 380h: hlt
 */
const IRET_KERNEL = [0x66, 0xb8, 0x28, 0x00, 0x0f, 0x00, 0xd8, 0x0f, 0x00, 0xc9, 0x6a, 0x23, 0x68, 0x00, 0x00, 0x08, 0x00, 0x6a, 0x02, 0x6a, 0x1b, 0x68, 0x00, 0x01, 0x00, 0x00, 0xcf];

const USER = [0xb8, 0x34, 0x12, 0x00, 0x00, 0xcd, 0x80, 0x89, 0xf7, 0xcd, 0x81, 0xe4, 0x60, 0xfa, 0x90, 0xcd, 0x82];

function ring3Machine(kernel = IRET_KERNEL, user = USER, setup?: (m: TestMachine) => void): TestMachine {
  const m = testMachine('p6', kernel);
  m.poke(0x10100, user);
  m.poke(0x10200, [0x5a, 0x89, 0x55, 0x00, 0x83, 0xc5, 0x04, 0x83, 0x04, 0x24, 0x02, 0xcf]);
  m.poke(0x10300, [0xbe, 0x77, 0x00, 0x00, 0x00, 0xcf]);
  m.poke(0x10380, [0xf4]);
  m.poke(0x12008, [0xff, 0xff, 0x00, 0x00, 0x01, 0x9b, 0x40, 0x00]);
  m.poke(0x12010, [0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00]);
  m.poke(0x12018, [0xff, 0xff, 0x00, 0x00, 0x01, 0xfa, 0x40, 0x00]);
  m.poke(0x12020, [0xff, 0xff, 0x00, 0x00, 0x00, 0xf2, 0xcf, 0x00]);
  m.poke(0x12028, [0x67, 0x00, 0x00, 0x30, 0x01, 0x89, 0x00, 0x00]);
  m.poke(0x13004, [0x00, 0x00, 0x09, 0x00, 0x10, 0x00]);
  m.poke(0x13066, [0x68, 0x00]); // I/O map base past the limit: no port allowed above IOPL
  gate(m, 13, 0x200, 0x8e);
  gate(m, 0x80, 0x300, 0xee);
  gate(m, 0x81, 0x300, 0x8e);
  gate(m, 0x82, 0x380, 0xee);
  m.cpu.setState({
    cr0: 0x11,
    gdtr: { base: 0x12000, limit: 0x2f },
    idtr: { base: 0x11000, limit: 0x83 * 8 - 1 },
    cs: { selector: 0x08, base: 0x10000, limit: 0xffff, attributes: 0x409b },
    ss: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    ds: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    esp: 0x8f000,
    ebp: 0x700,
  });
  setup?.(m);
  expect(m.cpu.run(100)).toBe('halt');
  return m;
}

describe('privilege levels: LTR, IRET to ring 3, inner-level interrupts through the TSS', () => {
  it('loads TR with LTR (marking the TSS busy) and reads it back with STR', () => {
    const m = ring3Machine();
    expect(m.cpu.getState().tr).toBe(0x28);
    expect(m.cpu.getState().ecx).toBe(0x28);
    expect(m.mem.read8(0x12028 + 5)).toBe(0x8b);
  });

  it('returns to ring 3 with IRETD and nulls the ring-0 data segments', () => {
    const s = ring3Machine().cpu.getState();
    expect(s.eax).toBe(0x1234);
    expect(s.ds.selector).toBe(0);
    expect(s.es.selector).toBe(0); // its cache (attributes 93h, from real mode) has DPL 0 too
  });

  it('switches to SS0:ESP0 from the TSS on an interrupt from ring 3 and pushes the old SS:ESP', () => {
    const m = ring3Machine();
    const s = m.cpu.getState();
    expect(s.cs.selector).toBe(0x08);
    expect(s.ss.selector).toBe(0x10);
    expect(s.esp).toBe(0x90000 - 20);
    expect(read32(m, s.esp)).toBe(0x111); // after INT 82h
    expect(read32(m, s.esp + 4)).toBe(0x1b);
    expect(read32(m, s.esp + 12)).toBe(0x80000);
    expect(read32(m, s.esp + 16)).toBe(0x23);
    expect(s.edi).toBe(0x77); // INT 80h ran at ring 0 and IRETD came back to ring 3
  });

  it('raises #GP for a gate whose DPL is below CPL and for IN and CLI above IOPL', () => {
    const m = ring3Machine();
    expect(read32(m, 0x700)).toBe(0x81 * 8 + 2);
    expect(read32(m, 0x704)).toBe(0);
    expect(read32(m, 0x708)).toBe(0);
    expect(m.cpu.getState().ebp).toBe(0x70c);
  });

  it('exposes the TR cache in the state API and validates it on the way in', () => {
    const m = ring3Machine();
    expect(m.cpu.getState().trCache).toEqual({ base: 0x13000, limit: 0x67, attributes: 0x8b });
    expect(() => m.cpu.setState({ trCache: { attributes: 0x100 } })).toThrow(/trCache.attributes/);
    m.cpu.setState({ trCache: { base: 0x14000 }, ldtrCache: { base: 0x15000, limit: 0xf } });
    expect(m.cpu.getState().trCache.base).toBe(0x14000);
    expect(m.cpu.getState().ldtrCache).toEqual({ base: 0x15000, limit: 0xf });
  });

  it('returns to ring 3 with RETF imm16, releasing the parameters on both stacks', () => {
    // ltr 28h / push 23h / push 80000h / push 1 / push 2 / push 1Bh / push 100h / retf 8
    const kernel = [0x66, 0xb8, 0x28, 0x00, 0x0f, 0x00, 0xd8, 0x6a, 0x23, 0x68, 0x00, 0x00, 0x08, 0x00, 0x6a, 0x01, 0x6a, 0x02, 0x6a, 0x1b, 0x68, 0x00, 0x01, 0x00, 0x00, 0xca, 0x08, 0x00];
    const m = ring3Machine(kernel);
    const s = m.cpu.getState();
    expect(s.eax).toBe(0x1234);
    expect(s.edi).toBe(0x77);
    expect(read32(m, s.esp + 12)).toBe(0x80008); // the ring-3 ESP after the release
    expect(read32(m, s.esp + 16)).toBe(0x23);
    expect(s.esp).toBe(0x90000 - 20);
  });

  it('calls ring 0 from ring 3 through a call gate, copying its parameter to the TSS stack', () => {
    // ring 3: push 5A5Ah / call 33h:0 (gate 30h, DPL 3, to 08h:400h, 1 parameter)
    // ring 0 at 400h: mov eax, [esp + 8] / hlt
    const user = [0x68, 0x5a, 0x5a, 0x00, 0x00, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x33, 0x00];
    const m = ring3Machine(IRET_KERNEL, user, (mm) => {
      mm.poke(0x12030, [0x00, 0x04, 0x08, 0x00, 0x01, 0xec, 0x00, 0x00]);
      mm.poke(0x10400, [0x8b, 0x44, 0x24, 0x08, 0xf4]);
      mm.cpu.setState({ gdtr: { base: 0x12000, limit: 0x37 } });
    });
    const s = m.cpu.getState();
    expect(s.cs.selector).toBe(0x08);
    expect(s.ss.selector).toBe(0x10);
    expect(s.eax).toBe(0x5a5a);
    expect(s.esp).toBe(0x90000 - 20);
    expect(read32(m, s.esp)).toBe(0x10c);
    expect(read32(m, s.esp + 4)).toBe(0x1b);
    expect(read32(m, s.esp + 12)).toBe(0x80000 - 4);
    expect(read32(m, s.esp + 16)).toBe(0x23);
  });

  it('refuses a call gate whose DPL is below CPL with #GP(gate selector)', () => {
    // ring 3: mov ax, 23h / mov ds, ax / mov esi, 800h / call far [esi] (-> 33h:0, gate DPL 0) / int 82h
    const user = [0x66, 0xb8, 0x23, 0x00, 0x8e, 0xd8, 0xbe, 0x00, 0x08, 0x00, 0x00, 0xff, 0x1e, 0xcd, 0x82];
    const m = ring3Machine(IRET_KERNEL, user, (mm) => {
      mm.poke(0x12030, [0x00, 0x04, 0x08, 0x00, 0x00, 0x8c, 0x00, 0x00]);
      mm.poke(0x800, [0x00, 0x00, 0x00, 0x00, 0x33, 0x00]);
      mm.cpu.setState({ gdtr: { base: 0x12000, limit: 0x37 } });
    });
    expect(read32(m, 0x700)).toBe(0x30);
    expect(m.cpu.getState().ebp).toBe(0x704);
  });
});
