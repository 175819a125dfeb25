import { Cpu, type CpuModelName } from '@tsvm/cpu';
import { PhysicalMemory } from '@tsvm/mmu';
import type { MooRegisters, MooTest } from './format.js';

/** One difference between the expected and the actual final state. */
export interface MooDifference {
  /** A register name, or `ram[0x12345]`. */
  where: string;
  expected: number;
  actual: number;
}

export interface MooTestResult {
  passed: boolean;
  differences: MooDifference[];
}

/** The tests' address space: 1 MiB on the 8086 (20 address lines, wrapping), 16 MiB otherwise. */
const ONE_MIB = 1 << 20;
const SIXTEEN_MIB = 1 << 24;
const SEGMENT_NAMES = new Set(['cs', 'ss', 'ds', 'es', 'fs', 'gs']);

/**
 * Runs MOO single-step tests on one CPU over RAM covering the tests' address space (1 MiB for the
 * 8086, which wraps there; 16 MiB for later models). Each test loads its initial registers and RAM bytes, executes one instruction (a REP
 * string instruction to completion) and compares registers and the listed RAM bytes.
 */
export class MooRunner {
  readonly memory: PhysicalMemory;
  readonly cpu: Cpu;
  private readonly addressMask: number;
  constructor(readonly model: CpuModelName) {
    const size = model === '8086' ? ONE_MIB : SIXTEEN_MIB;
    this.memory = new PhysicalMemory({ ramSize: size });
    this.addressMask = size - 1;
    // No devices: IN reads all-ones, as on the machine that captured the tests.
    this.cpu = new Cpu({ model, memory: this.memory });
  }

  /**
   * Runs one test. `flagsMask` clears the undefined flags from the comparison; `fileMasks` are the
   * file-level register masks (`RMSK`/`RM32` at the top of the file), overridden per test.
   */
  run(test: MooTest, flagsMask: number, fileMasks?: MooRegisters): MooTestResult {
    const { cpu, memory } = this;
    const init = test.initial;
    const ram = init.ram;
    for (let i = 0; i < ram.length; i += 2) memory.write8(ram[i] & this.addressMask, ram[i + 1]);
    cpu.reset();
    const r = init.regs;
    const wide = r.eax !== undefined;
    cpu.setState({
      eax: wide ? r.eax : r.ax ?? 0,
      ebx: wide ? r.ebx : r.bx ?? 0,
      ecx: wide ? r.ecx : r.cx ?? 0,
      edx: wide ? r.edx : r.dx ?? 0,
      esp: wide ? r.esp : r.sp ?? 0,
      ebp: wide ? r.ebp : r.bp ?? 0,
      esi: wide ? r.esi : r.si ?? 0,
      edi: wide ? r.edi : r.di ?? 0,
      eip: wide ? r.eip : r.ip ?? 0,
      eflags: wide ? r.eflags : r.flags ?? 0,
      cs: { selector: (r.cs ?? 0) & 0xffff },
      ss: { selector: (r.ss ?? 0) & 0xffff },
      ds: { selector: (r.ds ?? 0) & 0xffff },
      es: { selector: (r.es ?? 0) & 0xffff },
      ...(r.fs !== undefined ? { fs: { selector: r.fs & 0xffff } } : {}),
      ...(r.gs !== undefined ? { gs: { selector: r.gs & 0xffff } } : {}),
      ...(r.cr0 !== undefined ? { cr0: r.cr0 } : {}),
      ...(r.cr3 !== undefined ? { cr3: r.cr3 } : {}),
      ...(r.dr6 !== undefined || r.dr7 !== undefined ? { dr: [0, 0, 0, 0, 0, 0, r.dr6 ?? 0, r.dr7 ?? 0] } : {}),
    });
    const startIp = cpu.eip;
    // One instruction; a REP string instruction that yields (see REP_CHUNK) continues until done.
    let guard = 0;
    do {
      cpu.step();
    } while (cpu.eip === startIp && cpu.isRepeating() && ++guard < 1024);
    return this.compare(test, flagsMask, fileMasks);
  }

