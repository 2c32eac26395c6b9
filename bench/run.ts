/**
 * `npm run bench`: what tracing costs a Nest 12 app. Each variant runs as its own process pinned to CPU 0,
 * while autocannon and the OTLP sink run here on CPU 1. Variants are interleaved (A B C A B C ...) over several
 * rounds because the machine is shared and noisy; every ratio is to `none` from the same round.
 *
 * Flags: --rounds N (3), --duration S (10), --warmup S (3), --connections N (50), --routes tiny,items,async,json,continued,
 * --platforms express,fastify, --variants none,nestjs-tracing@1,..., --soak S (0: off), --out FILE,
 * --baseline DIR: a checkout of an earlier version, built (`npm run build && npm run build:bench`), whose app runs
 * as the variants `baseline@<ratio>` in the same rounds, so a change is compared with what it replaces.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { SpanSink } from './span-sink.js';
import { variantOf as variantFromSpec, type Variant } from './variants.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    routes: { type: 'string', default: 'tiny' },
    platforms: { type: 'string', default: 'express' },
    variants: { type: 'string', default: 'none,nestjs-tracing@1,nestjs-tracing@0.1,nestjs-tracing@0,official@1,official@0.1,nestjs-otel@1,nestjs-otel@0.1' },
    soak: { type: 'string', default: '0' },
    out: { type: 'string', default: 'bench/results.md' },
    baseline: { type: 'string' },
  },
});

const pinned = process.platform === 'linux';

interface Route {
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

const ROUTES: Record<string, Route> = {
  tiny: { path: '/tiny', method: 'GET' },
  items: { path: '/items/42', method: 'GET', headers: { 'x-api-key': 'bench' } },
  async: { path: '/async', method: 'GET' },
  json: {
    path: '/json',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}` })) }),
  },
  health: { path: '/health', method: 'GET' },
  // /tiny called by a traced upstream: the context arrives in traceparent and tracestate (sampled).
  continued: {
    path: '/tiny',
    method: 'GET',
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
  },
};

const variantOf = (spec: string): Variant => variantFromSpec(spec, flags.baseline);

interface Sample {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  rssMb: number;
  errors: number;
  spansEnded: number;
  spansReceived: number;
}

async function startVariant(variant: Variant, platform: string, sink: SpanSink): Promise<{ child: ChildProcess; port: number }> {
  const command = pinned ? 'taskset' : process.execPath;
  const args = [...(pinned ? ['-c', '0', process.execPath] : []), ...variant.nodeArgs, variant.app];
  const child = spawn(command, args, {
    env: {
      ...process.env,
      ...variant.env,
      BENCH_PLATFORM: platform,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_SERVICE_NAME: `bench-${variant.label}`,
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearInterval(timer);
        resolve(Number(match[1]));
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${variant.label} exited:\n${output}`));
      }
    }, 50);
  });
  (child as ChildProcess & { output: () => string }).output = () => output;
  return { child, port };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

async function load(port: number, route: Route, seconds: number, connections: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}${route.path}`,
    method: route.method,
    headers: route.headers,
    body: route.body,
    connections,
    duration: seconds,
  });
}

async function measure(variant: Variant, platform: string, route: Route, sink: SpanSink): Promise<Sample> {
  const { child, port } = await startVariant(variant, platform, sink);
  const before = sink.received;
  await load(port, route, Number(flags.warmup), Number(flags.connections));
  const result = await load(port, route, Number(flags.duration), Number(flags.connections));
  const pid = pinned ? await childNodePid(child) : (child.pid as number);
  const rss = peakRssMb(pid);
  child.kill('SIGTERM');
  await once(child, 'exit');
  const output = (child as ChildProcess & { output: () => string }).output();
  const ended = Number(/spans-ended (-?\d+)/.exec(output)?.[1] ?? -1);
  // What the library logged about spans it could not deliver, so a gap in the table has its reason beside it.
  for (const line of output.match(/^.*(Spans lost|not exported at shutdown).*$/gm) ?? []) process.stderr.write(`  ${variant.label}: ${line.trim()}\n`);
  // The app flushed before exiting; give the sink a moment to decode the last export.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const received = sink.received - before;
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rssMb: rss,
    errors: result.errors + result.non2xx,
    spansEnded: ended,
    spansReceived: received,
  };
}

/** taskset execs node in place, so the pid is the same; kept as a function in case a wrapper forks. */
async function childNodePid(child: ChildProcess): Promise<number> {
  return child.pid as number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const range = (values: number[], digits = 2) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

async function soak(seconds: number, sink: SpanSink): Promise<string> {
  const { child, port } = await startVariant(variantOf('nestjs-tracing@1'), 'express', sink);
  const samples: number[] = [];
  const pid = child.pid as number;
  const sampler = setInterval(() => samples.push(rssMb(pid)), 5000);
  await load(port, ROUTES.tiny, seconds, Number(flags.connections));
  clearInterval(sampler);
  child.kill('SIGTERM');
  await once(child, 'exit');
  return `RSS of nestjs-tracing@1 under load on /tiny, every 5 s for ${seconds} s (MB): ${samples.map((s) => s.toFixed(0)).join(', ')}`;
}

async function main(): Promise<void> {
  if (pinned) spawn('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const sink = await SpanSink.start();
  const variants = flags.variants.split(',').map(variantOf);
  const rounds = Number(flags.rounds);
  const lines: string[] = [];
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  lines.push(`Machine: ${machine}. App pinned to CPU 0, autocannon and the OTLP sink to CPU 1: ${pinned ? 'yes (taskset)' : 'no'}.`);
  lines.push(`Load: autocannon, ${flags.connections} connections, ${flags.warmup} s warm-up then ${flags.duration} s measured, ${rounds} interleaved rounds.`);
  for (const platform of flags.platforms.split(',')) {
    for (const routeName of flags.routes.split(',')) {
      const route = ROUTES[routeName];
      const results = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
      const ratios = new Map<string, number[]>(variants.map((v) => [v.label, []]));
      for (let round = 0; round < rounds; round++) {
        const samples = new Map<string, Sample>();
        for (const variant of variants) {
          const sample = await measure(variant, platform, route, sink);
          samples.set(variant.label, sample);
          results.get(variant.label)?.push(sample);
          process.stderr.write(`${platform} ${routeName} round ${round + 1} ${variant.label}: ${sample.rps.toFixed(0)} req/s\n`);
        }
        const floor = samples.get('none')?.rps;
        for (const [label, sample] of samples) if (floor) ratios.get(label)?.push(sample.rps / floor);
      }
      const upstream = route.headers?.traceparent ? ' with traceparent and tracestate (a sampled upstream)' : '';
      lines.push('', `### ${platform}, ${route.method} ${route.path}${upstream}`, '');
      lines.push('| variant | req/s (median) | vs none (median, min–max) | p50 ms | p99 ms | peak RSS MB | spans received / ended | errors |');
      lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
      for (const variant of variants) {
        const samples = results.get(variant.label) ?? [];
        const vsNone = ratios.get(variant.label) ?? [];
        const received = samples.reduce((sum, s) => sum + s.spansReceived, 0);
        const ended = samples.reduce((sum, s) => sum + s.spansEnded, 0);
        const spans = variant.label === 'none' ? '—' : ended >= 0 ? `${received} / ${ended}` : `${received} / ?`;
        lines.push(
          `| ${variant.label} | ${median(samples.map((s) => s.rps)).toFixed(0)} | ${vsNone.length ? `${median(vsNone).toFixed(3)} (${range(vsNone, 3)})` : '—'} | ` +
            `${median(samples.map((s) => s.p50)).toFixed(1)} | ${median(samples.map((s) => s.p99)).toFixed(1)} | ${median(samples.map((s) => s.rssMb)).toFixed(0)} | ` +
            `${spans} | ${samples.reduce((sum, s) => sum + s.errors, 0)} |`,
        );
      }
    }
  }
  const soakSeconds = Number(flags.soak);
  if (soakSeconds > 0) lines.push('', await soak(soakSeconds, sink));
  await sink.stop();
  const report = `${lines.join('\n')}\n`;
  writeFileSync(flags.out, report);
  process.stdout.write(report);
}

await main();
