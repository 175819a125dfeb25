/**
 * x87 throughput: guest instructions per second on a real-mode loop of floating-point arithmetic
 * (FMUL, FADD, FSQRT, FMUL m64, FSUB, FST m64 with DEC/JNZ), next to an integer loop of the same
 * shape measured in the same run, so the ratio shows what the FPU costs per instruction.
 *
 *   cd packages/cpu && npm run bench:x87
 *   options: --instructions N (default 10,000,000) --runs N (default 5)
 */
import { PhysicalMemory } from '@tsvm/mmu';
import { Cpu } from '../src/index.js';

const CODE_SEG = 0x1000;
const DATA_SEG = 0x3000;
/* prettier-ignore */
const X87_LOOP = [
  0xdb, 0xe3,             // 00 fninit
  0xd9, 0xe8,             // 02 fld1
  0xdd, 0x06, 0x00, 0x01, // 04 fld qword [100h]
  0xb9, 0xff, 0xff,       // 08 start: mov cx, 0FFFFh
  0xd8, 0xc9,             // 0b loop: fmul st0, st1
  0xd8, 0xc1,             // 0d       fadd st0, st1
  0xd9, 0xfa,             // 0f       fsqrt
  0xdc, 0x0e, 0x08, 0x01, // 11       fmul qword [108h]
  0xd8, 0xe1,             // 15       fsub st0, st1
  0xdd, 0x16, 0x10, 0x01, // 17       fst qword [110h]
  0x49,                   // 1b       dec cx
  0x75, 0xed,             // 1c       jnz loop (0bh)
  0xeb, 0xe8,             // 1e       jmp start (08h)
];
/* prettier-ignore */
const INT_LOOP = [
  0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
  0xb9, 0xff, 0xff,       // 08 start: mov cx, 0FFFFh
  0x01, 0xd8,             // 0b loop: add ax, bx
  0x31, 0xc2,             // 0d       xor dx, ax
  0xd1, 0xe2,             // 0f       shl dx, 1
  0x03, 0x06, 0x08, 0x01, // 11       add ax, [108h]
  0x29, 0xd8,             // 15       sub ax, bx
  0x89, 0x06, 0x10, 0x01, // 17       mov [110h], ax
  0x49,                   // 1b       dec cx
  0x75, 0xed,             // 1c       jnz loop (0bh)
  0xeb, 0xe8,             // 1e       jmp start (08h)
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function mips(code: number[], budget: number): number {
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  code.forEach((b, i) => memory.write8((CODE_SEG << 4) + i, b));
  const data = new DataView(new ArrayBuffer(16));
  data.setFloat64(0, 1.0000001, true);
  data.setFloat64(8, 0.999, true);
  for (let i = 0; i < 16; i++) memory.write8((DATA_SEG << 4) + 0x100 + i, data.getUint8(i));
  const cpu = new Cpu({ model: 'p6', memory });
  cpu.setState({ cs: { selector: CODE_SEG }, eip: 0, ds: { selector: DATA_SEG }, ss: { selector: 0x4000 }, esp: 0xfffe });
  cpu.run(100_000); // warm up
  const before = cpu.instructions;
  const t0 = process.hrtime.bigint();
  const why = cpu.run(budget);
  const ns = Number(process.hrtime.bigint() - t0);
  if (why !== 'budget') throw new Error(`benchmark loop stopped early: ${why}`);
  return ((cpu.instructions - before) / ns) * 1000;
}

const budget = arg('--instructions', 10_000_000);
const runs = arg('--runs', 5);
const x87: number[] = [];
const int: number[] = [];
for (let r = 0; r < runs; r++) {
  x87.push(mips(X87_LOOP, budget));
  int.push(mips(INT_LOOP, budget));
}
const best = (a: number[]): number => Math.max(...a);
const median = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`x87 loop (FMUL, FADD, FSQRT, FMUL m64, FSUB, FST m64, DEC, JNZ): best ${best(x87).toFixed(1)} MIPS, median ${median(x87).toFixed(1)} MIPS`);
console.log(`integer loop of the same shape (ADD, XOR, SHL, ADD m16, SUB, MOV m16):  best ${best(int).toFixed(1)} MIPS, median ${median(int).toFixed(1)} MIPS`);
console.log(`x87 / integer (medians): ${(median(x87) / median(int)).toFixed(2)}`);
