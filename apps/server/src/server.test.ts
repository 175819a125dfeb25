import { afterEach, describe, expect, it } from 'vitest';
import { parseOptions, ServerError, startServer, type RunningServer } from './index.js';

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('tsvmd options', () => {
  it('defaults to loopback', () => {
    expect(parseOptions([])).toEqual({ host: '127.0.0.1', port: 7310, dataDir: './tsvmd-data' });
    expect(parseOptions(['--help'])).toBe('help');
  });

  it('refuses bad flags and values with a usage error', () => {
    expect(() => parseOptions(['--port', '70000'])).toThrow(ServerError);
    expect(() => parseOptions(['--port', 'x'])).toThrow(/--port must be/);
    expect(() => parseOptions(['--bogus'])).toThrow(/bogus/);
  });
});

describe('tsvmd HTTP listener', () => {
  it('answers health checks and 404s on loopback', async () => {
    running = await startServer({ host: '127.0.0.1', port: 0, dataDir: '.' });
    expect(running.address.port).toBeGreaterThan(0);
    const health = await fetch(`${running.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const missing = await fetch(`${running.url}/v1/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'NotFound' });
    const post = await fetch(`${running.url}/v1/health`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
