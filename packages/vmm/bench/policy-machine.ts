/**
 * The policy on a whole machine: a guest that does nothing but port I/O to a device (COM1's scratch
 * register: OUT, IN, LOOP) and one that does nothing but RAM loads and stores, each run on a
 * `Machine` without a policy and on one with a policy of a few hundred rules (port rules, MMIO rules
 * on addresses the guest does not touch, device and setting rules), interleaved in one run. Prints
 * median MIPS for each and the policy/bare ratio (the goal is >= 0.95).
 *
 *   cd packages/vmm && npm run bench:policy-machine      options: --runs N (default 9), --rules N (default 300)
 */
import { Machine, validatePolicy, type PolicyDocument } from '../src/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 9);
const ruleCount = arg('--rules', 300);
const INSTRUCTIONS = 20_000_000;

/** A 4 KiB ROM at F000:F000 running `loop` forever (CX counts down from 0xFFFF, wrapping). */
function rom(loop: number[]): Uint8Array {
  const image = new Uint8Array(4096).fill(0xf4);
  const code = [...loop, 0xeb, (0x100 - (loop.length + 2)) & 0xff]; // jmp back to the start
  image.set(code, 0);
  image.set([0xea, 0x00, 0xf0, 0x00, 0xf0], 0xff0);
  return image;
}

const GUESTS: Record<string, Uint8Array> = {
  // mov dx, 0x3ff; out dx, al; in al, dx; inc ax
  'port I/O': rom([0xba, 0xff, 0x03, 0xee, 0xec, 0x40]),
  // mov bx, 0x4000; mov [bx], ax; mov cx, [bx+2]; add ax, cx
  'RAM access': rom([0xbb, 0x00, 0x40, 0x89, 0x07, 0x8b, 0x4f, 0x02, 0x01, 0xc8]),
};

function policy(): PolicyDocument {
  const effects = ['deny', 'allow-and-log', 'trap'];
  const rules: unknown[] = [];
  for (let i = 0; i < ruleCount; i++) {
    const kind = i % 4;
    if (kind === 0) rules.push({ id: `port-${i}`, actions: ['io.write'], resource: { ports: [0x1000 + i * 8, 0x1007 + i * 8] }, effect: effects[i % 3] });
    else if (kind === 1) rules.push({ id: `mmio-${i}`, actions: ['mmio.write'], resource: { addresses: [0xd000_0000 + i * 0x1000, 0xd000_0fff + i * 0x1000] }, effect: 'deny' });
    else if (kind === 2) rules.push({ id: `dev-${i}`, actions: ['device.attach'], resource: { device: `nic${i}` }, effect: 'deny' });
    else rules.push({ id: `com1-${i}`, actions: ['io.read', 'io.write'], resource: { ports: [0x3f8, 0x3ff] }, effect: 'allow' });
  }
  return validatePolicy({ version: 1, vm: { id: 'bench' }, hardware: { memory: '4M', time: 'deterministic' }, access: { rules } });
}

const document = policy();

async function mips(image: Uint8Array, withPolicy: boolean): Promise<number> {
  const machine = new Machine({ boot: { kind: 'rom', image }, memory: 4 << 20, time: 'deterministic' }, withPolicy ? { policy: document } : {});
  const t = performance.now();
  await machine.run({ maxInstructions: INSTRUCTIONS });
  const ms = performance.now() - t;
  if (withPolicy && machine.policy!.events.total !== 3) throw new Error(`the guest touched something the policy records: ${JSON.stringify(machine.policy!.events.events().slice(2, 4))}`);
  return machine.instructions / ms / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log(`policy on a whole machine: ${ruleCount} rules, ${INSTRUCTIONS / 1e6} M instructions a run, ${runs} runs each, interleaved`);
for (const [name, image] of Object.entries(GUESTS)) {
  const bare: number[] = [];
  const policed: number[] = [];
  const only = process.argv.includes('--only-bare') ? 'bare' : process.argv.includes('--only-policy') ? 'policy' : undefined;
  if (only !== undefined) {
    const xs: number[] = [];
    for (let i = 0; i < runs; i++) xs.push(await mips(image, only === 'policy'));
    console.log(`${name.padEnd(11)} ${only} only: ${median(xs).toFixed(1)} MIPS (a process of its own: no call site sees both buses)`);
    continue;
  }
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so warm-up and host noise fall on both.
    if (i % 2 === 0) {
      bare.push(await mips(image, false));
      policed.push(await mips(image, true));
    } else {
      policed.push(await mips(image, true));
      bare.push(await mips(image, false));
    }
  }
  const b = median(bare);
  const p = median(policed);
  console.log(`${name.padEnd(11)} bare ${b.toFixed(1)} MIPS   with policy ${p.toFixed(1)} MIPS   ratio ${(p / b).toFixed(3)}`);
}
