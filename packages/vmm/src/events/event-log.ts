import { VmmError } from '../errors.js';

/** Every kind of event a VM records. */
export const EVENT_KINDS = [
  // lifecycle
  'created',
  'started',
  'paused',
  'resumed',
  'reset',
  'stopped',
  'snapshotted',
  'restored',
  // access decisions
  'denied',
  'trapped',
  'logged',
  // policy changes
  'policy-changed',
  'policy-rejected',
  // guest events that trigger event actions
  'triple-fault',
  'halt-interrupts-disabled',
  'guest-panic',
  'budget-exhausted',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What was asked: an action on a resource (`io.write` on `port 0x0080`, `start` on `vm`). */
export interface EventRequest {
  readonly action: string;
  readonly resource: string;
  readonly size?: number;
  readonly value?: number;
}

/** One record of the event log. */
export interface VmEvent {
  /** Position in the VM's stream of events, from 1; gaps in a reader's view mean dropped records. */
  readonly seq: number;
  readonly vmId: string;
  /** The machine's virtual clock, ns. */
  readonly virtualTime: number;
  /** Host time, ms since the Unix epoch. */
  readonly wallTime: number;
  readonly policyRevision: number;
  readonly kind: EventKind;
  readonly asked: EventRequest;
  /** What was decided: a decision name (`deny`, `trap`, ...) or an outcome (`applied`, `stop`, ...). */
  readonly decided: string;
  /** The rule that decided, for access events. */
  readonly rule?: string;
  /** Free-form detail: a validation error, the panic line matched. */
  readonly detail?: string;
}

export type EventSubscriber = (event: VmEvent) => void;

/** Where an event log reads the time and the policy revision from. */
export interface EventContext {
  readonly vmId: string;
  virtualTime(): number;
  wallTime(): number;
  policyRevision(): number;
}

export const DEFAULT_EVENT_CAPACITY = 4096;

/**
 * A bounded ring buffer of a VM's events with per-(rule, result) counters, a count of records the
 * ring overwrote, and subscribers that see every event as it is recorded.
 */
export class EventLog {
  private readonly ring: (VmEvent | undefined)[];
  private head = 0;
  private size = 0;
  private seq = 0;
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly subscribers = new Set<EventSubscriber>();
  /** Records overwritten before anyone read them out of the ring. */
  dropped = 0;
  /** Subscriber calls that threw; a subscriber cannot break the VM. */
  subscriberErrors = 0;

  constructor(
    private readonly context: EventContext,
    readonly capacity = DEFAULT_EVENT_CAPACITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new VmmError('InvalidArgument', `event log capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<VmEvent | undefined>(capacity).fill(undefined);
  }

  /** Records an event, counts it under (rule, decided) when it has a rule, and tells the subscribers. */
  record(kind: EventKind, asked: EventRequest, decided: string, rule?: string, detail?: string): VmEvent {
    const c = this.context;
    const event: VmEvent = {
      seq: ++this.seq,
      vmId: c.vmId,
      virtualTime: c.virtualTime(),
      wallTime: c.wallTime(),
      policyRevision: c.policyRevision(),
      kind,
      asked,
      decided,
      ...(rule !== undefined ? { rule } : {}),
      ...(detail !== undefined ? { detail } : {}),
    };
    if (this.size === this.capacity) this.dropped++;
    else this.size++;
    this.ring[this.head] = event;
    this.head = (this.head + 1) % this.capacity;
    if (rule !== undefined) this.count(rule, decided);
    for (const s of this.subscribers) {
      try {
        s(event);
      } catch {
        this.subscriberErrors++;
      }
    }
    return event;
  }

  /** Adds one to the (rule, result) counter without keeping a record (for decisions that are only counted). */
  count(rule: string, result: string): void {
    let byResult = this.counts.get(rule);
    if (byResult === undefined) this.counts.set(rule, (byResult = new Map<string, number>()));
    byResult.set(result, (byResult.get(result) ?? 0) + 1);
  }

  /** The counter of (rule, result), 0 if never counted. */
  counter(rule: string, result: string): number {
    return this.counts.get(rule)?.get(result) ?? 0;
  }

  /** Every counter as `{ rule, result, count }`. */
  counters(): { rule: string; result: string; count: number }[] {
    const out: { rule: string; result: string; count: number }[] = [];
    for (const [rule, byResult] of this.counts) for (const [result, count] of byResult) out.push({ rule, result, count });
    return out;
  }

  /** The events still in the ring, oldest first. */
  events(): VmEvent[] {
    const out: VmEvent[] = [];
    const start = (this.head - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out.push(this.ring[(start + i) % this.capacity] as VmEvent);
    return out;
  }

  /** Events recorded so far, including dropped ones. */
  get total(): number {
    return this.seq;
  }

  /** Calls `subscriber` for every later event; returns the function that unsubscribes. */
  subscribe(subscriber: EventSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }
}
