import { IO_PORT_COUNT } from '@tsvm/devices';
import {
  DECIDE_ALLOW,
  DECIDE_DENY,
  decisionOf,
  RULE_CLAIMED,
  RULE_FIRST,
  RULE_UNCLAIMED,
  type Decision,
} from './decision.js';
import type { PolicyDocument } from './schema.js';

/** A physical address range a configured device claims (an MMIO region, RAM, ROM). */
export interface MmioClaim {
  readonly base: number;
  readonly length: number;
}

/** What the machine's configured devices claim; unclaimed resources fall to `access.unclaimed`. */
export interface PolicyClaims {
  /** Whether a device claims `port` (e.g. `(p) => bus.ownerOf(p) !== undefined`). */
  readonly ioClaimed?: (port: number) => boolean;
  readonly mmio?: readonly MmioClaim[];
}

const ADDRESS_SPACE = 0x1_0000_0000;

/** One decision per address segment `[starts[i], starts[i + 1])`, for reads and writes. */
interface SegmentTable {
  readonly starts: Float64Array;
  readonly read: Uint8Array;
  readonly write: Uint8Array;
  readonly readRule: Uint16Array;
  readonly writeRule: Uint16Array;
}

interface NamedDecision {
  readonly decision: Decision;
  readonly rule: number;
}

/**
 * A policy compiled into the tables the hot paths read: one byte per port and direction, sorted
 * address segments for MMIO, maps for devices and settings. Immutable; a policy change compiles a
 * new one and swaps the reference.
 */
export class CompiledPolicy {
  /** Decision per port for IN / OUT. */
  readonly ioRead = new Uint8Array(IO_PORT_COUNT);
  readonly ioWrite = new Uint8Array(IO_PORT_COUNT);
  /** The strictest decision over `port..port+1` and `port..port+3`: one load for a 16/32-bit access. */
  readonly ioRead16 = new Uint8Array(IO_PORT_COUNT);
  readonly ioRead32 = new Uint8Array(IO_PORT_COUNT);
  readonly ioWrite16 = new Uint8Array(IO_PORT_COUNT);
  readonly ioWrite32 = new Uint8Array(IO_PORT_COUNT);
  /** Index (into `ruleIds`) of the rule that decided each port. */
  readonly ioReadRule = new Uint16Array(IO_PORT_COUNT);
  readonly ioWriteRule = new Uint16Array(IO_PORT_COUNT);
  /** Rule names by index: `(claimed)`, `(unclaimed)`, then each rule's `id` or `rules[i]`. */
  readonly ruleIds: readonly string[];
  private readonly mmio: SegmentTable;
  private readonly devices = new Map<string, NamedDecision>();
  private readonly settings: { prefix: string; decision: Decision; rule: number }[] = [];

  constructor(
    readonly document: PolicyDocument,
    readonly revision: number,
    claims: PolicyClaims = {},
  ) {
    const rules = document.access.rules;
    this.ruleIds = ['(claimed)', '(unclaimed)', ...rules.map((r, i) => r.id ?? `rules[${i}]`)];
    const unclaimed = document.access.unclaimed === 'allow' ? DECIDE_ALLOW : DECIDE_DENY;
    this.compilePorts(claims.ioClaimed, unclaimed);
    widen(this.ioRead, this.ioRead16, 2);
    widen(this.ioRead, this.ioRead32, 4);
    widen(this.ioWrite, this.ioWrite16, 2);
    widen(this.ioWrite, this.ioWrite32, 4);
    this.mmio = this.compileMmio(claims.mmio ?? [], unclaimed);
    rules.forEach((rule, i) => {
      const decision = decisionOf(rule.effect, rule.gp);
      const index = RULE_FIRST + i;
      if ('device' in rule.resource && rule.actions.includes('device.attach')) {
        const old = this.devices.get(rule.resource.device);
        if (old === undefined || decision > old.decision) this.devices.set(rule.resource.device, { decision, rule: index });
      }
      if ('setting' in rule.resource && rule.actions.includes('resource.set')) {
        this.settings.push({ prefix: rule.resource.setting, decision, rule: index });
      }
    });
  }

