import { describe, expect, it } from 'vitest';
import type { IoPorts } from './bus.js';
import { HANDLER, IDT, SEL_CODE0, SEL_CODE3, SEL_DATA3, TSS_MAIN, pmMachine, type PmMachine } from './pm-test-machine.js';

const BITMAP = TSS_MAIN + 0x68;
/** 32 bitmap bytes (ports 0-FFh), then the all-ones byte at the limit. */
const LIMIT = 0x68 + 0x20;
const DONE = [0xcd, 0x80]; // INT 80h: a DPL-3 gate whose handler halts

interface Recorder extends IoPorts {
  log: string[];
}
function recorder(): Recorder {
  const log: string[] = [];
  return {
    log,
    in8: (p) => (log.push(`in8 ${p.toString(16)}`), 0x5a),
    in16: (p) => (log.push(`in16 ${p.toString(16)}`), 0x5a5a),
    in32: (p) => (log.push(`in32 ${p.toString(16)}`), 0x5a5a5a5a),
    out8: (p, v) => void log.push(`out8 ${p.toString(16)}=${v.toString(16)}`),
    out16: (p, v) => void log.push(`out16 ${p.toString(16)}=${v.toString(16)}`),
    out32: (p, v) => void log.push(`out32 ${p.toString(16)}=${v.toString(16)}`),
  };
}

/**
 * Runs `code` at CPL 3 (IOPL from `eflags`) with the main TSS given a bitmap that denies every port
 * but `allowed`. Returns the machine and the vector it halted in (80h: the code ran to its end).
 */
function ring3(code: number[], allowed: number[], eflags = 2, setup?: (m: PmMachine) => void): { m: PmMachine; io: Recorder; vector: number } {
  const io = recorder();
  const m = pmMachine([...code, ...DONE], { io });
  m.gate(IDT, 0x80, SEL_CODE0, HANDLER + 0x80 * 16, 0xee);
  m.desc(0x28, TSS_MAIN, LIMIT, 0x8b, 0);
  m.w16(TSS_MAIN + 0x66, 0x68);
  for (let i = 0; i <= 0x20; i++) m.poke(BITMAP + i, [0xff]);
  for (const p of allowed) m.poke(BITMAP + (p >>> 3), [m.r8(BITMAP + (p >>> 3)) & ~(1 << (p & 7))]);
  const flat = (sel: number, attributes: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attributes });
  m.cpu.setState({
    trCache: { limit: LIMIT },
    cs: flat(SEL_CODE3 | 3, 0xc0fb),
    ss: flat(SEL_DATA3 | 3, 0xc0f3),
    ds: flat(SEL_DATA3 | 3, 0xc0f3),
    es: flat(SEL_DATA3 | 3, 0xc0f3),
    esp: 0x8800,
    eflags,
  });
  setup?.(m);
  expect(m.run()).toBe('halt');
  return { m, io, vector: m.haltedVector() };
}

const MOV_DX = (port: number): number[] => [0x66, 0xba, port & 0xff, port >>> 8];
const IN_AL_DX = [0xec];
const IN_AX_DX = [0x66, 0xed];
const IN_EAX_DX = [0xed];
const OUT_DX_AL = [0xee];

