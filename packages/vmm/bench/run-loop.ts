/**
 * The machine's run-loop overhead: the demo guest (guests/demo/demo.bin) booted on a full `Machine`
 * (deterministic and real-time mode) against the same ROM on a bare `Cpu` over the same memory with
 * the two ports it uses answered directly, measured in the same run. Prints MIPS for each and the
 * machine/bare ratio.
 *
 *   cd packages/vmm && npm run bench      options: --runs N (default 20)
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cpu, type IoPorts } from '@tsvm/cpu';
import { PhysicalMemory } from '@tsvm/mmu';
import { loadRom, Machine } from '../src/index.js';

// From bench/ (sources) or bench/dist/ (the bundle).
const romPath = ['../../../guests/demo/demo.bin', '../../../../guests/demo/demo.bin']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p));
if (romPath === undefined) throw new Error('guests/demo/demo.bin not found');
const rom = new Uint8Array(readFileSync(romPath));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 20;

/** COM1's line status always ready, isa-debug-exit stops the CPU; everything else unclaimed. */
class DemoPorts implements IoPorts {
  cpu: Cpu | undefined;
  in8(port: number): number {
    return port === 0x3fd ? 0x60 : 0xff;
  }
  in16(): number {
    return 0xffff;
  }
  in32(): number {
    return -1 >>> 0;
  }
  out8(port: number): void {
    if (port === 0xf4) this.cpu!.requestStop();
  }
  out16(): void {}
  out32(): void {}
}

function bare(): { instructions: number; ms: number } {
  const memory = new PhysicalMemory({ ramSize: 4 << 20 });
  loadRom(memory, 4 << 20, rom);
  const io = new DemoPorts();
  const cpu = new Cpu({ model: 'p6', memory, io });
  io.cpu = cpu;
  const t = performance.now();
  while (cpu.run(1 << 20) === 'budget');
  return { instructions: cpu.instructions, ms: performance.now() - t };
}

async function machine(time: 'deterministic' | 'realtime'): Promise<{ instructions: number; ms: number }> {
  const m = new Machine({ boot: { kind: 'rom', image: rom }, memory: 4 << 20, time });
  m.serial(0).setSink(() => {});
  const t = performance.now();
  const exit = await m.run();
  if (exit.reason !== 'exit') throw new Error(`demo ended with ${JSON.stringify(exit)}`);
  return { instructions: m.instructions, ms: performance.now() - t };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const peers: [string, () => Promise<{ instructions: number; ms: number }> | { instructions: number; ms: number }][] = [
  ['bare Cpu', bare],
  ['Machine, deterministic', () => machine('deterministic')],
  ['Machine, real time', () => machine('realtime')],
];
const mips = new Map<string, number[]>(peers.map(([name]) => [name, []]));
for (let r = 0; r < runs; r++) {
  for (const [name, run] of peers) {
    const { instructions, ms } = await run();
    mips.get(name)!.push(instructions / ms / 1000);
  }
}
const base = median(mips.get('bare Cpu')!);
console.log(`demo guest, ${runs} runs each, interleaved (median MIPS)`);
for (const [name] of peers) {
  const m = median(mips.get(name)!);
  console.log(`  ${name.padEnd(24)} ${m.toFixed(1).padStart(7)} MIPS   ratio to bare Cpu ${(m / base).toFixed(3)}`);
}
