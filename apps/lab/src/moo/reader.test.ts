import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { singleStep8086Dir } from '../paths.js';
import { readMoo } from './reader.js';

const mooDir = join(singleStep8086Dir(), 'moo');

/** Builds a chunk: 4-byte id, u32 length, payload. */
function chunk(id: string, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}
const u8 = (...v: number[]): Uint8Array => Uint8Array.from(v);
const u16 = (...v: number[]): Uint8Array => new Uint8Array(Uint16Array.from(v).buffer);
const u32 = (...v: number[]): Uint8Array => new Uint8Array(Uint32Array.from(v).buffer);

describe('MOO reader on the 8086 set', () => {
  it('reads every test of a gzip file with complete initial registers', () => {
    const file = readMoo(readFileSync(join(mooDir, '00.MOO.gz')), '00.MOO.gz');
    expect(file.cpuId).toBe('8086');
    expect(file.tests).toHaveLength(2000);
    const t = file.tests[0];
    expect(t.name).toMatch(/^(\w+ )?add /);
    expect(t.bytes[t.bytes.length - 2]).toBe(0x00);
    expect(Object.keys(t.initial.regs)).toHaveLength(14);
    expect(t.initial.ram.length % 2).toBe(0);
    expect(t.initial.queue?.length).toBeGreaterThan(0);
    expect(t.cycleCount).toBeGreaterThan(0);
    expect(file.tests[1999].index).toBe(1999);
  });

  it('reads only a prefix when asked for the first N tests', () => {
    const data = readFileSync(join(mooDir, 'F6.6.MOO.gz'));
    const some = readMoo(data, 'F6.6', { limit: 10 });
    const all = readMoo(data, 'F6.6');
    expect(some.tests.length).toBeGreaterThanOrEqual(10);
    expect(some.tests[9]).toEqual(all.tests[9]);
  });
});

describe('MOO 1.1 chunks', () => {
  const regs16 = chunk('REGS', u16(0b11_1111_1111_1111), u16(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14));
  const test = chunk(
    'TEST',
    u32(0),
    chunk('NAME', u32(3), Buffer.from('nop')),
    chunk('BYTS', u32(1), u8(0x90)),
    chunk('INIT', regs16, chunk('RG32', u32(0b101), u32(0x11, 0x33)), chunk('RAM ', u32(1), u32(0x400), u8(0xaa))),
    chunk('FINA', chunk('REGS', u16(1 << 12), u16(0x10)), chunk('RMSK', u16(1 << 13), u16(0xf7ff)), chunk('RAM ', u32(0))),
    chunk('EXCP', u8(0), u32(0x1234)),
    chunk('HASH', new Uint8Array(20).fill(0xab)),
    chunk('ZZZZ', u8(1, 2, 3)), // unknown: skipped by length
  );
  const header = chunk('MOO ', u8(1, 1, 0, 0), u32(1), Buffer.from('386E'));
  const meta = chunk('META', u8(1, 0, 9), u32(0x90), Buffer.from('nop     '), u32(1), new Uint8Array(8), u8(0, 0, 0, 0));
  const fileMask = chunk('RM32', u32(1 << 17), u32(0xffff_f7ff));

  it('parses META, file-level and per-test masks, 32-bit registers, EXCP and HASH', () => {
    const file = readMoo(gzipSync(Buffer.concat([header, meta, fileMask, test])), 'synthetic');
    expect(file.cpuId).toBe('386E');
    expect(file.meta).toMatchObject({ opcode: 0x90, mnemonic: 'nop', testCount: 1, cpuType: 9 });
    expect(file.regMasks).toEqual({ eflags: 0xfffff7ff });
    const t = file.tests[0];
    expect(t.initial.regs).toMatchObject({ ax: 1, flags: 14, cr0: 0x11, eax: 0x33 });
    expect(Array.from(t.initial.ram)).toEqual([0x400, 0xaa]);
    expect(t.final.regs).toEqual({ ip: 0x10 });
    expect(t.final.regMasks).toEqual({ flags: 0xf7ff });
    expect(t.exception).toEqual({ vector: 0, flagsAddress: 0x1234 });
    expect(t.hash).toBe('ab'.repeat(20));
  });

  it('rejects truncated files and wrong test counts with BadMooFile', () => {
    const whole = Buffer.concat([header, test]);
    const bad = (data: Uint8Array): unknown => {
      try {
        readMoo(data, 'x');
      } catch (e) {
        return e;
      }
      return null;
    };
    expect(bad(whole.subarray(0, whole.length - 5))).toMatchObject({ code: 'BadMooFile' });
    expect(bad(Buffer.concat([header, test, test]))).toMatchObject({ code: 'BadMooFile' });
    expect(bad(Buffer.from('not a moo file'))).toBeInstanceOf(LabError);
    expect(bad(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]))).toMatchObject({ code: 'BadMooFile' });
  });
});
