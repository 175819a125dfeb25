import type { Milestone } from './run-result.js';

/** Wall-clock and CPU time of this process since the peer was started. */
export class RunClock {
  private readonly start = performance.now();
  private readonly cpuStart = process.cpuUsage();

  at(instructions: number | null): Milestone {
    const cpu = process.cpuUsage(this.cpuStart);
    return {
      seconds: (performance.now() - this.start) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      instructions,
    };
  }
}
