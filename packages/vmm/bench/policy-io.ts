/**
 * The cost of the policy on port I/O and disk throughput. Port I/O: the same stream of IN/OUT accesses (8, 16 and 32-bit, to the
 * ports a PC's devices use) through a bare `IoBus` and through the same bus wrapped by a
 * `PolicyIoBus` with a few hundred rules, interleaved in one run. Prints median million accesses per
 * second for each and the policy/bare ratio (the goal is ≥ 0.95). Disk: 4 KiB reads from a memory
 * disk, bare and through a `RateLimitedDevice`, with the MB/s ratio.
 *
 *   cd packages/vmm && npm run bench:policy      options: --runs N (default 15), --rules N (default 300)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IoBus } from '@tsvm/devices';
import { type BlockDevice, createImage, MemoryBlockDevice, openImage } from '@tsvm/storage';
import {
  applyPolicyToBus,
  ioClaimsOf,
  type PolicyIoBus,
  RateLimitedDevice,
  RateLimiter,
  validatePolicy,
  VmPolicy,
} from '../src/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 15);
const ruleCount = arg('--rules', 300);
const ACCESSES = 4_000_000;

/** Devices at the PC's usual ports, each a small register file. */
const DEVICES: [string, number, number][] = [
  ['pic1', 0x20, 2], ['pit', 0x40, 4], ['kbd', 0x60, 1], ['port61', 0x61, 1], ['kbd-cmd', 0x64, 1],
  ['rtc', 0x70, 2], ['post', 0x80, 1], ['port92', 0x92, 1], ['pic2', 0xa0, 2], ['ide0', 0x1f0, 8],
  ['com2', 0x2f8, 8], ['vga', 0x3c0, 32], ['com1', 0x3f8, 8], ['pci', 0xcf8, 8],
];

function makeBus(): IoBus {
  const bus = new IoBus();
  for (const [name, base, length] of DEVICES) {
    const regs = new Uint8Array(length);
    bus.register(name, base, length, { read8: (o) => regs[o], write8: (o, v) => (regs[o] = v) });
  }
  return bus;
}

/** Rules: allows over the devices' ports, plus logs, traps and denies on ports the stream never touches. */
function makePolicy(bus: IoBus): VmPolicy {
  const rules: unknown[] = DEVICES.map(([name, base, length]) => ({ id: `allow-${name}`, actions: ['io.read', 'io.write'], resource: { ports: [base, base + length - 1] }, effect: 'allow' }));
  const effects = ['deny', 'allow-and-log', 'trap'];
  for (let i = rules.length; i < ruleCount; i++) {
    const port = 0x1000 + i * 16;
    rules.push({ id: `r${i}`, actions: i % 2 === 0 ? ['io.write'] : ['io.read', 'io.write'], resource: { ports: [port, port + 7] }, effect: effects[i % 3] });
  }
  const document = validatePolicy({ version: 1, vm: { id: 'bench' }, hardware: {}, access: { rules } });
  return new VmPolicy(document, { claims: { ioClaimed: ioClaimsOf(bus) } });
}

/**
 * The access stream: every port the devices claim, read with the widest access that stays inside
 * its device (so the two buses must answer alike), with one write in eight.
 */
const STREAM_PORT: number[] = [];
const STREAM_WIDTH: number[] = [];
for (const [, base, length] of DEVICES) {
  for (let o = 0; o < length; o++) {
    STREAM_PORT.push(base + o);
    STREAM_WIDTH.push(o % 4 === 0 && o + 4 <= length ? 4 : o % 2 === 0 && o + 2 <= length ? 2 : 1);
  }
}
const PORTS = Uint16Array.from(STREAM_PORT);
const WIDTHS = Uint8Array.from(STREAM_WIDTH);

// Two copies of the driver so each call site sees one bus class.
function driveBare(bus: IoBus, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const k = i % PORTS.length;
    const port = PORTS[k];
    const width = WIDTHS[k];
    if ((i & 7) === 0) bus.write8(port, i);
    else if (width === 4) sum += bus.read32(port);
    else if (width === 2) sum += bus.read16(port);
    else sum += bus.read8(port);
  }
  return sum;
}

function drivePolicy(bus: PolicyIoBus, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const k = i % PORTS.length;
    const port = PORTS[k];
    const width = WIDTHS[k];
    if ((i & 7) === 0) bus.write8(port, i);
    else if (width === 4) sum += bus.read32(port);
    else if (width === 2) sum += bus.read16(port);
    else sum += bus.read8(port);
  }
  return sum;
}

const bareBus = makeBus();
const policyBase = makeBus();
const policy = makePolicy(policyBase);
const policyBus = applyPolicyToBus(policyBase, policy);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const bareRates: number[] = [];
const policyRates: number[] = [];
let check = 0;
for (let r = 0; r < runs + 2; r++) {
  let t = performance.now();
  check += driveBare(bareBus, ACCESSES);
  const bareMs = performance.now() - t;
  t = performance.now();
  check -= drivePolicy(policyBus, ACCESSES);
  const policyMs = performance.now() - t;
  if (r < 2) continue; // warm-up
  bareRates.push(ACCESSES / bareMs / 1000);
  policyRates.push(ACCESSES / policyMs / 1000);
}
if (check !== 0) throw new Error('the two buses answered differently');
const denials = policy.events.total - 1;
if (denials !== 0) throw new Error(`the stream should be allowed everywhere, ${denials} events were recorded`);
const bare = median(bareRates);
const withPolicy = median(policyRates);
console.log(`port I/O, ${ACCESSES.toLocaleString('en')} accesses x ${runs} runs, ${policy.current.ruleIds.length - 2} rules`);
console.log(`  bare IoBus      ${bare.toFixed(1)} M accesses/s`);
console.log(`  PolicyIoBus     ${withPolicy.toFixed(1)} M accesses/s`);
console.log(`  policy / bare   ${(withPolicy / bare).toFixed(3)}  (goal >= 0.95)`);

