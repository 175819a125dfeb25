import { CPU_MODEL_NAMES } from '@tsvm/cpu';
import { z } from 'zod';

/** The version of the policy document this package reads. */
export const POLICY_VERSION = 1;

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1 << 20, G: 1 << 30 };

/** A size in bytes: an integer, or a string with a K/M/G suffix (`64M`, `1G`, `512KiB`). */
export const byteSize = z.union([
  z.int().nonnegative(),
  z
    .string()
    .regex(/^\d+\s*([KMG](i?B)?)?$/i, 'must be a number of bytes or a size such as 64M, 1G, 512K')
    .transform((text) => {
      const m = /^(\d+)\s*([KMG])?/i.exec(text) as RegExpExecArray;
      return Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toUpperCase()];
    }),
]);

/** Where a character device goes: the host terminal, a file, or nowhere. */
export const charTarget = z.union([
  z.literal('stdio'),
  z.literal('none'),
  z.string().regex(/^file:.+/, 'must be "stdio", "none" or "file:PATH"'),
]);

/**
 * A token bucket with Firecracker's parameters: `size` tokens refilled over `refillTime` ms, plus an
 * initial `oneTimeBurst` that is spent first and never refilled.
 */
export const tokenBucketSchema = z.strictObject({
  size: z.int().positive(),
  oneTimeBurst: z.int().nonnegative().default(0),
  refillTime: z.int().positive(),
});

const rateLimit = z.strictObject({ bytes: tokenBucketSchema.optional(), ops: tokenBucketSchema.optional() });

export const DISK_FORMATS = ['raw', 'qcow2', 'vhd', 'vhdx', 'vmdk'] as const;
export const BOOT_DEVICES = ['kernel', 'disk', 'cdrom', 'bios'] as const;

const diskSchema = z.strictObject({
  id: z.string().min(1),
  path: z.string().min(1),
  format: z.enum(DISK_FORMATS).default('raw'),
  /** A copy-on-write overlay file over `path`; the guest writes go there. */
  overlay: z.string().min(1).optional(),
  readOnly: z.boolean().default(false),
  rateLimit: rateLimit.optional(),
});

const deviceSchema = z.strictObject({
  id: z.string().min(1),
  kind: z.string().min(1),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

const hardwareSchema = z
  .strictObject({
    cpu: z.enum(CPU_MODEL_NAMES).default('p6'),
    memory: byteSize.default(64 << 20),
    apic: z.boolean().default(false),
    pci: z.boolean().default(true),
    /** COM1..COMn, each with where its output goes; the length is the number of ports (0-4). */
    serial: z.array(charTarget).max(4).default(['stdio']),
    debugcon: charTarget.default('none'),
    devices: z.array(deviceSchema).default([]),
    disks: z.array(diskSchema).default([]),
    boot: z
      .strictObject({
        kernel: z.string().min(1).optional(),
        initrd: z.string().min(1).optional(),
        append: z.string().optional(),
        bios: z.string().min(1).optional(),
        order: z.array(z.enum(BOOT_DEVICES)).default([]),
      })
      .default({ order: [] }),
    time: z.enum(['deterministic', 'realtime']).default('realtime'),
    noReboot: z.boolean().default(false),
  })
  .superRefine((hw, ctx) => {
    const b = hw.boot;
    if (b.kernel !== undefined && b.bios !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['boot', 'bios'], message: 'a kernel boots without firmware; give kernel or bios, not both' });
    }
    for (const key of ['initrd', 'append'] as const) {
      if (b[key] !== undefined && b.kernel === undefined) ctx.addIssue({ code: 'custom', path: ['boot', key], message: 'needs boot.kernel' });
    }
    unique(hw.disks.map((d) => d.id), ['disks'], ctx);
    unique(hw.devices.map((d) => d.id), ['devices'], ctx);
  });

function unique(ids: string[], path: string[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [...path, i, 'id'], message: `duplicate id ${JSON.stringify(id)}` });
    seen.add(id);
  });
}

const cpuCap = z.union([
  z.strictObject({ instructionsPerSecond: z.int().positive() }),
  z.strictObject({ percent: z.number().gt(0).max(100) }),
]);

const limitsSchema = z
  .strictObject({
    cpu: z
      .strictObject({
        /** Relative share between VMs on one host (cgroup-style, 1-10000). */
        weight: z.int().min(1).max(10_000).default(100),
        cap: cpuCap.optional(),
      })
      .default({ weight: 100 }),
    memory: z.strictObject({ hardCap: byteSize }).optional(),
    disk: rateLimit.optional(),
    network: rateLimit.optional(),
    budget: z.strictObject({ instructions: z.int().positive().optional(), wallTimeMs: z.int().positive().optional() }).default({}),
  })
  .default({ cpu: { weight: 100 }, budget: {} });

