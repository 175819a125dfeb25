/**
 * Interpreter throughput: guest instructions per second (MIPS) on a CPU-bound real-mode loop
 * (arithmetic, memory reads and writes, branches, REP MOVSW), printed next to the rate at which
 * the decoder alone decodes the same instructions, measured in the same run.
 *
 *   pnpm --filter @tsvm/cpu bench            (or: cd packages/cpu && npm run bench)
 *   options: --instructions N (default 30,000,000) --model NAME (default p6) --runs N (default 5)
 *            --armed-debugger (a Debugger with a breakpoint the loop never reaches: the armed path's cost)
 */
import { PhysicalMemory } from '@tsvm/mmu';
import { decode, Instruction } from '@tsvm/x86-decoder';
import { Cpu, Debugger, type CpuModelName } from '../src/index.js';

const CODE_SEG = 0x1000;
/* prettier-ignore */
const LOOP = [
  0xb9, 0xe8, 0x03,       // 00 start: mov cx, 1000
  0xbe, 0x00, 0x00,       // 03 outer: mov si, 0
  0xbf, 0x00, 0x01,       // 06        mov di, 100h
  0x51,                   // 09        push cx
  0xb9, 0x10, 0x00,       // 0a        mov cx, 16
  0xf3, 0xa5,             // 0d        rep movsw
  0x59,                   // 0f        pop cx
  0xbb, 0x00, 0x00,       // 10        mov bx, 0
  0x03, 0x07,             // 13 inner: add ax, [bx]
  0x31, 0xc2,             // 15        xor dx, ax
  0xd1, 0xe2,             // 17        shl dx, 1
  0x11, 0xd0,             // 19        adc ax, dx
  0x89, 0x87, 0x00, 0x02, // 1b        mov [bx+200h], ax
  0x43,                   // 1f        inc bx
  0x43,                   // 20        inc bx
  0x83, 0xfb, 0x40,       // 21        cmp bx, 40h
  0x72, 0xed,             // 24        jb inner (13h)
  0xe2, 0xdb,             // 26        loop outer (03h)
  0xeb, 0xd6,             // 28        jmp start (00h)
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function interpreterMips(model: CpuModelName, budget: number): number {
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  LOOP.forEach((b, i) => memory.write8((CODE_SEG << 4) + i, b));
  const cpu = new Cpu({ model, memory });
  cpu.setState({ cs: { selector: CODE_SEG }, eip: 0, ds: { selector: 0x2000 }, es: { selector: 0x3000 }, ss: { selector: 0x4000 }, esp: 0xfffe });
  if (armedDebugger) new Debugger(cpu).addBreakpoint(0xffff0);
  cpu.run(100_000); // warm up
  const before = cpu.instructions;
  const t0 = process.hrtime.bigint();
  const why = cpu.run(budget);
  const ns = Number(process.hrtime.bigint() - t0);
  if (why !== 'budget') throw new Error(`benchmark loop stopped early: ${why}`);
  return ((cpu.instructions - before) / ns) * 1000;
}

/** Decodes the loop's instructions in execution order (one pass of the inner loop per outer step). */
function decoderMips(count: number): number {
  const bytes = Uint8Array.from([...LOOP, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90]);
  const starts: number[] = [];
  for (let off = 0; off < LOOP.length; ) {
    starts.push(off);
    const insn = new Instruction();
    decode(bytes, off, off, 16, insn);
    off += insn.length;
  }
  const insn = new Instruction();
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (n < count) {
    for (let i = 0; i < starts.length; i++) decode(bytes, starts[i], starts[i], 16, insn);
    n += starts.length;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return (n / ns) * 1000;
}

const armedDebugger = process.argv.includes('--armed-debugger');
const budget = arg('--instructions', 30_000_000);
const runs = arg('--runs', 5);
const modelIndex = process.argv.indexOf('--model');
const model = (modelIndex >= 0 ? process.argv[modelIndex + 1] : 'p6') as CpuModelName;

decoderMips(1_000_000); // warm up
const interp: number[] = [];
const dec: number[] = [];
for (let r = 0; r < runs; r++) {
  interp.push(interpreterMips(model, budget));
  dec.push(decoderMips(budget));
}
const best = (xs: number[]): number => Math.max(...xs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`interpreter (${model}${armedDebugger ? ', armed debugger' : ''}, real mode loop: ALU, memory, branches, REP MOVSW): best ${best(interp).toFixed(1)} MIPS, median ${median(interp).toFixed(1)} MIPS`);
console.log(`decoder only (same instructions, @tsvm/x86-decoder decode()):           best ${best(dec).toFixed(1)} MIPS, median ${median(dec).toFixed(1)} MIPS`);
console.log(`interpreter / decoder-only: ${(best(interp) / best(dec)).toFixed(2)}x (the interpreter decodes each instruction once and then runs it from the cache)`);
