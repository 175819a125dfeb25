import type { AllocationExtent, BlockDevice } from '@tsvm/storage';
import type { RateLimiter } from './token-bucket.js';

/** The time a rate-limited device waits on: the machine's virtual clock. */
export interface LimiterClock {
  /** Virtual time, ns. */
  now(): number;
  /** Resolves once virtual time has moved `ns` on (the machine keeps running meanwhile). */
  sleep(ns: number): Promise<void>;
}

/**
 * A `BlockDevice` held to a policy's disk limits: each read, write, discard and write-zeroes asks
 * the limiter for its bytes and one operation and waits (in virtual time) until they are granted.
 * Flush, allocation queries and close pass straight through.
 */
export class RateLimitedDevice implements BlockDevice {
  constructor(
    private readonly inner: BlockDevice,
    private readonly limiter: () => RateLimiter | undefined,
    private readonly clock: LimiterClock,
  ) {}

  get size(): number {
    return this.inner.size;
  }
  get sectorSize(): number {
    return this.inner.sectorSize;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }
  get backing(): BlockDevice | undefined {
    return this.inner.backing;
  }

  /** Whether the limiter (looked up each time, so a policy change applies at once) grants `bytes` now. */
  private granted(bytes: number): boolean {
    const limiter = this.limiter();
    return limiter === undefined || limiter.consume(bytes, this.clock.now());
  }

  /** Waits in virtual time until the limiter grants `bytes`. */
  private async admit(bytes: number): Promise<void> {
    while (!this.granted(bytes)) {
      const limiter = this.limiter();
      if (limiter === undefined) return;
      await this.clock.sleep(Math.max(1, limiter.waitTime(bytes, this.clock.now())));
    }
  }

  // A granted request goes straight to the device, with no extra promise in between.
  read(offset: number, buffer: Uint8Array): Promise<void> {
    if (this.granted(buffer.length)) return this.inner.read(offset, buffer);
    return this.admit(buffer.length).then(() => this.inner.read(offset, buffer));
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    if (this.granted(data.length)) return this.inner.write(offset, data);
    return this.admit(data.length).then(() => this.inner.write(offset, data));
  }

  discard(offset: number, length: number): Promise<void> {
    if (this.granted(0)) return this.inner.discard(offset, length);
    return this.admit(0).then(() => this.inner.discard(offset, length));
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    if (this.granted(length)) return this.inner.writeZeroes(offset, length);
    return this.admit(length).then(() => this.inner.writeZeroes(offset, length));
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    return this.inner.allocation(offset, length);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
