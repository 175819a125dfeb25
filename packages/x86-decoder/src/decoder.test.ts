import { describe, expect, it } from 'vitest';
import { Code, CODE_NAMES } from './generated/code.js';
import { MemorySize } from './generated/memory-size.js';
import { Mnemonic } from './generated/mnemonic.js';
import { DecodeError } from './decode-error.js';
import { decode, decode64 } from './decoder.js';
import { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { Eflags, Prefix } from './prefix.js';
import { Register } from './register.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

describe('decode', () => {
  const ins = new Instruction();

  it('decodes a register form with numeric registers, operand size and flags facts', () => {
    decode(hex('01 CE'), 0, 0x1000, 32, ins);
    expect(ins.code).toBe(Code.Add_rm32_r32);
    expect(ins.mnemonic).toBe(Mnemonic.Add);
    expect(ins.length).toBe(2);
    expect(ins.opSize).toBe(32);
    expect(ins.opCount).toBe(2);
    expect([ins.opKind[0], ins.opRegister[0], ins.opRegister[1]]).toEqual([OpKind.Register, Register.ESI, Register.ECX]);
    expect(ins.flagsWritten).toBe(Eflags.OF | Eflags.SF | Eflags.ZF | Eflags.AF | Eflags.PF | Eflags.CF);
  });

  it('decodes SIB memory with segment override, LOCK and an 8-bit immediate', () => {
    // lock add dword ptr fs:[eax+ecx*4+12345678h], -1
    decode(hex('F0 64 83 84 88 78563412 FF'), 0, 0, 32, ins);
    expect(CODE_NAMES[ins.code]).toBe('Add_rm32_imm8');
    expect(ins.length).toBe(10);
    expect(ins.prefixes & (Prefix.Lock | Prefix.Segment)).toBe(Prefix.Lock | Prefix.Segment);
    expect([ins.memSegment, ins.memBase, ins.memIndex, ins.memScale]).toEqual([Register.FS, Register.EAX, Register.ECX, 4]);
    expect([ins.memDisp, ins.memDispSize, ins.memSize]).toEqual([0x12345678, 4, MemorySize.UInt32]);
    expect([ins.opKind[1], ins.imm]).toEqual([OpKind.Immediate8to32, 0xffffffff]);
  });

  it('uses 16-bit addressing and SS for BP-based forms', () => {
    decode(hex('8B 46 FE'), 0, 0x100, 16, ins); // mov ax, [bp-2]
    expect(ins.code).toBe(Code.Mov_r16_rm16);
    expect([ins.memSegment, ins.memBase, ins.memIndex, ins.memDisp]).toEqual([Register.SS, Register.BP, 0, 0xfffe]);
  });

  it('computes near branch targets from the next IP', () => {
    decode(hex('E8 FB FF FF FF'), 0, 0x401000, 32, ins); // call $ (to itself)
    expect(ins.code).toBe(Code.Call_rel32_32);
    expect([ins.opKind[0], ins.targetLo, ins.nextIpLo]).toEqual([OpKind.NearBranch32, 0x401000, 0x401005]);
    decode64(hex('EB FE'), 0, 0xfffffff0, 0x7fffffff, 64, ins);
    expect([ins.opKind[0], ins.targetLo, ins.targetHi]).toEqual([OpKind.NearBranch64, 0xfffffff0, 0x7fffffff]);
  });

  it('decodes x87 memory and register forms', () => {
    decode(hex('DD 45 08'), 0, 0, 32, ins); // fld qword ptr [ebp+8]
    expect([ins.code, ins.memSize, ins.memSegment]).toEqual([Code.Fld_m64fp, MemorySize.Float64, Register.SS]);
    decode(hex('D8 C3'), 0, 0, 32, ins); // fadd st, st(3)
    expect(ins.code).toBe(Code.Fadd_st0_sti);
    expect(ins.opRegister[0]).toBe(Register.ST0);
    expect(ins.opRegister[1]).toBe(Register.ST0 + 3);
  });

  it('reports truncated input as NoMoreBytes and keeps the bytes it saw as the length', () => {
    decode(hex('B8 5A A5'), 0, 0, 32, ins);
    expect([ins.code, ins.error, ins.length]).toEqual([Code.INVALID, DecodeError.NoMoreBytes, 3]);
    decode(new Uint8Array(0), 0, 0, 32, ins);
    expect([ins.code, ins.error, ins.length]).toEqual([Code.INVALID, DecodeError.NoMoreBytes, 0]);
  });

  it('reports more than 15 bytes as TooLong', () => {
    decode(hex('26'.repeat(14) + '01 CE'), 0, 0, 32, ins);
    expect([ins.code, ins.error]).toEqual([Code.INVALID, DecodeError.TooLong]);
    decode(hex('26'.repeat(13) + '01 CE'), 0, 0, 32, ins);
    expect([ins.code, ins.length]).toEqual([Code.Add_rm32_r32, 15]);
  });

  it('rejects LOCK on a register destination as an invalid instruction', () => {
    decode(hex('F0 01 CE'), 0, 0, 32, ins);
    expect([ins.code, ins.error]).toEqual([Code.INVALID, DecodeError.InvalidInstruction]);
  });

  it('decodes at an offset inside a larger buffer', () => {
    decode(hex('90 90 C3'), 2, 0x10, 32, ins);
    expect([ins.code, ins.length, ins.ipLo]).toEqual([Code.Retnd, 1, 0x10]);
  });

  it('never throws and always gives a length of 0-15 on random bytes', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const buf = new Uint8Array(20);
    let bad = 0;
    for (const bits of [16, 32, 64]) {
      for (let i = 0; i < 20000; i++) {
        for (let j = 0; j < buf.length; j++) buf[j] = rand();
        const len = i % 21;
        decode(buf.subarray(0, len), 0, 0, bits, ins);
        if (ins.length > Math.min(15, len) || (ins.code !== Code.INVALID && ins.length === 0)) bad++;
      }
    }
    expect(bad).toBe(0);
  }, 60_000);
});
