/**
 * Translated 32-bit reads and writes through the Mmu (TLB hits and TLB misses) against the same loop
 * over a bare typed array, measured in the same run. Run with `pnpm bench`.
 *
 * The peer is the physical limit of a JS RAM access: `ram32[addr >>> 2]` with the same address
 * stream, and for reference the unaligned-capable DataView and a Uint8Array read composed from four bytes.
 */
import { CR0_PE, CR0_PG, CR4_PSE, Mmu, PhysicalMemory } from '../src/index.js';

const RAM = 64 << 20;
const BASE = 0x40_0000; // linear = physical (identity-mapped), so both loops touch the same bytes
const WORKING_SET = 1 << 20; // 256 pages: all fit in the 4096-entry TLB
const STREAM = 1 << 16;
const ROUNDS = 40;

const phys = new PhysicalMemory({ ramSize: RAM });
const mmu = new Mmu(phys);
const dv = new DataView(phys.ram.buffer);

// 32-bit paging, 4 KiB pages: PD at 0x1000, page tables from 0x2000, identity map of the first 32 MiB.
for (let t = 0; t < 8; t++) {
  dv.setUint32(0x1000 + t * 4, (0x2000 + t * 0x1000) | 7, true);
  for (let i = 0; i < 1024; i++) dv.setUint32(0x2000 + t * 0x1000 + i * 4, ((t * 1024 + i) << 12) | 7, true);
}
mmu.setCr4(CR4_PSE);
mmu.setCr3(0x1000);
mmu.setCr0(CR0_PE | CR0_PG);
mmu.setCpl(3);

// Aligned random addresses inside the working set.
const hits = new Int32Array(STREAM);
let seed = 12345;
for (let i = 0; i < STREAM; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  hits[i] = BASE + ((seed >>> 8) % WORKING_SET & ~3);
}
// Two pages 16 MiB (4096 pages) apart share a TLB index: alternating between them misses every time.
const misses = new Int32Array(STREAM);
for (let i = 0; i < STREAM; i++) misses[i] = BASE + ((i & 1) << 24) + (((i >>> 1) & 0x3ff) << 2);

let sink = 0;
const PASSES = 16;

// Each case is its own function so every call site in it stays monomorphic.
function bareInt32Read(): void {
  const addrs = hits;
  const ram32 = phys.ram32;
  let s = 0;
  for (let n = 0; n < PASSES; n++) for (let i = 0; i < STREAM; i++) s = (s + ram32[addrs[i] >>> 2]) | 0;
  sink ^= s;
}

function bareDataViewRead(): void {
  const addrs = hits;
  const view = phys.ramView;
  let s = 0;
  for (let n = 0; n < PASSES; n++) for (let i = 0; i < STREAM; i++) s = (s + view.getInt32(addrs[i], true)) | 0;
  sink ^= s;
}

function bareUint8Read(): void {
  const addrs = hits;
  const ram = phys.ram;
  let s = 0;
  for (let n = 0; n < PASSES; n++) {
    for (let i = 0; i < STREAM; i++) {
      const a = addrs[i];
      s = (s + (ram[a] | (ram[a + 1] << 8) | (ram[a + 2] << 16) | (ram[a + 3] << 24))) | 0;
    }
  }
  sink ^= s;
}

function mmuRead(): void {
  const addrs = hits;
  const m = mmu;
  let s = 0;
  for (let n = 0; n < PASSES; n++) for (let i = 0; i < STREAM; i++) s = (s + m.read32(addrs[i])) | 0;
  sink ^= s;
}

/** As a CPU calls it: through a field of an object V8 cannot treat as a constant. */
interface CpuLike {
  mem: Mmu;
}
const cpus: CpuLike[] = [{ mem: mmu }, { mem: mmu }];
function mmuReadViaField(): void {
  const addrs = hits;
  let s = 0;
  for (let n = 0; n < PASSES; n++) {
    const cpu = cpus[n & 1];
    for (let i = 0; i < STREAM; i++) s = (s + cpu.mem.read32(addrs[i])) | 0;
  }
  sink ^= s;
}

function bareInt32Write(): void {
  const addrs = hits;
  const ram32 = phys.ram32;
  for (let n = 0; n < PASSES; n++) for (let i = 0; i < STREAM; i++) ram32[addrs[i] >>> 2] = i + n;
}

function mmuWrite(): void {
  const addrs = hits;
  const m = mmu;
  for (let n = 0; n < PASSES; n++) for (let i = 0; i < STREAM; i++) m.write32(addrs[i], i + n);
}

function mmuReadMisses(): void {
  const addrs = misses;
  const m = mmu;
  let s = 0;
  for (let n = 0; n < PASSES; n++) for (let i = 0; i < STREAM; i++) s = (s + m.read32(addrs[i])) | 0;
  sink ^= s;
}

/**
 * Best nanoseconds per access of `fn` and of its peer, timed alternately round after round so both
 * see the same machine load; the minimum is the least disturbed run.
 */
function measure(fn: () => void, peer: () => void, rounds: number): [number, number] {
  let bestFn = Infinity;
  let bestPeer = Infinity;
  const per = PASSES * STREAM;
  for (let r = 0; r < rounds; r++) {
    let t0 = process.hrtime.bigint();
    fn();
    bestFn = Math.min(bestFn, Number(process.hrtime.bigint() - t0) / per);
    t0 = process.hrtime.bigint();
    peer();
    bestPeer = Math.min(bestPeer, Number(process.hrtime.bigint() - t0) / per);
  }
  return [bestFn, bestPeer];
}

const row = (name: string, ns: number, peerName: string, peer: number): string =>
  `${name.padEnd(34)} ${ns.toFixed(2).padStart(6)} ns ${(1e3 / ns).toFixed(0).padStart(5)} M/s   ${(ns / peer).toFixed(2).padStart(5)}x ${peerName} (${peer.toFixed(2)} ns)`;

console.log(`@tsvm/mmu TLB benchmark: node ${process.version}, ${STREAM} aligned 32-bit accesses x ${PASSES} passes, best of ${ROUNDS} alternating rounds`);
// Warm up every case first, so each is measured in its settled optimized form.
for (let w = 0; w < 5; w++) {
  for (const f of [bareInt32Read, bareDataViewRead, bareUint8Read, mmuRead, mmuReadViaField, bareInt32Write, mmuWrite, mmuReadMisses]) f();
}
const [hitR, peerR] = measure(mmuRead, bareInt32Read, ROUNDS);
console.log(row('Mmu.read32, TLB hit', hitR, 'bare Int32Array read', peerR));
const [hitR2, peerDv] = measure(mmuRead, bareDataViewRead, ROUNDS);
console.log(row('Mmu.read32, TLB hit', hitR2, 'bare DataView.getInt32', peerDv));
const [hitR3, peerU8] = measure(mmuRead, bareUint8Read, ROUNDS);
console.log(row('Mmu.read32, TLB hit', hitR3, 'bare Uint8Array x4 read', peerU8));
const [hitF, peerF] = measure(mmuReadViaField, bareInt32Read, ROUNDS);
console.log(row('Mmu.read32 via cpu.mem, TLB hit', hitF, 'bare Int32Array read', peerF));
const [hitW, peerW] = measure(mmuWrite, bareInt32Write, ROUNDS);
console.log(row('Mmu.write32, TLB hit', hitW, 'bare Int32Array write', peerW));
const [missR, peerM] = measure(mmuReadMisses, bareInt32Read, 5);
console.log(row('Mmu.read32, TLB miss (page walk)', missR, 'bare Int32Array read', peerM));
if (sink === 0x7fff_ffff) console.log('');
