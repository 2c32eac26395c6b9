import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fixedRateLatency } from './fixed-rate.js';

/** A server that answers every request, each `delayOf(n)` ms after the n-th arrived (0: at once). */
async function startServer(delayOf: (n: number) => number): Promise<{ server: Server; port: number; arrivals: number[] }> {
  const arrivals: number[] = [];
  const server = createServer((request, response) => {
    const n = arrivals.push(performance.now()) - 1;
    request.resume();
    const delay = delayOf(n);
    const answer = () => response.end('ok');
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, arrivals };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

describe('the fixed-rate load', () => {
  it('sends every request of the run, none before it is due', async () => {
    const { server, port, arrivals } = await startServer(() => 0);
    try {
      const called = performance.now();
      const result = await fixedRateLatency({ port, path: '/', method: 'GET', rate: 400, connections: 8, seconds: 1 });
      expect(arrivals).toHaveLength(400);
      expect(result.errors).toBe(0);
      // The n-th request is due 2.5 ms after the one before; a busy machine may send it late, never early.
      const early = arrivals.filter((at, n) => at < called + n * 2.5);
      expect(early).toEqual([]);
      expect(result.served).toBeGreaterThan(0);
      expect(result.p50).toBeGreaterThanOrEqual(0);
    } finally {
      await stop(server);
    }
  });

  it('times requests from when they were due, so a stall counts for every request due during it', async () => {
    // One connection; request 100 takes 300 ms: at 200 requests a second, the 60 due behind it wait too.
    const { server, port } = await startServer((n) => (n === 100 ? 300 : 0));
    try {
      const result = await fixedRateLatency({ port, path: '/', method: 'GET', rate: 200, connections: 1, seconds: 2 });
      expect(result.errors).toBe(0);
      // A closed loop would see one slow request in 400 (p99 fast); an open one sees about 60 slow ones.
      expect(result.p99).toBeGreaterThan(100);
      expect(result.p50).toBeLessThan(50);
    } finally {
      await stop(server);
    }
  });

  it('posts the body and counts answers other than 2xx and refused connections as errors', async () => {
    const bodies: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        response.statusCode = 503;
        response.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const result = await fixedRateLatency({ port, path: '/json', method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' }, rate: 100, connections: 2, seconds: 0.2 });
      expect(result.errors).toBe(20);
      expect(bodies).toEqual(Array(20).fill('{"a":1}'));
      expect(Number.isNaN(result.p99)).toBe(true);
    } finally {
      await stop(server);
    }
    const refused = await fixedRateLatency({ port, path: '/', method: 'GET', rate: 100, connections: 2, seconds: 0.1 });
    expect(refused.errors).toBe(10);
    expect(refused.served).toBe(0);
  });
});
