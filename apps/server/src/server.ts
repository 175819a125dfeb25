import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerOptions } from './options.js';

export const VERSION = '0.0.0';

export interface RunningServer {
  /** The address actually bound (the port is resolved when 0 was asked for). */
  readonly address: AddressInfo;
  readonly url: string;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts tsvmd's HTTP listener. Routes: `GET /v1/health`. Everything else is a JSON 404. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/v1/health') {
      if (req.method !== 'GET') return json(res, 405, { error: 'MethodNotAllowed', message: `${req.method} is not allowed here` });
      return json(res, 200, { status: 'ok', version: VERSION });
    }
    json(res, 404, { error: 'NotFound', message: `no route for ${req.method} ${url.pathname}` });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    address,
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