  private compilePorts(claimed: ((port: number) => boolean) | undefined, unclaimed: Decision): void {
    for (let p = 0; p < IO_PORT_COUNT; p++) {
      const owned = claimed === undefined || claimed(p);
      this.ioRead[p] = this.ioWrite[p] = owned ? DECIDE_ALLOW : unclaimed;
      this.ioReadRule[p] = this.ioWriteRule[p] = owned ? RULE_CLAIMED : RULE_UNCLAIMED;
    }
    // Explicit rules replace the default of the ports they cover, then combine among themselves by the strictest.
    const explicitRead = new Uint8Array(IO_PORT_COUNT);
    const explicitWrite = new Uint8Array(IO_PORT_COUNT);
    this.document.access.rules.forEach((rule, i) => {
      if (!('ports' in rule.resource)) return;
      const [lo, hi] = rule.resource.ports;
      const decision = decisionOf(rule.effect, rule.gp);
      if (rule.actions.includes('io.read')) applyRange(this.ioRead, this.ioReadRule, explicitRead, lo, hi, decision, RULE_FIRST + i);
      if (rule.actions.includes('io.write')) applyRange(this.ioWrite, this.ioWriteRule, explicitWrite, lo, hi, decision, RULE_FIRST + i);
    });
  }

  private compileMmio(claims: readonly MmioClaim[], unclaimed: Decision): SegmentTable {
    const rules = this.document.access.rules;
    const cuts = new Set<number>([0, ADDRESS_SPACE]);
    for (const c of claims) cuts.add(Math.min(c.base, ADDRESS_SPACE)).add(Math.min(c.base + c.length, ADDRESS_SPACE));
    for (const r of rules) if ('addresses' in r.resource) cuts.add(r.resource.addresses[0]).add(r.resource.addresses[1] + 1);
    const starts = Float64Array.from([...cuts].sort((a, b) => a - b));
    const n = starts.length - 1;
    const table: SegmentTable = { starts, read: new Uint8Array(n), write: new Uint8Array(n), readRule: new Uint16Array(n), writeRule: new Uint16Array(n) };
    for (let s = 0; s < n; s++) {
      const at = starts[s];
      const owned = claims.some((c) => c.base <= at && at < c.base + c.length);
      table.read[s] = table.write[s] = owned ? DECIDE_ALLOW : unclaimed;
      table.readRule[s] = table.writeRule[s] = owned ? RULE_CLAIMED : RULE_UNCLAIMED;
      let readExplicit = false;
      let writeExplicit = false;
      rules.forEach((rule, i) => {
        if (!('addresses' in rule.resource)) return;
        const [lo, hi] = rule.resource.addresses;
        if (at < lo || at > hi) return;
        const decision = decisionOf(rule.effect, rule.gp);
        if (rule.actions.includes('mmio.read') && (!readExplicit || decision > table.read[s])) {
          table.read[s] = decision;
          table.readRule[s] = RULE_FIRST + i;
          readExplicit = true;
        }
        if (rule.actions.includes('mmio.write') && (!writeExplicit || decision > table.write[s])) {
          table.write[s] = decision;
          table.writeRule[s] = RULE_FIRST + i;
          writeExplicit = true;
        }
      });
    }
    return table;
  }

  /** The decision for a `size`-byte port access at `port` (the strictest over the ports it spans). */
  decideIo(port: number, size: number, isWrite: boolean): Decision {
    const table = isWrite ? this.ioWrite : this.ioRead;
    let d = table[port & 0xffff];
    for (let i = 1; i < size; i++) {
      const e = table[(port + i) & 0xffff];
      if (e > d) d = e;
    }
    return d as Decision;
  }

