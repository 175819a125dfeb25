import { describe, expect, it } from 'vitest';
import { decode } from '../decoder.js';
import { Instruction } from '../instruction.js';
import { formatIntel } from './intel-formatter.js';
import { formatHex, formatTarget } from './numbers.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

function fmt(bytes: string, bitness = 32, ip = 0): string {
  const ins = new Instruction();
  decode(hex(bytes), 0, ip, bitness, ins);
  return formatIntel(ins);
}

describe('formatIntel', () => {
  it('writes registers, memory and immediates the XED way', () => {
    expect(fmt('01 CE')).toBe('add esi,ecx');
    expect(fmt('8B 44 24 FC')).toBe('mov eax,[esp-4]');
    expect(fmt('83 C0 FF')).toBe('add eax,0FFFFFFFFh');
    expect(fmt('C6 00 0A')).toBe('mov byte ptr [eax],0Ah');
    expect(fmt('8D 84 D8 00 01 00 00')).toBe('lea eax,[eax+ebx*8+100h]');
    expect(fmt('2E 8B 00')).toBe('mov eax,cs:[eax]');
    expect(fmt('3E 8B 45 00')).toBe('mov eax,ds:[ebp]');
  });

  it('writes EVEX opmask, zeroing, rounding, SAE and broadcast decorations', () => {
    expect(fmt('62 F1 4C 3B 58 D3', 64)).toBe('vaddps zmm2{k3}{rd-sae},zmm6,zmm3');
    expect(fmt('62 F1 4C 9D 58 50 01', 64)).toBe('vaddps xmm2{k5}{z},xmm6,[rax+4]{1to4}');
    expect(fmt('62 F1 7C 18 2E D3', 64)).toBe('vucomiss xmm2{sae},xmm3');
    expect(fmt('62 F1 FF 18 2D D3', 64)).toBe('vcvtsd2si rdx{rne-sae},xmm3');
    // disp8 is scaled by the memory operand's size (32 bytes for a ymm operand).
    expect(fmt('62 F2 4D AB 50 50 01', 64)).toBe('vpdpbusd ymm2{k3}{z},ymm6,[rax+20h]');
  });

  it('writes branches with padded targets, short and far', () => {
    expect(fmt('EB 40', 32, 0x1000)).toBe('jmp short 00001042h');
    expect(fmt('E8 FB FF FF FF')).toBe('call 0');
    expect(fmt('9A 78 56 34 12 34 12')).toBe('call far 12345678h,1234h');
    expect(fmt('FF 28')).toBe('jmp far fword ptr [eax]');
  });

  it('writes x87 with its implicit st operands', () => {
    expect(fmt('DD 45 08')).toBe('fld st,qword ptr [ebp+8]');
    expect(fmt('DD 10')).toBe('fst qword ptr [eax],st');
    expect(fmt('D8 C3')).toBe('fadd st,st(3)');
    expect(fmt('DE C1')).toBe('faddp');
    expect(fmt('DE C2')).toBe('faddp st(2),st');
  });

  it('writes string instructions, prefixes and invalid bytes', () => {
    expect(fmt('F3 A5')).toBe('rep movsd [edi],[esi]');
    expect(fmt('F3 A6')).toBe('repe cmpsb [esi],[edi]');
    expect(fmt('F0 F2 00 38')).toBe('xacquire lock add [eax],bh');
    expect(fmt('66 6A 00')).toBe('data16 push 0');
    expect(fmt('F0 01 CE')).toBe('(bad)');
  });

  it('writes 64-bit registers and RIP-relative addresses', () => {
    expect(fmt('41 88 C0', 64)).toBe('mov r8b,al');
    expect(fmt('48 8B 05 78 56 34 12', 64)).toBe('mov rax,[1234567Fh]');
    expect(fmt('48 B8 78 56 34 12 78 56 34 12', 64)).toBe('mov rax,1234567812345678h');
  });
});

describe('number spelling', () => {
  it('uses decimal up to 9 and h-suffixed hex with a leading zero before letters', () => {
    expect(formatHex(9, 0)).toBe('9');
    expect(formatHex(10, 0)).toBe('0Ah');
    expect(formatHex(0x1234, 0)).toBe('1234h');
    expect(formatHex(0x9abcdef0, 0x12345678)).toBe('123456789ABCDEF0h');
    expect(formatTarget(0x58, 0, 32)).toBe('00000058h');
    expect(formatTarget(3, 0, 64)).toBe('3');
  });
});
