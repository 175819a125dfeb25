import { describe, expect, it } from 'vitest';
import { ZF } from './flags.js';
import { testMachine } from './test-machine.js';

/**
 * CPL 0 in 32-bit protected mode with a GDT at 12000h: 08h code32 (9Bh), 10h flat data (93h, G),
 * 18h ring-3 execute-only code (F8h), 20h ring-3 read-only data limit 1234h (F0h), 28h 32-bit TSS
 * limit 67h (89h); limit 2Fh.
 */
function machine(code: number[]) {
  const m = testMachine('p6', code);
  m.poke(0x12008, [0xff, 0xff, 0x00, 0x00, 0x01, 0x9b, 0x40, 0x00]);
  m.poke(0x12010, [0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00]);
  m.poke(0x12018, [0xff, 0xff, 0x00, 0x00, 0x00, 0xf8, 0x40, 0x00]);
  m.poke(0x12020, [0x34, 0x12, 0x00, 0x00, 0x00, 0xf0, 0x40, 0x00]);
  m.poke(0x12028, [0x67, 0x00, 0x00, 0x30, 0x01, 0x89, 0x00, 0x00]);
  m.cpu.setState({
    cr0: 0x11,
    gdtr: { base: 0x12000, limit: 0x2f },
    cs: { selector: 0x08, base: 0x10000, limit: 0xffff, attributes: 0x409b },
    ss: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    esp: 0x90000,
  });
  return m;
}

const movDx = (sel: number): number[] => [0x66, 0xba, sel, 0x00];

describe('LAR, LSL, VERR, VERW, ARPL', () => {
  /** Runs `code` (a MOV DX, sel then the query) and returns ZF and the CPU state. */
  function query(sel: number, insn: number[]) {
    const m = machine([...movDx(sel), ...insn]);
    m.cpu.setState({ eax: 0xaaaa, ebx: 0xbbbb });
    expect(m.cpu.run(2)).toBe('budget');
    const s = m.cpu.getState();
    return { zf: (s.eflags & ZF) !== 0, s };
  }
  const LAR_EAX_EDX = [0x0f, 0x02, 0xc2];
  const LSL_EBX_EDX = [0x0f, 0x03, 0xda];
  const VERR_DX = [0x0f, 0x00, 0xe2];
  const VERW_DX = [0x0f, 0x00, 0xea];

  it('LAR returns the access rights of a visible descriptor', () => {
    const r = query(0x10, LAR_EAX_EDX);
    expect(r.zf).toBe(true);
    expect(r.s.eax).toBe(0x00c09300); // flags nibble and byte 5, not the limit bits
    expect(query(0x28, LAR_EAX_EDX).s.eax).toBe(0x00008900); // a TSS is reported too
  });

  it('LAR clears ZF and leaves the register for a null, out-of-table or less privileged-by-RPL selector', () => {
    for (const sel of [0x00, 0x48, 0x13]) {
      const r = query(sel, LAR_EAX_EDX);
      expect(r.zf).toBe(false);
      expect(r.s.eax).toBe(0xaaaa);
    }
  });

  it('LSL returns the byte limit', () => {
    const r = query(0x20, LSL_EBX_EDX);
    expect(r.zf).toBe(true);
    expect(r.s.ebx).toBe(0x1234);
    expect(query(0x10, LSL_EBX_EDX).s.ebx).toBe(0xffffffff); // granularity applied
  });

  it('VERR and VERW check readability and writability', () => {
    expect(query(0x18, VERR_DX).zf).toBe(false); // execute-only code
    expect(query(0x08, VERR_DX).zf).toBe(true); // readable code
    expect(query(0x20, VERW_DX).zf).toBe(false); // read-only data
    expect(query(0x10, VERW_DX).zf).toBe(true);
    expect(query(0x28, VERR_DX).zf).toBe(false); // system descriptor
  });

  it('ARPL raises the RPL and says so in ZF', () => {
    // mov ax, 10h / mov cx, 3 / arpl ax, cx / arpl ax, cx
    const m = machine([0x66, 0xb8, 0x10, 0x00, 0x66, 0xb9, 0x03, 0x00, 0x63, 0xc8, 0x63, 0xc8]);
    m.cpu.run(3);
    expect(m.cpu.getState().eax & 0xffff).toBe(0x13);
    expect(m.cpu.getState().eflags & ZF).toBe(ZF);
    m.cpu.run(1);
    expect(m.cpu.getState().eflags & ZF).toBe(0);
  });

  it('raises #UD in real mode', () => {
    const m = testMachine('p6', [0x0f, 0x02, 0xc2]);
    m.poke(6 * 4, [0x00, 0x05, 0x00, 0x00]);
    m.cpu.run(1);
    expect(m.cpu.getState().eip).toBe(0x500);
  });
});
