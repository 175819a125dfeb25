import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '@tsvm/mmu';
import { Cpu } from './interpreter.js';
import { CpuError } from './errors.js';
import { cpuModel } from './models.js';

const memory = (): PhysicalMemory => new PhysicalMemory({ ramSize: 1 << 20 });

describe('CPU models and reset state', () => {
  it('resets each model to its documented state', () => {
    const c86 = new Cpu({ model: '8086', memory: memory() }).getState();
    expect([c86.cs.selector, c86.cs.base, c86.eip, c86.eflags]).toEqual([0xffff, 0xffff0, 0, 0xf002]);
    const c386 = new Cpu({ model: '386', memory: memory() }).getState();
    expect([c386.cs.selector, c386.cs.base, c386.eip, c386.edx, c386.eflags]).toEqual([0xf000, 0xffff0000, 0xfff0, 0x0303, 2]);
    const p6 = new Cpu({ memory: memory() }).getState();
    expect([p6.edx >> 8 & 0xf, p6.cr0]).toEqual([6, 0x60000010]);
  });

  it('rejects unknown models with a typed error', () => {
    expect(() => cpuModel('z80')).toThrow(CpuError);
    try {
      cpuModel('z80');
    } catch (e) {
      expect((e as CpuError).code).toBe('UnknownModel');
    }
  });
});

describe('plain-object state', () => {
  it('round-trips registers, segments with hidden parts, and flags', () => {
    const cpu = new Cpu({ model: 'p6', memory: memory() });
    cpu.setState({
      eax: 0xdeadbeef,
      esp: 0x1234,
      eflags: 0x0cd5,
      ds: { selector: 0x1234 },
      fs: { selector: 0x10, base: 0x100000, limit: 0xffffffff, attributes: 0xc093 },
      idtr: { base: 0x1000, limit: 0x7ff },
    });
    const s = cpu.getState();
    expect(s.eax).toBe(0xdeadbeef);
    expect(s.ds).toEqual({ selector: 0x1234, base: 0x12340, limit: 0xffff, attributes: 0x93 });
    expect(s.fs).toEqual({ selector: 0x10, base: 0x100000, limit: 0xffffffff, attributes: 0xc093 });
    expect(s.eflags).toBe(0x0cd7);
    expect(s.idtr).toEqual({ base: 0x1000, limit: 0x7ff });
    const copy = new Cpu({ model: 'p6', memory: memory() });
    copy.setState(s);
    expect(copy.getState()).toEqual(s);
  });

  it('validates every field and changes nothing on error', () => {
    const cpu = new Cpu({ model: 'p6', memory: memory() });
    const before = cpu.getState();
    expect(() => cpu.setState({ eax: 1, ebx: -1 })).toThrow(/ebx/);
    expect(() => cpu.setState({ cs: { selector: 0x10000 } })).toThrow(/cs.selector/);
    expect(() => cpu.setState({ eflags: 1.5 })).toThrow(CpuError);
    expect(cpu.getState()).toEqual(before);
  });

  it('refuses to open A20 on the 8086', () => {
    const cpu = new Cpu({ model: '8086', memory: memory() });
    expect(() => cpu.setState({ a20: true })).toThrow(/20 address lines/);
  });
});
