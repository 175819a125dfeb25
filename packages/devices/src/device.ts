import { DeviceError } from './errors.js';

/** A value in a device's saved state: plain data only, so a snapshot is a union of its parts. */
export type StateValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | readonly StateValue[]
  | { readonly [field: string]: StateValue };

/**
 * A device's saved state: named fields describing the hardware (registers, FIFOs, latches), not the
 * implementation, with a version that changes whenever the fields' meaning does.
 */
export interface DeviceState {
  readonly version: number;
  readonly [field: string]: StateValue;
}

/**
 * The device contract. `loadState` treats its input as hostile: it validates every field (use
 * `StateReader`) and changes nothing unless the whole state is valid.
 */
export interface Device {
  /** A stable name, used in snapshots and error messages (`uart0`, `pic-master`). */
  readonly name: string;
  /** Power-on / hardware reset state. */
  reset(): void;
  saveState(): DeviceState;
  loadState(state: unknown): void;
}

function fail(device: string, field: string, problem: string): never {
  throw new DeviceError('InvalidState', `${device}: saved state field '${field}' ${problem}`);
}

/**
 * Reads and validates a saved state field by field. Each accessor throws
 * `DeviceError('InvalidState')` naming the device and field, so `loadState` can read every field
 * first and apply them only when all are valid.
 */
export class StateReader {
  private readonly record: Readonly<Record<string, unknown>>;

  constructor(
    readonly device: string,
    state: unknown,
    supportedVersions: readonly number[],
  ) {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new DeviceError('InvalidState', `${device}: saved state is not an object`);
    }
    this.record = state as Record<string, unknown>;
    const version = this.record['version'];
    if (typeof version !== 'number' || !supportedVersions.includes(version)) {
      throw new DeviceError(
        'InvalidState',
        `${device}: saved state version ${String(version)} is not supported (supported: ${supportedVersions.join(', ')})`,
      );
    }
    this.version = version;
  }

  readonly version: number;

  /** An integer field in `[min, max]`. */
  int(field: string, min: number, max: number): number {
    const v = this.record[field];
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(this.device, field, `must be an integer, got ${describe(v)}`);
    if (v < min || v > max) fail(this.device, field, `must be in ${min}..${max}, got ${v}`);
    return v;
  }

  /** A finite number field. */
  number(field: string): number {
    const v = this.record[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(this.device, field, `must be a finite number, got ${describe(v)}`);
    return v;
  }

  bool(field: string): boolean {
    const v = this.record[field];
    if (typeof v !== 'boolean') fail(this.device, field, `must be a boolean, got ${describe(v)}`);
    return v;
  }

  string(field: string, allowed?: readonly string[]): string {
    const v = this.record[field];
    if (typeof v !== 'string') fail(this.device, field, `must be a string, got ${describe(v)}`);
    if (allowed !== undefined && !allowed.includes(v)) fail(this.device, field, `must be one of ${allowed.join(', ')}, got '${v}'`);
    return v;
  }

  /** A byte array of exactly `length` bytes (or at most `length` when `exact` is false). */
  bytes(field: string, length: number, exact = true): Uint8Array {
    const v = this.record[field];
    if (!(v instanceof Uint8Array)) fail(this.device, field, `must be a Uint8Array, got ${describe(v)}`);
    if (exact ? v.length !== length : v.length > length) {
      fail(this.device, field, `must hold ${exact ? '' : 'at most '}${length} bytes, got ${v.length}`);
    }
    return v;
  }

  /**
   * A nested record of plain fields (no version of its own), read with the same checks; problems
   * name the field path (`master.imr`).
   */
  child(field: string): StateReader {
    const v = this.record[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
      fail(this.device, field, `must be a record, got ${describe(v)}`);
    }
    return new StateReader(`${this.device}.${field}`, { ...(v as Record<string, unknown>), version: this.version }, [this.version]);
  }

  /** An array of exactly `length` nested records, each read like `child` (`channels[1].mode`). */
  records(field: string, length: number): StateReader[] {
    const v = this.record[field];
    if (!Array.isArray(v)) fail(this.device, field, `must be an array, got ${describe(v)}`);
    if (v.length !== length) fail(this.device, field, `must have ${length} entries, got ${v.length}`);
    return v.map((entry: unknown, i) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || ArrayBuffer.isView(entry)) {
        fail(this.device, `${field}[${i}]`, `must be a record, got ${describe(entry)}`);
      }
      return new StateReader(`${this.device}.${field}[${i}]`, { ...(entry as Record<string, unknown>), version: this.version }, [this.version]);
    });
  }

  /** An integer field in `[min, max]` with the bits of `reserved` clear. */
  bits(field: string, max: number, reserved: number): number {
    const v = this.int(field, 0, max);
    if ((v & reserved) !== 0) fail(this.device, field, `has reserved bits 0x${(v & reserved).toString(16)} set`);
    return v;
  }

  /** The field names present (without `version`), to refuse records with entries nothing reads. */
  fields(): string[] {
    return Object.keys(this.record).filter((k) => k !== 'version');
  }

  /** Reject a state whose fields are each valid but do not fit together. */
  fail(field: string, problem: string): never {
    fail(this.device, field, problem);
  }

  /** A Uint32Array of exactly `length` words (bitmaps such as an APIC's IRR). */
  words(field: string, length: number): Uint32Array {
    const v = this.record[field];
    if (!(v instanceof Uint32Array)) fail(this.device, field, `must be a Uint32Array, got ${describe(v)}`);
    if (v.length !== length) fail(this.device, field, `must hold ${length} words, got ${v.length}`);
    return v;
  }

  /** An array of integers in `[min, max]` of exactly `length` entries (or at most, when not exact). */
  ints(field: string, length: number, min: number, max: number, exact = true): number[] {
    const v = this.record[field];
    if (!Array.isArray(v)) fail(this.device, field, `must be an array, got ${describe(v)}`);
    if (exact ? v.length !== length : v.length > length) {
      fail(this.device, field, `must have ${exact ? '' : 'at most '}${length} entries, got ${v.length}`);
    }
    return v.map((x: unknown, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
        fail(this.device, `${field}[${i}]`, `must be an integer in ${min}..${max}, got ${describe(x)}`);
      }
      return x;
    });
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return v.constructor?.name ?? typeof v;
}
