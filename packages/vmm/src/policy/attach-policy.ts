import type { IoBus, Uart16550 } from '@tsvm/devices';
import type { MmioHandler, PhysicalMemory } from '@tsvm/mmu';
import { CpuLimiter } from './cpu-limiter.js';
import { LineSplitter, watchUartOutput } from './console-watch.js';
import { MmioGuard } from './mmio-guard.js';
import { applyPolicyToBus, ioClaimsOf, type PolicyIoBus } from './policy-io-bus.js';
import type { PolicyDocument } from './schema.js';
import { VmPolicy, type PolicyHooks } from './vm-policy.js';

/** The parts of a machine a policy is put on. */
export interface PolicyTarget {
  bus: IoBus;
  memory: PhysicalMemory;
  /** The board's MMIO handlers by base address. */
  mmioDevices: ReadonlyMap<number, MmioHandler>;
  /** Serial ports whose output is matched against the panic patterns. */
  uarts: readonly Uart16550[];
  virtualTime: () => number;
  /** Instructions the machine has run: a changed budget counts what already ran against it. */
  instructions: () => number;
  hooks: PolicyHooks;
}

/** A policy in force on a machine. */
export interface AttachedPolicy {
  readonly policy: VmPolicy;
  /** What the CPU's port accesses go through. */
  readonly ports: PolicyIoBus;
  readonly guard: MmioGuard;
  /** The CPU cap and budgets; undefined when the policy sets none (the run loop skips it). */
  limiter: CpuLimiter | undefined;
}

function needsLimiter(limits: PolicyDocument['limits']): boolean {
  return limits.cpu.cap !== undefined || limits.budget.instructions !== undefined || limits.budget.wallTimeMs !== undefined;
}

/**
 * Compiles `document` against what the machine's devices claim (the ports on its bus; RAM, ROM and
 * device regions in its memory) and puts it on the machine: the port path, guard windows on the
 * restricted physical pages, a CPU limiter, and the panic-pattern watch on the serial ports. A
 * later `policy.update` re-installs the windows and rebuilds the limiter when its limits changed
 * (the instructions already run count against a new budget; a wall-time budget starts again).
 */
export function attachPolicy(document: PolicyDocument, target: PolicyTarget): AttachedPolicy {
  const { memory } = target;
  const mmio = [{ base: 0, length: memory.ramSize }, ...memory.regions().map((r) => ({ base: r.base, length: r.size }))];
  const policy = new VmPolicy(document, {
    claims: { ioClaimed: ioClaimsOf(target.bus), mmio },
    virtualTime: target.virtualTime,
    hooks: target.hooks,
  });
  const guard = new MmioGuard(memory, policy, target.mmioDevices);
  guard.install();
  const hostNow = (): number => performance.now() * 1e6;
  const attached: AttachedPolicy = {
    policy,
    ports: applyPolicyToBus(target.bus, policy),
    guard,
    limiter: needsLimiter(document.limits) ? new CpuLimiter(document.limits, hostNow()) : undefined,
  };
  let limits = JSON.stringify(document.limits.cpu) + JSON.stringify(document.limits.budget);
  const startedAt = target.instructions();
  policy.onSwap((compiled) => {
    guard.install();
    const next = compiled.document.limits;
    const key = JSON.stringify(next.cpu) + JSON.stringify(next.budget);
    if (key === limits) return;
    limits = key;
    attached.limiter = needsLimiter(next) ? new CpuLimiter(next, hostNow()) : undefined;
    // The instruction budget is for the machine's life under this policy: what already ran counts.
    if (attached.limiter !== undefined) attached.limiter.remaining -= target.instructions() - startedAt;
  });
  for (const uart of target.uarts) {
    watchUartOutput(uart, new LineSplitter((line) => policy.guestOutput(line)));
  }
  return attached;
}