  /** The CPU's registers under the MOO names (16-bit and 32-bit sets). */
  private actualRegisters(): Record<string, number> {
    const s = this.cpu.getState();
    return {
      ax: s.eax & 0xffff, bx: s.ebx & 0xffff, cx: s.ecx & 0xffff, dx: s.edx & 0xffff,
      sp: s.esp & 0xffff, bp: s.ebp & 0xffff, si: s.esi & 0xffff, di: s.edi & 0xffff,
      ip: s.eip & 0xffff, flags: s.eflags & 0xffff,
      eax: s.eax, ebx: s.ebx, ecx: s.ecx, edx: s.edx, esp: s.esp, ebp: s.ebp, esi: s.esi, edi: s.edi,
      eip: s.eip, eflags: s.eflags, cr0: s.cr0, cr3: s.cr3, dr6: s.dr[6] ?? 0, dr7: s.dr[7] ?? 0,
      cs: s.cs.selector, ss: s.ss.selector, ds: s.ds.selector, es: s.es.selector, fs: s.fs.selector, gs: s.gs.selector,
    };
  }

  private compare(test: MooTest, flagsMask: number, fileMasks?: MooRegisters): MooTestResult {
    const differences: MooDifference[] = [];
    const actual = this.actualRegisters();
    const init = test.initial.regs as Record<string, number | undefined>;
    const fin = test.final.regs as Record<string, number | undefined>;
    const masks = (test.final.regMasks ?? {}) as Record<string, number | undefined>;
    const fileMask = (fileMasks ?? {}) as Record<string, number | undefined>;
    for (const name of Object.keys(init)) {
      const expectedRaw = fin[name] ?? init[name] ?? 0;
      const isSeg = SEGMENT_NAMES.has(name);
      let mask = masks[name] ?? fileMask[name] ?? (isSeg || !name.startsWith('e') ? 0xffff : -1);
      if (isSeg) mask &= 0xffff;
      if (name === 'flags' || name === 'eflags') mask &= flagsMask | ~0xffff;
      const got = actual[name];
      if (got === undefined) continue; // a register this CPU does not model (none today)
      if (((expectedRaw ^ got) & mask) !== 0) {
        differences.push({ where: name, expected: (expectedRaw & mask) >>> 0, actual: (got & mask) >>> 0 });
      }
    }
    // An exception or interrupt pushed FLAGS: its undefined bits are masked there too (as the EXCP
    // chunk of later sets allows); without EXCP the frame is recognised by SP dropping by 6.
    const maskedRam = new Map<number, number>();
    if (flagsMask !== 0xffff) {
      let flagsAt = test.exception?.flagsAddress;
      const sp0 = init.sp;
      const sp1 = fin.sp;
      if (flagsAt === undefined && sp0 !== undefined && sp1 !== undefined && ((sp0 - sp1) & 0xffff) === 6) {
        const ss = fin.ss ?? init.ss ?? 0;
        flagsAt = ((ss << 4) + ((sp1 + 4) & 0xffff)) & this.addressMask;
      }
      if (flagsAt !== undefined) {
        maskedRam.set(flagsAt, flagsMask & 0xff);
        maskedRam.set((flagsAt + 1) & this.addressMask, flagsMask >>> 8);
      }
    }
    const ram = test.final.ram;
    for (let i = 0; i < ram.length; i += 2) {
      const addr = ram[i] & this.addressMask;
      const mask = maskedRam.get(addr) ?? 0xff;
      const got = this.memory.read8(addr);
      if (((got ^ ram[i + 1]) & mask) !== 0) {
        differences.push({ where: `ram[0x${addr.toString(16).padStart(5, '0')}]`, expected: ram[i + 1], actual: got });
      }
    }
    return { passed: differences.length === 0, differences };
  }
}
