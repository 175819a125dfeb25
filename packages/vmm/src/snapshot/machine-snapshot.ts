import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import type { Cpu, CpuStatePatch } from '@tsvm/cpu';
import type { Device } from '@tsvm/devices';
import type { PhysicalMemory } from '@tsvm/mmu';
import { z } from 'zod';
import type { BootSource, ResolvedMachineConfig } from '../config.js';
import { VmmError } from '../errors.js';
import type { PolicyDocument } from '../policy/schema.js';
import { readContainer, section, writeContainer } from './container.js';
import { applyMemory, decodeMemory, encodeMemory, type MemoryChunk } from './memory-image.js';
import { decodeState, encodeState } from './state-json.js';

/** The machine-level contents of a snapshot (the `meta` section), version 1. */
export const SNAPSHOT_META_VERSION = 1;
/** Boot images in a snapshot inflate to at most this much (a Linux kernel plus initrd fits). */
const MAX_BOOT_BYTES = 512 << 20;

const u = z.number().int().nonnegative();
const metaSchema = z.strictObject({
  version: z.literal(SNAPSHOT_META_VERSION),
  machine: z.strictObject({
    memory: u,
    cpu: z.string(),
    serialPorts: u,
    pci: z.boolean(),
    apic: z.boolean(),
    time: z.enum(['deterministic', 'realtime']),
    nsPerInstruction: z.number().positive(),
    noReboot: z.boolean(),
    rtcStart: z.number().nonnegative(),
  }),
  boot: z.strictObject({ kind: z.enum(['rom', 'linux', 'multiboot']), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  instructions: u,
  resets: u,
  virtualTime: z.number().nonnegative(),
  clock: z.number().nonnegative(),
  devices: z.array(z.string()),
  savedAt: z.number(),
  vmId: z.string().optional(),
  policyRevision: u.optional(),
});
export type SnapshotMeta = z.output<typeof metaSchema>;

/** A disk the snapshot's VM used: the image it reads and the overlay its writes went to. */
const diskRefSchema = z.strictObject({
  id: z.string().min(1),
  path: z.string().min(1),
  format: z.string().min(1),
  overlay: z.string().min(1).optional(),
  readOnly: z.boolean(),
});
export type DiskReference = z.output<typeof diskRefSchema>;

/** What a snapshot is taken from and restored into. */
export interface SnapshotParts {
  readonly config: ResolvedMachineConfig;
  readonly memory: PhysicalMemory;
  readonly cpu: Cpu;
  readonly devices: readonly Device[];
  readonly instructions: number;
  readonly resets: number;
  readonly virtualTime: number;
  readonly clock: number;
  readonly policy?: PolicyDocument | undefined;
  readonly policyRevision?: number | undefined;
}

function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function bootBytes(boot: BootSource): Uint8Array[] {
  if (boot.kind === 'rom') return [boot.image];
  if (boot.kind === 'linux') return [boot.kernel, boot.initrd ?? new Uint8Array(0), Buffer.from(boot.cmdline ?? '')];
  return [boot.kernel, Buffer.from(boot.cmdline ?? ''), ...(boot.modules ?? []).flatMap((m) => [m.data, Buffer.from(m.cmdline ?? '')])];
}

/** A digest of everything a boot source holds: a restore refuses a machine booted from something else. */
export function bootDigest(boot: BootSource): string {
  const hash = createHash('sha256').update(boot.kind);
  for (const part of bootBytes(boot)) {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(part.length));
    hash.update(length).update(part);
  }
  return hash.digest('hex');
}

/**
 * The whole machine as one versioned, checksummed file (see `container.ts`): `meta` (configuration,
 * counters, time, device names), `cpu` (the CPU's state object as a whole, whatever fields it has),
 * `devices` (each device's `saveState`), `memory` (RAM, zero pages skipped, chunks compressed),
 * `boot` (the boot images, compressed: a snapshot starts a machine by itself), `disks` (disk
 * references) and `policy` (the document in force).
 */
export function saveMachineSnapshot(parts: SnapshotParts): Uint8Array {
  const cfg = parts.config;
  const meta: SnapshotMeta = {
    version: SNAPSHOT_META_VERSION,
    machine: {
      memory: cfg.memory,
      cpu: cfg.cpu,
      serialPorts: cfg.serialPorts,
      pci: cfg.pci,
      apic: cfg.apic,
      time: cfg.time,
      nsPerInstruction: cfg.nsPerInstruction,
      noReboot: cfg.noReboot,
      rtcStart: cfg.rtcStart,
    },
    boot: { kind: cfg.boot.kind, sha256: bootDigest(cfg.boot) },
    instructions: parts.instructions,
    resets: parts.resets,
    virtualTime: parts.virtualTime,
    clock: parts.clock,
    devices: parts.devices.map((d) => d.name),
    savedAt: Date.now(),
    ...(parts.policy !== undefined ? { vmId: parts.policy.vm.id } : {}),
    ...(parts.policyRevision !== undefined ? { policyRevision: parts.policyRevision } : {}),
  };
  const disks: DiskReference[] = (parts.policy?.hardware.disks ?? []).map((d) => ({
    id: d.id,
    path: d.path,
    format: d.format,
    readOnly: d.readOnly,
    ...(d.overlay !== undefined ? { overlay: d.overlay } : {}),
  }));
  const sections = new Map<string, Uint8Array>([
    ['meta', json(meta)],
    ['cpu', Buffer.from(encodeState(parts.cpu.getState()))],
    ['devices', Buffer.from(encodeState(parts.devices.map((d) => ({ name: d.name, state: d.saveState() }))))],
    ['memory', encodeMemory(parts.memory.ram)],
    ['boot', deflateSync(Buffer.from(encodeState(cfg.boot)), { level: 1 })],
    ['disks', json(disks)],
  ]);
  if (parts.policy !== undefined) sections.set('policy', json(parts.policy));
  return writeContainer(sections);
}

/** A snapshot file read and checked as far as it can be without a machine. */
export interface ParsedSnapshot {
  readonly meta: SnapshotMeta;
  readonly sections: ReadonlyMap<string, Uint8Array>;
  readonly disks: DiskReference[];
  /** The policy document as saved (validate it before use). */
  readonly policy: unknown;
}

function parseJsonSection(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new VmmError('SnapshotCorrupt', `snapshot ${name}: not valid JSON (${(cause as Error).message})`, { cause });
  }
}

