import { CR0_PE, CR0_PG, CR4_PAE, EFER_LME } from './constants.js';
import { MemoryError } from './errors.js';

/** Version of the `MmuState` record; bump when a field changes meaning. */
export const MMU_STATE_VERSION = 1;

/**
 * The MMU's part of a machine snapshot: the paging controls it holds and the PAE PDPTE registers,
 * which the processor keeps apart from memory (SDM Vol. 3A, 4.4.1). RAM is saved by whoever owns the
 * `PhysicalMemory` buffer; the TLB is a cache and is not saved.
 */
export interface MmuState {
  readonly version: typeof MMU_STATE_VERSION;
  /** CR0, CR4 and EFER (LMA is recomputed) as unsigned 32-bit values; CR3 up to 52 bits. */
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly efer: number;
  readonly cpl: number;
  readonly a20: boolean;
  /** The four PDPTE registers as (low, high) dword pairs, int32 or uint32 each. */
  readonly pdpte: readonly number[];
}

function fail(field: string, what: string): never {
  throw new MemoryError('InvalidState', `MMU state field "${field}" ${what}`);
}

function u32(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) fail(field, 'must be an unsigned 32-bit integer');
  return v;
}

/** Checks a state record from an untrusted source (a snapshot file) and returns it typed. */
export function validateMmuState(state: unknown): MmuState {
  if (typeof state !== 'object' || state === null) throw new MemoryError('InvalidState', 'MMU state must be an object');
  const o = state as Record<string, unknown>;
  if (o.version !== MMU_STATE_VERSION) fail('version', `must be ${MMU_STATE_VERSION}, got ${String(o.version)}`);
  const cr0 = u32(o, 'cr0');
  const cr4 = u32(o, 'cr4');
  const efer = u32(o, 'efer');
  const cr3 = o.cr3;
  if (typeof cr3 !== 'number' || !Number.isInteger(cr3) || cr3 < 0 || cr3 >= 2 ** 52) fail('cr3', 'must be an integer below 2^52');
  const cpl = o.cpl;
  if (typeof cpl !== 'number' || !Number.isInteger(cpl) || cpl < 0 || cpl > 3) fail('cpl', 'must be 0, 1, 2 or 3');
  if (typeof o.a20 !== 'boolean') fail('a20', 'must be a boolean');
  const pdpte = o.pdpte;
  if (!Array.isArray(pdpte) || pdpte.length !== 8) fail('pdpte', 'must be an array of 8 numbers');
  for (const v of pdpte as unknown[]) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x8000_0000 || v > 0xffff_ffff) fail('pdpte', 'must hold 32-bit integers');
  }
  if ((cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) === 0) fail('cr0', 'has PG without PE');
  if ((cr0 & CR0_PG) !== 0 && (efer & EFER_LME) !== 0 && (cr4 & CR4_PAE) === 0) fail('cr4', 'lacks PAE with EFER.LME and CR0.PG set');
  return { version: MMU_STATE_VERSION, cr0, cr3, cr4, efer, cpl, a20: o.a20, pdpte: (pdpte as number[]).slice() };
}
