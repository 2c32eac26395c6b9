/**
 * One process of `npm run bench:data`: loads node-postgres and ioredis as an app does, then times sequential
 * queries inside one sampled root span, so that every query is a traced child span when tracing runs. Prints one
 * JSON line: the process's time to here after loading the drivers, and microseconds per query.
 */
import { trace } from '@opentelemetry/api';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pg = require('pg') as typeof import('pg');
const { Redis } = require('ioredis') as typeof import('ioredis');
const startupMillis = process.uptime() * 1000;

const queries = Number(process.env.BENCH_QUERIES ?? 3000);
const pool = new pg.Pool({ host: '127.0.0.1', port: Number(process.env.PG_PORT), user: 'shop', database: 'shop', max: 1 });
const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });

async function timed(run: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 300; i++) await run(i);
  const started = performance.now();
  for (let i = 0; i < queries; i++) await run(i);
  return ((performance.now() - started) * 1000) / queries;
}

const result = await trace.getTracer('bench').startActiveSpan('bench', async (root) => {
  const pgMicros = await timed((i) => pool.query('SELECT $1::int AS n', [i]));
  const redisMicros = await timed((i) => redis.get(`bench:${i % 100}`));
  root.end();
  return { pgMicros, redisMicros };
});
process.stdout.write(`${JSON.stringify({ startupMillis, ...result })}\n`);
await Promise.all([pool.end(), redis.quit()]);