describe('the I/O permission bitmap above IOPL', () => {
  it('lets a port whose bit is clear through and faults #GP(0) on one whose bit is set', () => {
    const ok = ring3([...MOV_DX(0x61), ...IN_AL_DX, ...OUT_DX_AL], [0x61]);
    expect(ok.vector).toBe(0x80);
    expect(ok.io.log).toEqual(['in8 61', 'out8 61=5a']);
    const denied = ring3([...MOV_DX(0x62), ...IN_AL_DX], [0x61]);
    expect(denied.vector).toBe(13);
    expect(denied.m.r32(0xb000 - 24)).toBe(0); // #GP(0), on the ring-0 stack
    expect(denied.io.log).toEqual([]);
  });

  it('checks the bit of every byte of a word or dword access', () => {
    expect(ring3([...MOV_DX(0x60), ...IN_AX_DX], [0x60, 0x61]).vector).toBe(0x80);
    expect(ring3([...MOV_DX(0x60), ...IN_AX_DX], [0x60]).vector).toBe(13);
    expect(ring3([...MOV_DX(0x7e), ...IN_EAX_DX], [0x7e, 0x7f, 0x80, 0x81]).vector).toBe(0x80);
    expect(ring3([...MOV_DX(0x7e), ...IN_EAX_DX], [0x7e, 0x7f, 0x80]).vector).toBe(13);
  });

  it('reads two bytes of the bitmap: both must lie within the TSS limit', () => {
    // Port FFh is the last bit of the bitmap; its second byte is the all-ones byte at the limit.
    expect(ring3([...MOV_DX(0xff), ...IN_AL_DX], [0xff]).vector).toBe(0x80);
    expect(ring3([...MOV_DX(0xff), ...IN_AX_DX], [0xff]).vector).toBe(13);
    // Port 100h: its byte is the one at the limit, the one after is beyond it.
    expect(ring3([...MOV_DX(0x100), ...IN_AL_DX], [], 2, (m) => m.poke(BITMAP + 0x20, [0])).vector).toBe(13);
    // A map base past the limit: no port is allowed.
    expect(ring3([...MOV_DX(0x61), ...IN_AL_DX], [0x61], 2, (m) => m.w16(TSS_MAIN + 0x66, LIMIT + 1)).vector).toBe(13);
  });

  it('has no bitmap in a 16-bit TSS', () => {
    const r = ring3([...MOV_DX(0x61), ...IN_AL_DX], [0x61], 2, (m) => {
      m.w16(TSS_MAIN + 2, 0xb000); // SP0, SS0 of a 16-bit TSS
      m.w16(TSS_MAIN + 4, 0x10);
      m.cpu.setState({ trCache: { attributes: 0x83 } });
    });
    expect(r.vector).toBe(13);
  });

  it('is skipped when CPL <= IOPL', () => {
    const r = ring3([...MOV_DX(0x62), ...IN_AL_DX], [], 0x3002);
    expect(r.vector).toBe(0x80);
    expect(r.io.log).toEqual(['in8 62']);
  });

  it('faults a REP OUTSB before its first iteration, leaving ECX', () => {
    // mov ecx, 3 / mov esi, 0 / rep outsb
    const r = ring3([0xb9, 3, 0, 0, 0, 0xbe, 0, 0, 0, 0, ...MOV_DX(0x62), 0xf3, 0x6e], [0x61]);
    expect(r.vector).toBe(13);
    expect(r.m.cpu.getState().ecx).toBe(3);
    expect(r.io.log).toEqual([]);
  });

  it('covers IN/OUT imm8, INS and OUTS', () => {
    expect(ring3([0xe4, 0x61], [0x61]).io.log).toEqual(['in8 61']);
    expect(ring3([0xe6, 0x62], [0x61]).vector).toBe(13);
    // mov edi, 9000h / insb
    const ins = ring3([0xbf, 0, 0x90, 0, 0, ...MOV_DX(0x61), 0x6c], [0x61]);
    expect(ins.vector).toBe(0x80);
    expect(ins.m.r8(0x9000)).toBe(0x5a);
    expect(ring3([0xbf, 0, 0x90, 0, 0, ...MOV_DX(0x62), 0x6c], [0x61]).vector).toBe(13);
  });

  it('applies in virtual-8086 mode whatever IOPL is', () => {
    // v86 at 1000:0 (linear 10000h, where the code is): mov dx, 61h / in al, dx / mov dx, 62h / in al, dx
    const code = [0xba, 0x61, 0x00, 0xec, 0xba, 0x62, 0x00, 0xec];
    const r = ring3([], [0x61], 2, (m) => {
      m.poke(0x10000, code);
      const v86 = (sel: number) => ({ selector: sel, base: sel << 4, limit: 0xffff, attributes: 0xf3 });
      m.cpu.setState({ eflags: 0x23002, cs: v86(0x1000), ss: v86(0x800), ds: v86(0), es: v86(0), eip: 0, esp: 0x1000 });
    });
    expect(r.vector).toBe(13);
    expect(r.io.log).toEqual(['in8 61']);
    expect(r.m.r32(0xb000 - 36)).toBe(7); // the faulting IN (EIP pushed after the error code)
  });
});
