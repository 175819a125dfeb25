import { CpuError } from './errors.js';
import { CS, SS, type CpuCore } from './cpu.js';
import { readFlags } from './flags.js';
import { fpuStateWriter, getFpuState, type FpuState, type FpuStatePatch } from './fpu/state.js';
import type { MsrEntry } from './msr.js';

/** A segment register with its hidden descriptor cache. */
export interface SegmentState {
  selector: number;
  base: number;
  limit: number;
  /** Access rights: descriptor byte 5 in bits 0-7, flags nibble (G, D/B, L, AVL) in bits 12-15. */
  attributes: number;
}

export interface TableRegister {
  base: number;
  limit: number;
}

/** TR's hidden cache: the TSS's base, limit and descriptor byte 5 (type 89h/8Bh: 32-bit, 81h/83h: 16-bit). */
export interface TaskRegisterCache extends TableRegister {
  attributes: number;
}

/** Every register, flag and segment of the CPU as plain data (all numbers unsigned). */
export interface CpuState {
  eax: number;
  ecx: number;
  edx: number;
  ebx: number;
  esp: number;
  ebp: number;
  esi: number;
  edi: number;
  eip: number;
  eflags: number;
  es: SegmentState;
  cs: SegmentState;
  ss: SegmentState;
  ds: SegmentState;
  fs: SegmentState;
  gs: SegmentState;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  dr: number[];
  gdtr: TableRegister;
  idtr: TableRegister;
  ldtr: number;
  /** LDTR's hidden cache, as LLDT loaded it. */
  ldtrCache: TableRegister;
  tr: number;
  trCache: TaskRegisterCache;
  /** The A20 gate: false wraps physical addresses at 1 MiB. */
  a20: boolean;
  halted: boolean;
  /** Interrupts are held off until after the next instruction (MOV SS, POP SS, STI). */
  interruptShadow: boolean;
  /**
   * The time-stamp counter (index 0x10, its value now) and every MSR the model keeps as storage; empty
   * before the Pentium. A patch may list some: each is checked as WRMSR checks it.
   */
  msrs: MsrEntry[];
  /** The x87 unit (see `FpuState`). */
  fpu: FpuState;
}

/** A partial state: each given field replaces the CPU's; segments may give just some fields. */
export type CpuStatePatch = Partial<Omit<CpuState, 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs' | 'gdtr' | 'idtr' | 'ldtrCache' | 'trCache' | 'fpu'>> & {
  fpu?: FpuStatePatch;
  ldtrCache?: Partial<TableRegister>;
  trCache?: Partial<TaskRegisterCache>;
  es?: Partial<SegmentState>;
  cs?: Partial<SegmentState>;
  ss?: Partial<SegmentState>;
  ds?: Partial<SegmentState>;
  fs?: Partial<SegmentState>;
  gs?: Partial<SegmentState>;
  gdtr?: Partial<TableRegister>;
  idtr?: Partial<TableRegister>;
};

const GPRS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;
/** D/B bit of the attributes flags nibble. */
const ATTR_DB = 0x4000;

function segState(cpu: CpuCore, i: number): SegmentState {
  return { selector: cpu.segSel[i], base: cpu.segBase[i] >>> 0, limit: cpu.segLimit[i], attributes: cpu.segAttr[i] };
}

export function getCpuState(cpu: CpuCore): CpuState {
  const s = {} as Record<string, unknown>;
  GPRS.forEach((name, i) => (s[name] = cpu.regs[i] >>> 0));
  SEGS.forEach((name, i) => (s[name] = segState(cpu, i)));
  return {
    ...(s as Pick<CpuState, (typeof GPRS)[number] | (typeof SEGS)[number]>),
    eip: cpu.eip >>> 0,
    eflags: readFlags(cpu) >>> 0,
    cr0: cpu.cr0 >>> 0,
    cr2: cpu.cr2 >>> 0,
    cr3: cpu.cr3 >>> 0,
    cr4: cpu.cr4 >>> 0,
    dr: Array.from(cpu.dr, (v) => v >>> 0),
    gdtr: { base: cpu.gdtrBase >>> 0, limit: cpu.gdtrLimit },
    idtr: { base: cpu.idtrBase >>> 0, limit: cpu.idtrLimit },
    ldtr: cpu.ldtr,
    ldtrCache: { base: cpu.ldtrBase >>> 0, limit: cpu.ldtrLimit >>> 0 },
    tr: cpu.tr,
    trCache: { base: cpu.trBase >>> 0, limit: cpu.trLimit >>> 0, attributes: cpu.trAttr },
    a20: cpu.a20Mask !== 0xfffff,
    halted: cpu.halted,
    interruptShadow: cpu.shadow,
    msrs: cpu.msr.entries(),
    fpu: getFpuState(cpu),
  };
}

function num(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new CpuError('InvalidState', `state field '${field}' must be an integer in 0..${max}, got ${String(value)}`);
  }
  return value;
}

const U32 = 0xffffffff;

/**
 * Applies `patch` to the CPU after validating every field (a bad field throws
 * `CpuError('InvalidState')` naming it, and nothing is changed).
 */