  /** The index of the rule behind `decideIo` for the same access (its name is `ruleIds[index]`). */
  ioRuleOf(port: number, size: number, isWrite: boolean): number {
    const table = isWrite ? this.ioWrite : this.ioRead;
    let at = port & 0xffff;
    for (let i = 1; i < size; i++) if (table[(port + i) & 0xffff] > table[at]) at = (port + i) & 0xffff;
    return (isWrite ? this.ioWriteRule : this.ioReadRule)[at];
  }

  private segmentOf(addr: number): number {
    const starts = this.mmio.starts;
    let lo = 0;
    let hi = starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The segment deciding a `size`-byte physical access at `addr` (the strictest it touches). */
  private mmioSegment(addr: number, size: number, isWrite: boolean): number {
    addr >>>= 0;
    const table = isWrite ? this.mmio.write : this.mmio.read;
    let s = this.segmentOf(addr);
    const last = Math.min(addr + size - 1, ADDRESS_SPACE - 1);
    for (let t = s + 1; t < table.length && this.mmio.starts[t] <= last; t++) if (table[t] > table[s]) s = t;
    return s;
  }

  /** The decision for a `size`-byte physical memory access at `addr`. */
  decideMmio(addr: number, size: number, isWrite: boolean): Decision {
    return (isWrite ? this.mmio.write : this.mmio.read)[this.mmioSegment(addr, size, isWrite)] as Decision;
  }

  mmioRuleOf(addr: number, size: number, isWrite: boolean): number {
    return (isWrite ? this.mmio.writeRule : this.mmio.readRule)[this.mmioSegment(addr, size, isWrite)];
  }

  /**
   * The physical address ranges `[start, end)` where a read or a write is anything but a plain
   * allow: what a machine must put a check in front of (everything else keeps the direct RAM path).
   */
  mmioRestricted(): [number, number][] {
    const { starts, read, write } = this.mmio;
    const out: [number, number][] = [];
    for (let s = 0; s < read.length; s++) {
      if (read[s] === DECIDE_ALLOW && write[s] === DECIDE_ALLOW) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last[1] === starts[s]) last[1] = starts[s + 1];
      else out.push([starts[s], starts[s + 1]]);
    }
    return out;
  }

  /** Whether device `id` may be attached; devices with no rule are allowed. */
  decideDevice(id: string): NamedDecision {
    return this.devices.get(id) ?? { decision: DECIDE_ALLOW, rule: RULE_CLAIMED };
  }

  /** Whether setting `path` (`limits.disk.bytes`) may change while running: the strictest rule on it or a parent. */
  decideSetting(path: string): NamedDecision {
    let best: NamedDecision = { decision: DECIDE_ALLOW, rule: RULE_CLAIMED };
    for (const s of this.settings) {
      const covers = path === s.prefix || path.startsWith(`${s.prefix}.`);
      if (covers && (best.rule === RULE_CLAIMED || s.decision > best.decision)) best = s;
    }
    return best;
  }
}

/** `wide[p]` = the strictest of `narrow[p .. p + span - 1]`, wrapping at 0xFFFF. */
function widen(narrow: Uint8Array, wide: Uint8Array, span: number): void {
  for (let p = 0; p < IO_PORT_COUNT; p++) {
    let d = narrow[p];
    for (let i = 1; i < span; i++) d = Math.max(d, narrow[(p + i) & 0xffff]);
    wide[p] = d;
  }
}

function applyRange(table: Uint8Array, ruleOf: Uint16Array, explicit: Uint8Array, lo: number, hi: number, d: Decision, rule: number): void {
  for (let p = lo; p <= hi; p++) {
    if (explicit[p] === 0 || d > table[p]) {
      table[p] = d;
      ruleOf[p] = rule;
      explicit[p] = 1;
    }
  }
}

/** Compiles a validated policy for a machine whose devices claim `claims`. */
export function compilePolicy(document: PolicyDocument, revision = 1, claims: PolicyClaims = {}): CompiledPolicy {
  return new CompiledPolicy(document, revision, claims);
}
