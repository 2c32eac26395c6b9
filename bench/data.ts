/**
 * `npm run bench:data`: what the database instrumentations cost. Starts real PostgreSQL and Redis servers (Debian's
 * packages, as the tests use them) and runs `data-client.js` in three variants, interleaved over rounds:
 * untraced; preloaded with every default instrumentation (pg and ioredis among them), sampled and unsampled;
 * preloaded with the data instrumentations switched off. Reports the start-up time to drivers loaded, and microseconds per sequential
 * query (a traced query is a span exported over OTLP/gRPC to a local sink). Flags: --rounds N (5), --queries N.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres, startRedis } from './servers.js';
import { SpanSink } from './span-sink.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, queries: { type: 'string', default: '3000' } } });
const CLIENT = fileURLToPath(new URL('./data-client.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = ['pg', 'mysql2', 'mongodb', 'mongoose', 'ioredis', 'redis', 'kafkajs', 'amqplib', 'prisma'].join(',');

interface Sample {
  startupMillis: number;
  pgMicros: number;
  redisMicros: number;
}

const variants: { label: string; nodeArgs: string[]; env: Record<string, string> }[] = [
  { label: 'untraced', nodeArgs: [], env: {} },
  { label: 'traced, all instrumentations', nodeArgs: ['-r', 'nestjs-tracing/register'], env: {} },
  { label: 'traced at sampling 0', nodeArgs: ['-r', 'nestjs-tracing/register'], env: { OTEL_TRACES_SAMPLER: 'always_off' } },
  { label: 'traced, data instrumentations off', nodeArgs: ['-r', 'nestjs-tracing/register'], env: { OTEL_NODE_DISABLED_INSTRUMENTATIONS: DATA } },
];

async function run(variant: (typeof variants)[number], env: Record<string, string>): Promise<Sample> {
  const child = spawn(process.execPath, [...variant.nodeArgs, CLIENT], { cwd: ROOT, env: { ...process.env, ...env, ...variant.env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`${variant.label} failed (${code}): ${output}`);
  return JSON.parse(line) as Sample;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const [postgres, redis, sink] = await Promise.all([startPostgres(), startRedis(), SpanSink.start()]);
try {
  const env = {
    PG_PORT: String(postgres.port),
    REDIS_PORT: String(redis.port),
    BENCH_QUERIES: flags.queries,
    OTEL_SERVICE_NAME: 'bench-data',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  };
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < Number(flags.rounds); round++) {
    for (const variant of variants) samples.get(variant.label)!.push(await run(variant, env));
    process.stderr.write(`round ${round + 1} done\n`);
  }
  const lines = [
    `Node ${process.version}, ${flags.rounds} interleaved rounds, ${flags.queries} sequential queries per kind and round (medians).`,
    '',
    '| variant | start-up to drivers loaded, ms | pg query, µs | Redis GET, µs |',
    '|---|---:|---:|---:|',
    ...variants.map((v) => {
      const s = samples.get(v.label)!;
      return `| ${v.label} | ${median(s.map((x) => x.startupMillis)).toFixed(0)} | ${median(s.map((x) => x.pgMicros)).toFixed(1)} | ${median(s.map((x) => x.redisMicros)).toFixed(1)} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await Promise.all([postgres.stop(), redis.stop(), sink.stop()]);
}