export function setCpuState(cpu: CpuCore, patch: CpuStatePatch): void {
  const writes: (() => void)[] = [];
  GPRS.forEach((name, i) => {
    const v = patch[name];
    if (v !== undefined) {
      const n = num(v, name, U32);
      writes.push(() => (cpu.regs[i] = n));
    }
  });
  SEGS.forEach((name, i) => {
    const seg = patch[name];
    if (seg === undefined) return;
    if (typeof seg !== 'object' || seg === null) throw new CpuError('InvalidState', `state field '${name}' must be an object`);
    if (seg.selector !== undefined) {
      const sel = num(seg.selector, `${name}.selector`, 0xffff);
      // Without an explicit base, a selector loads the real-mode way.
      const base = seg.base !== undefined ? num(seg.base, `${name}.base`, U32) : sel << 4;
      writes.push(() => {
        cpu.segSel[i] = sel;
        cpu.segBase[i] = base;
      });
    } else if (seg.base !== undefined) {
      const base = num(seg.base, `${name}.base`, U32);
      writes.push(() => (cpu.segBase[i] = base));
    }
    if (seg.limit !== undefined) {
      const limit = num(seg.limit, `${name}.limit`, U32);
      writes.push(() => (cpu.segLimit[i] = limit));
    }
    if (seg.attributes !== undefined) {
      const attr = num(seg.attributes, `${name}.attributes`, 0xffff);
      writes.push(() => (cpu.segAttr[i] = attr));
    }
  });
  if (patch.eip !== undefined) {
    const v = num(patch.eip, 'eip', U32);
    writes.push(() => (cpu.eip = v | 0));
  }
  if (patch.eflags !== undefined) {
    const v = num(patch.eflags, 'eflags', U32);
    writes.push(() => {
      cpu.flags = v | cpu.model.flagsFixedOne;
      cpu.lazy = 0;
    });
  }
  for (const name of ['cr0', 'cr2', 'cr3', 'cr4'] as const) {
    const v = patch[name];
    if (v !== undefined) {
      const n = num(v, name, U32);
      writes.push(() => (cpu[name] = n | 0));
    }
  }
  if (patch.dr !== undefined) {
    if (!Array.isArray(patch.dr) || patch.dr.length !== 8) throw new CpuError('InvalidState', "state field 'dr' must be an array of 8 numbers");
    const values = patch.dr.map((v, i) => num(v, `dr[${i}]`, U32));
    writes.push(() => values.forEach((v, i) => (cpu.dr[i] = v)));
  }
  for (const name of ['gdtr', 'idtr'] as const) {
    const t = patch[name];
    if (t === undefined) continue;
    const base = t.base !== undefined ? num(t.base, `${name}.base`, U32) : undefined;
    const limit = t.limit !== undefined ? num(t.limit, `${name}.limit`, 0xffff) : undefined;
    writes.push(() => {
      if (name === 'gdtr') {
        if (base !== undefined) cpu.gdtrBase = base | 0;
        if (limit !== undefined) cpu.gdtrLimit = limit;
      } else {
        if (base !== undefined) cpu.idtrBase = base | 0;
        if (limit !== undefined) cpu.idtrLimit = limit;
      }
    });
  }
  if (patch.ldtr !== undefined) {
    const v = num(patch.ldtr, 'ldtr', 0xffff);
    writes.push(() => (cpu.ldtr = v));
  }
  if (patch.tr !== undefined) {
    const v = num(patch.tr, 'tr', 0xffff);
    writes.push(() => (cpu.tr = v));
  }
  if (patch.ldtrCache !== undefined) {
    const c = patch.ldtrCache;
    if (typeof c !== 'object' || c === null) throw new CpuError('InvalidState', "state field 'ldtrCache' must be an object");
    const base = c.base !== undefined ? num(c.base, 'ldtrCache.base', U32) : undefined;
    const limit = c.limit !== undefined ? num(c.limit, 'ldtrCache.limit', U32) : undefined;
    writes.push(() => {
      if (base !== undefined) cpu.ldtrBase = base | 0;
      if (limit !== undefined) cpu.ldtrLimit = limit;
    });
  }
  if (patch.trCache !== undefined) {
    const c = patch.trCache;
    if (typeof c !== 'object' || c === null) throw new CpuError('InvalidState', "state field 'trCache' must be an object");
    const base = c.base !== undefined ? num(c.base, 'trCache.base', U32) : undefined;
    const limit = c.limit !== undefined ? num(c.limit, 'trCache.limit', U32) : undefined;
    const attr = c.attributes !== undefined ? num(c.attributes, 'trCache.attributes', 0xff) : undefined;
    writes.push(() => {
      if (base !== undefined) cpu.trBase = base | 0;
      if (limit !== undefined) cpu.trLimit = limit;
      if (attr !== undefined) cpu.trAttr = attr;
    });
  }
  if (patch.a20 !== undefined) {
    const on = patch.a20;
    if (typeof on !== 'boolean') throw new CpuError('InvalidState', "state field 'a20' must be a boolean");
    if (on && cpu.model.generation === 0) throw new CpuError('InvalidState', 'the 8086 has 20 address lines: a20 cannot be enabled');
    writes.push(() => (cpu.a20Mask = on ? (cpu.model.generation === 2 ? 0xffffff : -1) : 0xfffff));
  }
  for (const name of ['halted', 'interruptShadow'] as const) {
    const v = patch[name];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new CpuError('InvalidState', `state field '${name}' must be a boolean`);
    writes.push(() => {
      if (name === 'halted') cpu.halted = v;
      else cpu.shadow = v;
    });
  }
  if (patch.msrs !== undefined) writes.push(cpu.msr.prepareEntries(patch.msrs));
  if (patch.fpu !== undefined) writes.push(fpuStateWriter(cpu, patch.fpu));
  for (const w of writes) w();
  cpu.setCodeSize((cpu.segAttr[CS] & ATTR_DB) !== 0 ? -1 : 0xffff);
  cpu.stack32 = (cpu.segAttr[SS] & ATTR_DB) !== 0;
  cpu.onStateLoaded();
}