function checked<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new VmmError('SnapshotCorrupt', `snapshot ${name} '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return r.data;
}

/** Reads the container and the `meta`, `disks` and `policy` sections. */
export function parseSnapshot(bytes: Uint8Array): ParsedSnapshot {
  const sections = readContainer(bytes);
  const meta = checked(metaSchema, parseJsonSection(section(sections, 'meta'), 'meta'), 'meta');
  const disks = checked(z.array(diskRefSchema), parseJsonSection(section(sections, 'disks'), 'disks'), 'disks');
  const policyBytes = sections.get('policy');
  return { meta, sections, disks, policy: policyBytes === undefined ? undefined : parseJsonSection(policyBytes, 'policy') };
}

/** The boot source saved in a snapshot (validated again by `resolveConfig` when a machine is built from it). */
export function snapshotBoot(snapshot: ParsedSnapshot): BootSource {
  let text: string;
  try {
    text = inflateSync(section(snapshot.sections, 'boot'), { maxOutputLength: MAX_BOOT_BYTES * 2 }).toString('utf8');
  } catch (cause) {
    throw new VmmError('SnapshotCorrupt', `snapshot boot: does not decompress (${(cause as Error).message})`, { cause });
  }
  const boot = decodeState(text, 'boot');
  if (typeof boot !== 'object' || boot === null) throw new VmmError('SnapshotCorrupt', 'snapshot boot: not a boot source');
  return boot as BootSource;
}

/** Everything a restore applies, decoded and checked against the machine before anything changes. */
export interface DecodedSnapshot {
  readonly meta: SnapshotMeta;
  readonly cpu: CpuStatePatch;
  readonly devices: { name: string; state: unknown }[];
  readonly memory: MemoryChunk[];
}

/**
 * Checks a snapshot against the machine it is to be restored into (same memory size, CPU model,
 * board, boot image and device set: `SnapshotMismatch` naming what differs) and decodes its state.
 */
export function decodeForMachine(snapshot: ParsedSnapshot, parts: Pick<SnapshotParts, 'config' | 'devices' | 'memory'>): DecodedSnapshot {
  const { meta } = snapshot;
  const cfg = parts.config;
  const differences: string[] = [];
  for (const key of ['memory', 'cpu', 'serialPorts', 'pci', 'apic', 'time', 'nsPerInstruction'] as const) {
    if (meta.machine[key] !== cfg[key]) differences.push(`${key} ${JSON.stringify(meta.machine[key])} (this machine: ${JSON.stringify(cfg[key])})`);
  }
  if (meta.boot.kind !== cfg.boot.kind || meta.boot.sha256 !== bootDigest(cfg.boot)) differences.push('boot image (a different ROM or kernel)');
  const names = parts.devices.map((d) => d.name);
  if (names.join(',') !== meta.devices.join(',')) differences.push(`devices [${meta.devices.join(', ')}] (this machine: [${names.join(', ')}])`);
  if (differences.length > 0) throw new VmmError('SnapshotMismatch', `snapshot was taken on a different machine: ${differences.join('; ')}`);
  const cpu = decodeState(Buffer.from(section(snapshot.sections, 'cpu')).toString('utf8'), 'cpu');
  if (typeof cpu !== 'object' || cpu === null || Array.isArray(cpu)) throw new VmmError('SnapshotCorrupt', 'snapshot cpu: not a state object');
  const devices = decodeState(Buffer.from(section(snapshot.sections, 'devices')).toString('utf8'), 'devices');
  if (!Array.isArray(devices) || devices.length !== names.length) throw new VmmError('SnapshotCorrupt', `snapshot devices: expected ${names.length} device states`);
  const states = devices.map((d: unknown, i) => {
    const rec = d as { name?: unknown; state?: unknown } | null;
    if (typeof rec !== 'object' || rec === null || rec.name !== names[i]) throw new VmmError('SnapshotCorrupt', `snapshot devices[${i}]: expected the state of ${names[i]}`);
    return { name: names[i], state: rec.state };
  });
  const memory = decodeMemory(section(snapshot.sections, 'memory'), parts.memory.ramSize);
  return { meta, cpu: cpu, devices: states, memory };
}

/**
 * Applies a decoded snapshot: the CPU state and every device's state (each validated by its owner;
 * if any is refused, everything already applied is put back and the error says which), then RAM.
 * `setClock` moves the virtual clock before the devices re-arm their timers.
 */
export function applyDecoded(decoded: DecodedSnapshot, parts: Pick<SnapshotParts, 'cpu' | 'devices' | 'memory'>, setClock: (ns: number) => void, oldClock: number): void {
  const { cpu, devices, memory } = parts;
  const cpuBefore = cpu.getState();
  const devicesBefore = devices.map((d) => d.saveState());
  let applied = 0;
  let cpuDone = false;
  try {
    setClock(decoded.meta.clock);
    cpu.setState(decoded.cpu);
    cpuDone = true;
    for (; applied < devices.length; applied++) devices[applied].loadState(decoded.devices[applied].state);
  } catch (cause) {
    setClock(oldClock);
    for (let i = 0; i < applied; i++) devices[i].loadState(devicesBefore[i]);
    cpu.setState(cpuBefore);
    const where = cpuDone ? `device ${devices[applied].name}` : 'cpu';
    throw new VmmError('SnapshotCorrupt', `snapshot ${where}: state refused: ${(cause as Error).message}`, { cause });
  }
  applyMemory(memory.ram, decoded.memory);
  // RAM changed under the CPU's caches (decoded code, translations): drop them and load the state again.
  cpu.flushCodeCache();
  cpu.setState(decoded.cpu);
}
