import { Cpu, type CpuModelName } from '@tsvm/cpu';
import { PhysicalMemory } from '@tsvm/mmu';
import { MOO_REGS16, type MooReg16, type MooTest } from './format.js';

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

const ONE_MIB = 1 << 20;
const FLAGS_INDEX = MOO_REGS16.indexOf('flags');

/**
 * Runs MOO single-step tests on one CPU over 1 MiB of RAM (the tests' address space; the 8086 wraps
 * at 1 MiB). Each test loads its initial registers and RAM bytes, executes one instruction (a REP
 * string instruction to completion) and compares registers and the listed RAM bytes.
 */
export class MooRunner {
  readonly memory = new PhysicalMemory({ ramSize: ONE_MIB });
  readonly cpu: Cpu;
  constructor(readonly model: CpuModelName) {
    // No devices: IN reads all-ones, as on the machine that captured the tests.
    this.cpu = new Cpu({ model, memory: this.memory });
  }

  run(test: MooTest, flagsMask: number): MooTestResult {
    const { cpu, memory } = this;
    const init = test.initial;
    const ram = init.ram;
    for (let i = 0; i < ram.length; i += 2) memory.write8(ram[i] & (ONE_MIB - 1), ram[i + 1]);
    cpu.reset();
    const r = init.regs;
    cpu.setState({
      eax: r.ax ?? 0,
      ebx: r.bx ?? 0,
      ecx: r.cx ?? 0,
      edx: r.dx ?? 0,
      esp: r.sp ?? 0,
      ebp: r.bp ?? 0,
      esi: r.si ?? 0,
      edi: r.di ?? 0,
      eip: r.ip ?? 0,
      eflags: r.flags ?? 0,
      cs: { selector: r.cs ?? 0 },
      ss: { selector: r.ss ?? 0 },
      ds: { selector: r.ds ?? 0 },
      es: { selector: r.es ?? 0 },
    });
    const startIp = cpu.eip;
    // One instruction; a REP string instruction that yields (see REP_CHUNK) continues until done.
    let guard = 0;
    do {
      cpu.step();
    } while (cpu.eip === startIp && cpu.isRepeating() && ++guard < 1024);
    return this.compare(test, flagsMask);
  }

  private compare(test: MooTest, flagsMask: number): MooTestResult {
    const differences: MooDifference[] = [];
    const state = this.cpu.getState();
    const actual: Record<MooReg16, number> = {
      ax: state.eax & 0xffff,
      bx: state.ebx & 0xffff,
      cx: state.ecx & 0xffff,
      dx: state.edx & 0xffff,
      cs: state.cs.selector,
      ss: state.ss.selector,
      ds: state.ds.selector,
      es: state.es.selector,
      sp: state.esp & 0xffff,
      bp: state.ebp & 0xffff,
      si: state.esi & 0xffff,
      di: state.edi & 0xffff,
      ip: state.eip & 0xffff,
      flags: state.eflags & 0xffff,
    };
    const init = test.initial.regs;
    const fin = test.final.regs;
    const masks = test.final.regMasks;
    MOO_REGS16.forEach((name, i) => {
      const expectedRaw = fin[name] ?? init[name] ?? 0;
      let mask = masks?.[name] ?? 0xffff;
      if (i === FLAGS_INDEX) mask &= flagsMask;
      if (((expectedRaw ^ actual[name]) & mask) !== 0) {
        differences.push({ where: name, expected: expectedRaw & mask, actual: actual[name] & mask });
      }
    });
    // An exception or interrupt pushed FLAGS: its undefined bits are masked there too (as the EXCP
    // chunk of later sets allows); without EXCP the frame is recognised by SP dropping by 6.
    const maskedRam = new Map<number, number>();
    if (flagsMask !== 0xffff) {
      let flagsAt = test.exception?.flagsAddress;
      if (flagsAt === undefined && fin.sp !== undefined && init.sp !== undefined && ((init.sp - fin.sp) & 0xffff) === 6) {
        const ss = fin.ss ?? init.ss ?? 0;
        flagsAt = ((ss << 4) + ((fin.sp + 4) & 0xffff)) & (ONE_MIB - 1);
      }
      if (flagsAt !== undefined) {
        maskedRam.set(flagsAt, flagsMask & 0xff);
        maskedRam.set((flagsAt + 1) & (ONE_MIB - 1), flagsMask >>> 8);
      }
    }
    const ram = test.final.ram;
    for (let i = 0; i < ram.length; i += 2) {
      const addr = ram[i] & (ONE_MIB - 1);
      const mask = maskedRam.get(addr) ?? 0xff;
      const got = this.memory.read8(addr);
      if (((got ^ ram[i + 1]) & mask) !== 0) {
        differences.push({ where: `ram[0x${addr.toString(16).padStart(5, '0')}]`, expected: ram[i + 1], actual: got });
      }
    }
    return { passed: differences.length === 0, differences };
  }
}
