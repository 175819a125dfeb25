/**
 * Runs async operations one at a time, in call order. Image formats put their mutating calls
 * (write, writeZeroes, discard, flush, close) through one, so concurrent callers (a virtio queue,
 * a convert pipeline) cannot interleave two allocations of the same block.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
