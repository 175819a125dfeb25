import { KIND_MMIO, KIND_RAM, KIND_ROM, MMIO_SIZE_16, MMIO_SIZE_32, MMIO_SIZE_8, PAGE_SIZE, type MmioHandler, type PhysicalMemory } from '@tsvm/mmu';
import { VmmError } from '../errors.js';
import type { VmPolicy } from './vm-policy.js';

const ALL_SIZES = MMIO_SIZE_8 | MMIO_SIZE_16 | MMIO_SIZE_32;
const ADDRESS_SPACE = 0x1_0000_0000;

/** What a guarded window hides: RAM, a ROM's bytes, a device's registers, or nothing. */
type Underlying =
  | { kind: 'ram' }
  | { kind: 'rom'; name: string; bytes: Uint8Array }
  | { kind: 'mmio'; name: string; handler: MmioHandler }
  | { kind: 'none' };

/**
 * A window in front of the pages a policy restricts. Every access asks `VmPolicy.mmioAccess`
 * (which records and acts on anything but a plain allow) and is then done on what lies underneath,
 * or not done: reads all-ones, writes dropped. It declares the widths of what it hides, so the
 * memory bus splits accesses exactly as it would without it.
 */
class GuardHandler implements MmioHandler {
  readonly sizes: number;

  constructor(
    private readonly base: number,
    private readonly memory: PhysicalMemory,
    private readonly policy: VmPolicy,
    readonly under: Underlying,
  ) {
    this.sizes = under.kind === 'mmio' ? under.handler.sizes : ALL_SIZES;
  }

  private read(offset: number, size: number): number {
    const addr = this.base + offset;
    if (!this.policy.mmioAccess(addr, size, false)) return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
    const u = this.under;
    switch (u.kind) {
      case 'ram': {
        const view = this.memory.ramView;
        return size === 1 ? view.getUint8(addr) : size === 2 ? view.getUint16(addr, true) : view.getUint32(addr, true);
      }
      case 'rom': {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | u.bytes[offset + i];
        return v >>> 0;
      }
      case 'mmio':
        return size === 1 ? u.handler.read8!(offset) : size === 2 ? u.handler.read16!(offset) : u.handler.read32!(offset);
      case 'none':
        return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
    }
  }

  private write(offset: number, size: number, value: number): void {
    const addr = this.base + offset;
    const masked = size === 4 ? value >>> 0 : value & ((1 << (size * 8)) - 1);
    if (!this.policy.mmioAccess(addr, size, true, masked)) return;
    const u = this.under;
    if (u.kind === 'ram') {
      const view = this.memory.ramView;
      if (size === 1) view.setUint8(addr, masked);
      else if (size === 2) view.setUint16(addr, masked, true);
      else view.setUint32(addr, masked, true);
    } else if (u.kind === 'mmio') {
      if (size === 1) u.handler.write8!(offset, masked);
      else if (size === 2) u.handler.write16!(offset, masked);
      else u.handler.write32!(offset, value);
    }
  }

  read8(offset: number): number {
    return this.read(offset, 1);
  }
  read16(offset: number): number {
    return this.read(offset, 2);
  }
  read32(offset: number): number {
    return this.read(offset, 4);
  }
  write8(offset: number, value: number): void {
    this.write(offset, 1, value);
  }
  write16(offset: number, value: number): void {
    this.write(offset, 2, value);
  }
  write32(offset: number, value: number): void {
    this.write(offset, 4, value);
  }
}

interface Installed {
  base: number;
  size: number;
  handler: GuardHandler;
}

/**
 * Puts the policy's MMIO rules on a machine's physical memory. Only the pages a rule (or the
 * unclaimed default) restricts get a guard window; RAM elsewhere keeps its one-lookup path. A
 * restricted page inside a ROM or device region guards the whole region. `install` again after a
 * policy change (it removes the old windows first).
 */
export class MmioGuard {
  private installed: Installed[] = [];

  /**
   * @param devices the MMIO handlers of the machine's device regions by base address: a guard must
   *   forward to them, and the memory bus does not hand out the handlers it holds.
   */
  constructor(
    private readonly memory: PhysicalMemory,
    private readonly policy: VmPolicy,
    private readonly devices: ReadonlyMap<number, MmioHandler>,
  ) {}

  /** Windows in place now (for tests and diagnostics). */
  get windows(): readonly { base: number; size: number; covers: Underlying['kind'] }[] {
    return this.installed.map((w) => ({ base: w.base, size: w.size, covers: w.handler.under.kind }));
  }

  install(): void {
    this.uninstall();
    const memory = this.memory;
    const regions = memory.regions();
    const plan: { base: number; size: number; under: Underlying }[] = [];
    let covered = 0;
    for (const [start, end] of this.policy.current.mmioRestricted()) {
      let page = Math.max(covered, Math.floor(start / PAGE_SIZE) * PAGE_SIZE);
      const stop = Math.min(ADDRESS_SPACE, Math.ceil(end / PAGE_SIZE) * PAGE_SIZE);
      while (page < stop) {
        const kind = memory.kindAt(page);
        if (kind === KIND_ROM || kind === KIND_MMIO) {
          const region = regions.find((r) => r.base <= page && page < r.base + r.size)!;
          if (kind === KIND_ROM) {
            const bytes = new Uint8Array(region.size);
            memory.readBytes(region.base, bytes);
            plan.push({ base: region.base, size: region.size, under: { kind: 'rom', name: region.name, bytes } });
          } else {
            const handler = this.devices.get(region.base);
            if (handler === undefined) {
              throw new VmmError('InvalidConfig', `policy: an MMIO rule covers ${region.name} at 0x${region.base.toString(16)}, which this machine cannot put a check in front of`);
            }
            plan.push({ base: region.base, size: region.size, under: { kind: 'mmio', name: region.name, handler } });
          }
          page = region.base + region.size;
          continue;
        }
        // A run of plain RAM or of nothing, up to the next region or the end of the restricted range.
        let last = page + PAGE_SIZE;
        while (last < stop && memory.kindAt(last) === kind) last += PAGE_SIZE;
        plan.push({ base: page, size: last - page, under: kind === KIND_RAM ? { kind: 'ram' } : { kind: 'none' } });
        page = last;
      }
      covered = Math.max(covered, page);
    }
    for (const p of plan) {
      if (p.under.kind === 'rom' || p.under.kind === 'mmio') memory.unmap(p.base);
      const handler = new GuardHandler(p.base, memory, this.policy, p.under);
      memory.mapMmio(p.base, p.size, handler, `policy-guard:${p.under.kind === 'rom' || p.under.kind === 'mmio' ? p.under.name : p.under.kind}`);
      this.installed.push({ base: p.base, size: p.size, handler });
    }
  }

  /** Removes every guard window and puts back the ROMs and device regions they covered. */
  uninstall(): void {
    for (const w of this.installed) {
      this.memory.unmap(w.base);
      const u = w.handler.under;
      if (u.kind === 'rom') this.memory.mapRom(w.base, u.bytes, u.name);
      else if (u.kind === 'mmio') this.memory.mapMmio(w.base, w.size, u.handler, u.name);
    }
    this.installed = [];
  }
}