// Disk throughput: 4 KiB reads from a memory disk, bare and through a RateLimitedDevice whose
// buckets (bytes and ops) are large enough never to hold a request back: the cost of the check.
const DISK_READS = 200_000;
const bareDisk = new MemoryBlockDevice(64 << 20);
const diskLimiter = new RateLimiter({
  bytes: { size: 2 ** 40, oneTimeBurst: 0, refillTime: 1 },
  ops: { size: 1 << 30, oneTimeBurst: 0, refillTime: 1 },
});
let virtualNow = 0;
const limitedDisk = new RateLimitedDevice(new MemoryBlockDevice(64 << 20), () => diskLimiter, {
  now: () => (virtualNow += 1000),
  sleep: () => Promise.reject(new Error('the benchmark limiter should never wait')),
});
async function readAll(disk: BlockDevice, block: Uint8Array, count: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < count; i++) await disk.read((i * block.length) % (64 << 20), block);
  return performance.now() - t;
}
// 4 KiB: the worst case, where the request costs little more than the check; 64 KiB: a typical
// sequential request of a guest's block driver.
for (const blockSize of [4096, 65536]) {
  const block = new Uint8Array(blockSize);
  const count = Math.round((DISK_READS * 4096) / blockSize);
  const bareDiskRates: number[] = [];
  const limitedDiskRates: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const bareMs = await readAll(bareDisk, block, count);
    const limitedMs = await readAll(limitedDisk, block, count);
    if (r < 2) continue;
    bareDiskRates.push((count * blockSize) / bareMs / 1000);
    limitedDiskRates.push((count * blockSize) / limitedMs / 1000);
  }
  const bareMBs = median(bareDiskRates);
  const limitedMBs = median(limitedDiskRates);
  console.log(`disk reads from memory, ${count.toLocaleString('en')} x ${blockSize / 1024} KiB x ${runs} runs, bytes and ops buckets`);
  console.log(`  bare MemoryBlockDevice   ${bareMBs.toFixed(0)} MB/s`);
  console.log(`  RateLimitedDevice        ${limitedMBs.toFixed(0)} MB/s`);
  console.log(`  limited / bare           ${(limitedMBs / bareMBs).toFixed(3)}  (goal >= 0.95)`);
}

// The same through a raw image file (in the host's page cache): what a guest's disk costs, so the
// check's share of a real request.
const imageDir = mkdtempSync(join(tmpdir(), 'tsvm-bench-'));
try {
  const imagePath = join(imageDir, 'disk.raw');
  const FILE_SIZE = 64 << 20;
  await createImage(imagePath, { format: 'raw', size: FILE_SIZE });
  const filled = await openImage(imagePath, { readOnly: false });
  await filled.write(0, new Uint8Array(FILE_SIZE).fill(0x5a));
  await filled.close();
  const bareFile = await openImage(imagePath);
  const limitedFile = new RateLimitedDevice(await openImage(imagePath), () => diskLimiter, {
    now: () => (virtualNow += 1000),
    sleep: () => Promise.reject(new Error('the benchmark limiter should never wait')),
  });
  const fileReads = Math.min(DISK_READS, 50_000);
  for (const blockSize of [4096, 65536]) {
    const block = new Uint8Array(blockSize);
    const count = Math.round((fileReads * 4096) / blockSize);
    const bareRates: number[] = [];
    const limitedRates: number[] = [];
    for (let r = 0; r < runs + 2; r++) {
      // Alternate the order so the page cache and host noise fall on both.
      const first = r % 2 === 0 ? bareFile : limitedFile;
      const second = first === bareFile ? limitedFile : bareFile;
      const a = await readAll(first, block, count);
      const b = await readAll(second, block, count);
      if (r < 2) continue;
      const [bareMs, limitedMs] = first === bareFile ? [a, b] : [b, a];
      bareRates.push((count * blockSize) / bareMs / 1000);
      limitedRates.push((count * blockSize) / limitedMs / 1000);
    }
    const bareMBs = median(bareRates);
    const limitedMBs = median(limitedRates);
    console.log(`disk reads from a raw image file, ${count.toLocaleString('en')} x ${blockSize / 1024} KiB x ${runs} runs, bytes and ops buckets`);
    console.log(`  bare image               ${bareMBs.toFixed(0)} MB/s`);
    console.log(`  RateLimitedDevice        ${limitedMBs.toFixed(0)} MB/s`);
    console.log(`  limited / bare           ${(limitedMBs / bareMBs).toFixed(3)}  (goal >= 0.95)`);
  }
  await bareFile.close();
  await limitedFile.close();
} finally {
  rmSync(imageDir, { recursive: true, force: true });
}
