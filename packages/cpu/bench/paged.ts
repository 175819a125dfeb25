/**
 * Interpreter throughput on the path a protected-mode guest's user code takes: a 32-bit loop at
 * CPL 3 with paging on (arithmetic, loads and stores through the TLB, PUSH/POP, REP MOVSD,
 * branches), printed next to the rate at which the decoder alone decodes the same instructions,
 * both per second of this process's CPU time.
 * The real-mode loop of mips.ts never translates an address; this one translates every fetch and
 * every data access, so a slow paged path shows here.
 *
 *   cd packages/cpu && npm run bench          (runs mips.js, then this)
 *   node bench/dist/paged.js [--instructions N (default 30,000,000)] [--runs N (default 5)]
 */
import { decode, Instruction } from '@tsvm/x86-decoder';
import { CODE, pmMachine, SEL_CODE3, SEL_DATA3 } from '../src/pm-test-machine.js';

/** Page directory and one page table identity-mapping the first 4 MiB, user and writable. */
const PD = 0x100000;
const PT = 0x101000;
const PTE_USER_RW = 0x7;

/* prettier-ignore */
const LOOP = [
  0xb9, 0xe8, 0x03, 0x00, 0x00,             // 00 start: mov ecx, 1000
  0xbe, 0x00, 0x00, 0x02, 0x00,             // 05 outer: mov esi, 20000h
  0xbf, 0x00, 0x10, 0x02, 0x00,             // 0a        mov edi, 21000h
  0x51,                                     // 0f        push ecx
  0xb9, 0x10, 0x00, 0x00, 0x00,             // 10        mov ecx, 16
  0xf3, 0xa5,                               // 15        rep movsd
  0x59,                                     // 17        pop ecx
  0xbb, 0x00, 0x20, 0x02, 0x00,             // 18        mov ebx, 22000h
  0x03, 0x03,                               // 1d inner: add eax, [ebx]
  0x31, 0xc2,                               // 1f        xor edx, eax
  0xd1, 0xe2,                               // 21        shl edx, 1
  0x11, 0xd0,                               // 23        adc eax, edx
  0x89, 0x83, 0x00, 0x10, 0x00, 0x00,       // 25        mov [ebx+1000h], eax
  0x83, 0xc3, 0x04,                         // 2b        add ebx, 4
  0x81, 0xfb, 0x00, 0x21, 0x02, 0x00,       // 2e        cmp ebx, 22100h
  0x72, 0xe7,                               // 34        jb inner (1dh)
  0xe2, 0xcd,                               // 36        loop outer (05h)
  0xeb, 0xc6,                               // 38        jmp start (00h)
];

/** CPU time of this process in ns (the machine may be shared: wall-clock time would count the others). */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function interpreterMips(budget: number): number {
  const m = pmMachine(LOOP);
  for (let i = 0; i < 1024; i++) m.w32(PT + i * 4, (i << 12) | PTE_USER_RW);
  m.w32(PD, PT | PTE_USER_RW);
  const user = (sel: number, attributes: number) => ({ selector: sel | 3, base: 0, limit: 0xffffffff, attributes });
  m.cpu.setState({
    cr3: PD,
    cr0: 0x80000011,
    cs: user(SEL_CODE3, 0xc0fb),
    ss: user(SEL_DATA3, 0xc0f3),
    ds: user(SEL_DATA3, 0xc0f3),
    es: user(SEL_DATA3, 0xc0f3),
    eip: CODE,
    esp: 0x30000,
  });
  m.cpu.run(100_000); // warm up
  const s = m.cpu.getState();
  if (s.cs.selector !== (SEL_CODE3 | 3) || s.eip < CODE || s.eip >= CODE + LOOP.length) {
    throw new Error(`benchmark loop left the loop: CS ${s.cs.selector.toString(16)} EIP ${s.eip.toString(16)}`);
  }
  const before = m.cpu.instructions;
  const t0 = cpuNs();
  const why = m.cpu.run(budget);
  const ns = cpuNs() - t0;
  if (why !== 'budget') throw new Error(`benchmark loop stopped early: ${why}`);
  return ((m.cpu.instructions - before) / ns) * 1000;
}

/** Decodes the loop's instructions in execution order (one pass of the inner loop per outer step). */
function decoderMips(count: number): number {
  const bytes = Uint8Array.from([...LOOP, ...new Array<number>(15).fill(0x90)]);
  const starts: number[] = [];
  for (let off = 0; off < LOOP.length; ) {
    starts.push(off);
    const insn = new Instruction();
    decode(bytes, off, off, 32, insn);
    off += insn.length;
  }
  const insn = new Instruction();
  let n = 0;
  const t0 = cpuNs();
  while (n < count) {
    for (let i = 0; i < starts.length; i++) decode(bytes, starts[i], starts[i], 32, insn);
    n += starts.length;
  }
  const ns = cpuNs() - t0;
  return (n / ns) * 1000;
}

const budget = arg('--instructions', 30_000_000);
const runs = arg('--runs', 5);

decoderMips(1_000_000); // warm up
const interp: number[] = [];
const dec: number[] = [];
for (let r = 0; r < runs; r++) {
  interp.push(interpreterMips(budget));
  dec.push(decoderMips(budget));
}
const best = (xs: number[]): number => Math.max(...xs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`interpreter (p6, 32-bit CPL 3 loop with paging: ALU, memory, stack, branches, REP MOVSD): best ${best(interp).toFixed(1)} MIPS, median ${median(interp).toFixed(1)} MIPS`);
console.log(`decoder only (same instructions, @tsvm/x86-decoder decode()):                        best ${best(dec).toFixed(1)} MIPS, median ${median(dec).toFixed(1)} MIPS`);
console.log(`interpreter / decoder-only: ${(best(interp) / best(dec)).toFixed(2)}x`);
