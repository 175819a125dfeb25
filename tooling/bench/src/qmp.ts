import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from './errors.js';

interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  QMP?: unknown;
}

/** A minimal QEMU Machine Protocol client over a Unix socket: one command at a time, in order. */
export class QmpClient {
  private buffer = '';
  private readonly pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (e) => this.failAll(e));
    socket.on('close', () => this.failAll(new BenchError('PeerFailed', 'QMP connection closed')));
  }

  /** Connects to QEMU's QMP socket (retrying while QEMU starts) and leaves capability negotiation. */
  static async connect(path: string, timeoutMs: number): Promise<QmpClient> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path, () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.execute('qmp_capabilities');
        return client;
      } catch (e) {
        if (performance.now() > deadline) throw new BenchError('PeerFailed', `cannot connect to QEMU's QMP socket: ${String(e)}`, { cause: e });
        await sleep(20);
      }
    }
  }

  execute(command: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(`${JSON.stringify({ execute: command })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      const reply = JSON.parse(line) as QmpReply;
      // The greeting and asynchronous events answer no command.
      if (reply.QMP !== undefined || reply.event !== undefined) continue;
      const waiter = this.pending.shift();
      if (waiter === undefined) continue;
      if (reply.error) waiter.reject(new BenchError('PeerFailed', `QMP: ${reply.error.class}: ${reply.error.desc}`));
      else waiter.resolve(reply.return);
    }
  }

  private failAll(e: Error): void {
    for (const w of this.pending.splice(0)) w.reject(e);
  }
}
