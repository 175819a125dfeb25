import { VmmError } from '../errors.js';
import { EventLog, type EventKind, type EventRequest, type VmEvent } from '../events/event-log.js';
import { compilePolicy, type CompiledPolicy, type PolicyClaims } from './compiled-policy.js';
import { DECIDE_ALLOW, DECIDE_ALLOW_LOG, DECIDE_DENY_GP, DECIDE_TRAP, DECISION_NAMES, type Decision } from './decision.js';
import { validatePolicy } from './load.js';
import type { EventAction, PolicyDocument, RateLimitConfig } from './schema.js';
import { RateLimiter } from './token-bucket.js';

/** What the policy asks of the machine. Every hook is optional; a missing one means "nothing to do". */
export interface PolicyHooks {
  /** A `deny` rule with `gp`: raise #GP(0) in the guest for the access being made. */
  raiseGp?(): void;
  /** An event action the policy decided (`trap` always asks for `pause`). */
  act?(action: Exclude<EventAction, 'continue'>, event: VmEvent): void;
}

export interface VmPolicyOptions {
  /** What the machine's devices claim: the default-allow set. */
  claims?: PolicyClaims;
  /** The machine's virtual clock, ns. Default: always 0. */
  virtualTime?: () => number;
  /** Host time, ms. Default `Date.now`. */
  wallTime?: () => number;
  /** Event ring capacity. */
  capacity?: number;
  hooks?: PolicyHooks;
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).padStart(digits, '0')}`;
}

/** Paths of the leaves that differ between two documents (arrays compare whole: `access.rules`). */
function changedPaths(a: unknown, b: unknown, prefix: string, out: string[]): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths(a[key], b[key], prefix === '' ? key : `${prefix}.${key}`, out);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(prefix);
  }
  return out;
}

/**
 * A running VM's policy: the compiled tables its hot paths read, the event log, the rate limiters,
 * and changes while running (validated, checked against `resource.set` rules, swapped at once).
 */
export class VmPolicy {
  /** Decision per port for reads and writes; replaced (never mutated) when the policy changes. */
  ioRead: Uint8Array;
  ioWrite: Uint8Array;
  readonly events: EventLog;
  disk: RateLimiter | undefined;
  network: RateLimiter | undefined;
  private compiled: CompiledPolicy;
  private panics: { pattern: RegExp; action: EventAction }[] = [];
  private readonly claims: PolicyClaims;
  private readonly hooks: PolicyHooks;
  private readonly virtualTime: () => number;
  private readonly swapListeners = new Set<(compiled: CompiledPolicy) => void>();

  constructor(document: PolicyDocument, options: VmPolicyOptions = {}) {
    this.claims = options.claims ?? {};
    this.hooks = options.hooks ?? {};
    const virtualTime = (this.virtualTime = options.virtualTime ?? (() => 0));
    this.compiled = compilePolicy(document, 1, this.claims);
    this.ioRead = this.compiled.ioRead;
    this.ioWrite = this.compiled.ioWrite;
    this.compilePanics();
    this.disk = limiter(document.limits.disk, virtualTime());
    this.network = limiter(document.limits.network, virtualTime());
    this.events = new EventLog(
      {
        vmId: document.vm.id,
        virtualTime,
        wallTime: options.wallTime ?? Date.now,
        policyRevision: () => this.compiled.revision,
      },
      options.capacity,
    );
    this.events.record('created', { action: 'create', resource: 'vm' }, 'applied');
  }

  /** Calls `listener` with the new tables each time a change is applied (buses that cache them); returns the unsubscribe. */
  onSwap(listener: (compiled: CompiledPolicy) => void): () => void {
    this.swapListeners.add(listener);
    return () => this.swapListeners.delete(listener);
  }

  get current(): CompiledPolicy {
    return this.compiled;
  }

  get document(): PolicyDocument {
    return this.compiled.document;
  }

  get revision(): number {
    return this.compiled.revision;
  }

  private compilePanics(): void {
    this.panics = this.compiled.document.events.panicPatterns.map((p) => ({ pattern: new RegExp(p.pattern), action: p.action }));
  }

  /** Records an access decision that is not a plain allow and carries out its consequences. */
  private decided(decision: Decision, rule: number, asked: EventRequest): void {
    const ruleId = this.compiled.ruleIds[rule];
    const name = DECISION_NAMES[decision];
    const kind: EventKind = decision === DECIDE_ALLOW_LOG ? 'logged' : decision === DECIDE_TRAP ? 'trapped' : 'denied';
    const event = this.events.record(kind, asked, name, ruleId);
    if (decision === DECIDE_TRAP) this.hooks.act?.('pause', event);
    else if (decision !== DECIDE_ALLOW_LOG) {
      const action = this.compiled.document.events.policyViolation;
      if (action !== 'continue') this.hooks.act?.(action, event);
    }
    // Last: raising #GP unwinds the guest's instruction (it throws out of the access).
    if (decision === DECIDE_DENY_GP) this.hooks.raiseGp?.();
  }

  /**
   * The slow path of a port access whose table entry is not allow: records it, applies the
   * consequences, and answers whether the access is performed.
   */
  ioAccess(port: number, size: number, isWrite: boolean, value: number): boolean {
    const c = this.compiled;
    const decision = c.decideIo(port, size, isWrite);
    if (decision === DECIDE_ALLOW) return true;
    const asked: EventRequest = isWrite
      ? { action: 'io.write', resource: `port ${hex(port & 0xffff, 4)}`, size, value }
      : { action: 'io.read', resource: `port ${hex(port & 0xffff, 4)}`, size };
    this.decided(decision, c.ioRuleOf(port, size, isWrite), asked);
    return decision === DECIDE_ALLOW_LOG;
  }

  /** Checks (and records, when not a plain allow) a physical memory access; true when it is performed. */
  mmioAccess(addr: number, size: number, isWrite: boolean, value = 0): boolean {
    const c = this.compiled;
    const decision = c.decideMmio(addr, size, isWrite);
    if (decision === DECIDE_ALLOW) return true;
    const asked: EventRequest = isWrite
      ? { action: 'mmio.write', resource: `address ${hex(addr >>> 0, 8)}`, size, value }
      : { action: 'mmio.read', resource: `address ${hex(addr >>> 0, 8)}`, size };
    this.decided(decision, c.mmioRuleOf(addr, size, isWrite), asked);
    return decision === DECIDE_ALLOW_LOG;
  }

  /** Whether device `id` may be attached (hot-plug or at build time); recorded when not a plain allow. */
  attachDevice(id: string): boolean {
    const { decision, rule } = this.compiled.decideDevice(id);
    if (decision === DECIDE_ALLOW) return true;
    this.decided(decision, rule, { action: 'device.attach', resource: `device ${id}` });
    return decision === DECIDE_ALLOW_LOG;
  }

  /** Records a lifecycle change (`started`, `paused`, `snapshotted`, ...). */
  lifecycle(kind: 'started' | 'paused' | 'resumed' | 'reset' | 'stopped' | 'snapshotted' | 'restored', detail?: string): VmEvent {
    return this.events.record(kind, { action: kind, resource: 'vm' }, 'applied', undefined, detail);
  }

  /** A guest event with a configured action: records it, asks the machine to act, returns the action. */
  guestEvent(kind: 'triple-fault' | 'halt-interrupts-disabled' | 'budget-exhausted', detail?: string): EventAction {
    const events = this.compiled.document.events;
    const action = kind === 'triple-fault' ? events.tripleFault : kind === 'halt-interrupts-disabled' ? events.haltWithInterruptsDisabled : 'stop';
    const event = this.events.record(kind, { action: kind, resource: 'cpu' }, action, undefined, detail);
    if (action !== 'continue') this.hooks.act?.(action, event);
    return action;
  }

  /** Checks one line of guest console output against the panic patterns; the first match acts. */
  guestOutput(line: string): EventAction | undefined {
    for (const p of this.panics) {
      if (!p.pattern.test(line)) continue;
      const event = this.events.record('guest-panic', { action: 'output', resource: 'console' }, p.action, undefined, line);
      if (p.action !== 'continue') this.hooks.act?.(p.action, event);
      return p.action;
    }
    return undefined;
  }

  /**
   * Changes the policy while the VM runs. The new document is validated, its changes are checked
   * against the current `resource.set` rules, and hardware and VM id may not change (they need a
   * restart). Then the compiled tables are swapped at once and `policy-changed` is recorded. Any
   * problem records `policy-rejected`, throws `VmmError('InvalidConfig')` and changes nothing.
   */
  update(input: unknown): CompiledPolicy {
    const asked: EventRequest = { action: 'policy.update', resource: 'policy' };
    const reject = (message: string, cause?: unknown, rule?: string): never => {
      this.events.record('policy-rejected', asked, 'rejected', rule, message);
      throw new VmmError('InvalidConfig', message, { cause });
    };
    let next: PolicyDocument;
    try {
      next = validatePolicy(input);
    } catch (cause) {
      return reject((cause as Error).message, cause);
    }
    const changed = changedPaths(this.compiled.document, next, '', []);
    for (const path of changed) {
      if (path === 'vm.id' || path.startsWith('hardware.')) reject(`policy '${path}': cannot change while the VM runs`);
      const { decision, rule } = this.compiled.decideSetting(path);
      if (decision >= DECIDE_TRAP) {
        reject(`policy '${path}': changing it is denied by rule ${this.compiled.ruleIds[rule]}`, undefined, this.compiled.ruleIds[rule]);
      }
      if (decision === DECIDE_ALLOW_LOG) this.events.record('logged', { action: 'resource.set', resource: path }, 'allow-and-log', this.compiled.ruleIds[rule]);
    }
    let compiled: CompiledPolicy;
    try {
      compiled = compilePolicy(next, this.compiled.revision + 1, this.claims);
    } catch (cause) {
      return reject(`policy: cannot compile: ${(cause as Error).message}`, cause);
    }
    const old = this.compiled;
    this.compiled = compiled;
    this.ioRead = compiled.ioRead;
    this.ioWrite = compiled.ioWrite;
    this.compilePanics();
    for (const listener of this.swapListeners) listener(compiled);
    const now = this.virtualTime();
    if (JSON.stringify(old.document.limits.disk) !== JSON.stringify(next.limits.disk)) this.disk = limiter(next.limits.disk, now);
    if (JSON.stringify(old.document.limits.network) !== JSON.stringify(next.limits.network)) this.network = limiter(next.limits.network, now);
    this.events.record('policy-changed', asked, 'applied', undefined, `revision ${old.revision} -> ${compiled.revision}: ${changed.join(', ') || 'no changes'}`);
    return compiled;
  }
}

function limiter(config: RateLimitConfig | undefined, now: number): RateLimiter | undefined {
  return config === undefined || (config.bytes === undefined && config.ops === undefined) ? undefined : new RateLimiter(config, now);
}