/** Rule indices are 16-bit in the compiled tables, with two reserved for the defaults. */
export const MAX_RULES = 65_000;
export const ACCESS_ACTIONS = ['io.read', 'io.write', 'mmio.read', 'mmio.write', 'device.attach', 'resource.set'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];
export const EFFECTS = ['allow', 'allow-and-log', 'trap', 'deny'] as const;
export type Effect = (typeof EFFECTS)[number];

const range = (max: number, what: string) =>
  z
    .tuple([z.int().min(0).max(max), z.int().min(0).max(max)])
    .refine(([lo, hi]) => lo <= hi, `${what} range must be [first, last] with first <= last`);

const resourceSchema = z.union([
  z.strictObject({ ports: range(0xffff, 'port') }),
  z.strictObject({ addresses: range(0xffff_ffff, 'address') }),
  z.strictObject({ device: z.string().min(1) }),
  z.strictObject({ setting: z.string().min(1) }),
]);

const RESOURCE_KIND: Record<AccessAction, 'ports' | 'addresses' | 'device' | 'setting'> = {
  'io.read': 'ports',
  'io.write': 'ports',
  'mmio.read': 'addresses',
  'mmio.write': 'addresses',
  'device.attach': 'device',
  'resource.set': 'setting',
};

const ruleSchema = z
  .strictObject({
    id: z.string().min(1).optional(),
    actions: z.array(z.enum(ACCESS_ACTIONS)).min(1),
    resource: resourceSchema,
    effect: z.enum(EFFECTS),
    /** With `deny` on an access: raise #GP(0) in the guest instead of all-ones reads and dropped writes. */
    gp: z.boolean().default(false),
  })
  .superRefine((rule, ctx) => {
    const kind = Object.keys(rule.resource)[0];
    rule.actions.forEach((action, i) => {
      if (RESOURCE_KIND[action] !== kind) {
        ctx.addIssue({ code: 'custom', path: ['actions', i], message: `${action} applies to a '${RESOURCE_KIND[action]}' resource, not '${kind}'` });
      }
    });
    if (rule.gp && rule.effect !== 'deny') ctx.addIssue({ code: 'custom', path: ['gp'], message: 'only a deny rule can raise #GP' });
  });

const accessSchema = z
  .strictObject({
    /** What happens to ports and addresses no configured device claims (claimed ones default to allow). */
    unclaimed: z.enum(['allow', 'deny']).default('deny'),
    rules: z.array(ruleSchema).max(MAX_RULES).default([]),
  })
  .default({ unclaimed: 'deny', rules: [] });

export const EVENT_ACTIONS = ['stop', 'reset', 'pause', 'snapshot', 'continue'] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

const eventsSchema = z
  .strictObject({
    tripleFault: z.enum(EVENT_ACTIONS).default('reset'),
    haltWithInterruptsDisabled: z.enum(EVENT_ACTIONS).default('stop'),
    policyViolation: z.enum(EVENT_ACTIONS).default('continue'),
    panicPatterns: z
      .array(
        z.strictObject({
          pattern: z.string().min(1).refine(isRegExp, 'is not a valid regular expression'),
          action: z.enum(EVENT_ACTIONS),
        }),
      )
      .default([]),
  })
  .default({ tripleFault: 'reset', haltWithInterruptsDisabled: 'stop', policyViolation: 'continue', panicPatterns: [] });

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const debugSchema = z
  .strictObject({ traceInstructions: z.boolean().default(false), tracePorts: z.boolean().default(false) })
  .default({ traceInstructions: false, tracePorts: false });

/** The schema of a policy document, version 1. */
export const policySchema = z.strictObject({
  version: z.literal(POLICY_VERSION),
  vm: z.strictObject({ id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"') }),
  hardware: hardwareSchema,
  limits: limitsSchema,
  access: accessSchema,
  events: eventsSchema,
  debug: debugSchema,
})
  .superRefine((doc, ctx) => {
    const cap = doc.limits.memory?.hardCap;
    if (cap !== undefined && doc.hardware.memory > cap) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'memory', 'hardCap'], message: `${cap} bytes is below hardware.memory (${doc.hardware.memory} bytes)` });
    }
  });

/** A validated policy document with every default filled in. */
export type PolicyDocument = z.output<typeof policySchema>;
/** A policy document as written (defaults may be left out). */
export type PolicyInput = z.input<typeof policySchema>;
export type AccessRule = PolicyDocument['access']['rules'][number];
export type TokenBucketConfig = z.output<typeof tokenBucketSchema>;
export type RateLimitConfig = z.output<typeof rateLimit>;
