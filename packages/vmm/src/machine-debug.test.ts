import { describe, expect, it } from 'vitest';
import { Machine, TSC_HZ } from './machine.js';

/** A 4 KiB ROM whose reset vector jumps to `code` at F000:F000 (linear 0xFF000). */
function rom(code: number[]): Uint8Array {
  const image = new Uint8Array(4096).fill(0xf4);
  image.set(code, 0);
  image.set([0xea, 0x00, 0xf0, 0x00, 0xf0], 0xff0); // jmp F000:F000
  return image;
}
const CODE = 0xff000;

// mov al, 'A' / out 0xE9, al / mov al, 0 / out 0xF4, al / hlt
const PRINT_AND_EXIT = [0xb0, 0x41, 0xe6, 0xe9, 0xb0, 0x00, 0xe6, 0xf4, 0xf4];

function machine(code: number[], options: ConstructorParameters<typeof Machine>[1] = {}, extra: { apic?: boolean; nsPerInstruction?: number } = {}): { m: Machine; out: number[] } {
  const m = new Machine({ boot: { kind: 'rom', image: rom(code) }, memory: 1 << 20, time: 'deterministic', ...extra }, options);
  const out: number[] = [];
  m.setDebugConsoleSink((b) => out.push(b));
  return { m, out };
}

describe('Machine: time-stamp counter', () => {
  it('RDTSC reads virtual time at TSC_HZ (deterministic: from the instruction count)', async () => {
    expect(TSC_HZ).toBe(1e9);
    // cli / rdtsc / mov ebx, eax / nop x3 / rdtsc / hlt
    const { m } = machine([0xfa, 0x0f, 0x31, 0x66, 0x89, 0xc3, 0x90, 0x90, 0x90, 0x0f, 0x31, 0xf4], {}, { nsPerInstruction: 2 });
    expect(await m.run()).toEqual({ reason: 'halted' });
    const s = m.cpu.getState();
    expect(s.ebx).toBe(2 * 2); // the far jump and CLI retired before the first RDTSC
    expect(s.eax - s.ebx).toBe(5 * 2);
  });

  it('a restored snapshot reads the TSC the original run read at the same instruction', async () => {
    // cli / 20 x nop / rdtsc / hlt
    const { m } = machine([0xfa, ...new Array<number>(20).fill(0x90), 0x0f, 0x31, 0xf4], {}, { nsPerInstruction: 3 });
    expect(await m.run({ maxInstructions: 8 })).toEqual({ reason: 'budget' });
    const snapshot = m.saveSnapshot();
    await m.run();
    const first = m.cpu.getState().eax;
    expect(first).toBe(22 * 3); // jmp far, cli, 20 nops
    m.restoreSnapshot(snapshot);
    await m.run();
    expect(m.cpu.getState().eax).toBe(first);
  });

  it('IA32_APIC_BASE and the CPUID APIC bit follow the board local APIC', async () => {
    // mov ecx, 1Bh / rdmsr / mov esi, eax / mov eax, 1 / cpuid / hlt
    const code = [0xfa, 0x66, 0xb9, 0x1b, 0, 0, 0, 0x0f, 0x32, 0x66, 0x89, 0xc6, 0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xf4];
    const withApic = machine(code, {}, { apic: true }).m;
    await withApic.run();
    expect(withApic.cpu.getState().esi).toBe(0xfee00900); // base, enabled, BSP
    expect(withApic.cpu.getState().edx & (1 << 9)).toBe(1 << 9);
    const without = machine(code).m;
    await without.run();
    expect([without.cpu.getState().esi, without.cpu.getState().edx & (1 << 9)]).toEqual([0, 0]);
  });
});

describe('Machine: breakpoints and the register trace', () => {
  it('stops before the instruction at a breakpoint, then goes on from there', async () => {
    const { m, out } = machine(PRINT_AND_EXIT, { breakpoints: [CODE + 2] });
    expect(await m.run()).toEqual({ reason: 'breakpoint', address: CODE + 2 });
    expect(out).toEqual([]);
    expect(m.cpu.getState().eax & 0xff).toBe(0x41);
    expect(await m.run()).toEqual({ reason: 'exit', status: 1 });
    expect(out).toEqual([0x41]);
  });

  it("goes on at once when onBreakpoint says 'continue'", async () => {
    const hits: number[] = [];
    const { m, out } = machine(PRINT_AND_EXIT, {
      breakpoints: [CODE + 2, CODE + 6],
      onBreakpoint: (address, cpu) => (hits.push(address, cpu.getState().eax & 0xff), 'continue'),
    });
    expect(await m.run()).toEqual({ reason: 'exit', status: 1 });
    expect(hits).toEqual([CODE + 2, 0x41, CODE + 6, 0]);
    expect(out).toEqual([0x41]);
  });

  it('traces each instruction, formatted, with the registers before it', async () => {
    const lines: string[] = [];
    const { m } = machine(PRINT_AND_EXIT, { traceInstructions: (line, r) => lines.push(`${line} | eax=${r.eax.toString(16)} efl=${r.eflags.toString(16)}`) });
    await m.run();
    expect(lines[0]).toMatch(/^f000:fff0 {2}ea00f000f0 +jmp .* \| eax=0 efl=2$/);
    expect(lines[2]).toMatch(/^f000:f002 {2}e6e9 +out 0E9h,al \| eax=41 efl=2$/i);
    expect(lines).toHaveLength(5);
  });

  it('refuses a breakpoint that is not a linear address', () => {
    expect(() => machine(PRINT_AND_EXIT, { breakpoints: [-5] })).toThrow(/breakpoint address/);
  });
});
