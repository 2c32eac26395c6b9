/**
 * `npm run bench:paired`: what tracing costs, read from two apps loaded at the same time on the same core.
 *
 * `npm run bench` loads one app at a time, and on a shared VM whose speed drifts by tens of percent within a minute
 * its ratios move by ±0.1-0.2 from round to round. Here both apps of a pair (an untraced one and a traced one, say)
 * are pinned to CPU 0 and saturated together, each by its own autocannon on CPU 1. While both are runnable the
 * kernel's fair scheduler gives each half of the core, so each serves requests at the rate its own CPU cost per
 * request allows, and a drift or stall of the VM falls on both at once: the ratio of their req/s is the ratio of
 * their costs, and the CPU time each used (user plus system, all threads) checks that they did share the core
 * evenly. What this does not show: latency, and any cost that depends on having a core alone (the two apps evict
 * each other's caches every few milliseconds, which costs the app with more memory in use a little more).
 *
 * Each pair is started fresh, warmed up together, then measured in rounds; the two generators start in alternate
 * order from round to round. `none:control` (two untraced apps) is the method's own error. The rounds of one start
 * agree to about ±1%, but each start places the two apps' code and heaps anew, and starts of the same pair differ by
 * up to ±2%: with --starts N each pair is started N times, the apps in alternate order, and its rounds are pooled.
 *
 * Flags: --pairs a:b,... (none:control,none:nestjs-tracing@1,none:nestjs-tracing@0.1,none:nestjs-tracing@0,
 * none:official@1,none:official@0.1) --rounds N (6, each start) --starts N (1) --seconds S (6) --warmup S (8)
 * --connections N (50, each app)
 * --route tiny|items|async|json|health|continued (tiny) --platform express|fastify (express) --node PATH
 * --out FILE (bench/results-paired.md) --baseline DIR (a built checkout of an earlier version, whose app runs as the
 * variants `baseline@<ratio>`, as for `npm run bench`).
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuMicros } from './process-stats.js';
import { listeningPort } from './app-process.js';
import { ROUTES, type Route } from './routes.js';
import { SinkHost, type RemoteSink } from './sink-client.js';
import { median } from './stats.js';
import { variantOf } from './variants.js';

const { values: flags } = parseArgs({
  options: {
    pairs: {
      type: 'string',
      default: 'none:control,none:nestjs-tracing@1,none:nestjs-tracing@0.1,none:nestjs-tracing@0,none:official@1,none:official@0.1',
    },
    rounds: { type: 'string', default: '6' },
    starts: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    route: { type: 'string', default: 'tiny' },
    platform: { type: 'string', default: 'express' },
    node: { type: 'string', default: process.execPath },
    baseline: { type: 'string' },
    out: { type: 'string', default: 'bench/results-paired.md' },
  },
});

/** An app of a pair, running, with the sink that counts its spans. */
interface PairedApp {
  readonly label: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly sink: RemoteSink;
  readonly output: () => string;
}

/** What one app did in one round. */
interface Share {
  readonly requests: number;
  readonly cpuMicros: number;
  readonly errors: number;
}

/** One pair's rounds: `b`'s req/s over `a`'s, and `a`'s CPU a request over `b`'s (both below 1 when b costs more). */
interface PairResult {
  readonly a: string;
  readonly b: string;
  readonly rps: [number[], number[]];
  readonly throughputRatios: number[];
  readonly cpuRatios: number[];
  readonly cpuShares: number[];
  errors: number;
  /** Spans received over spans ended by b, once a start. */
  readonly spans: string[];
  /** The median b ÷ a of each start. */
  readonly startMedians: number[];
}

/** A numeric flag, at least `min`, or a clear error. */
function option(name: string, value: string, min: number): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < min) throw new Error(`--${name} takes a number of at least ${min}: ${value}`);
  return number;
}

const rounds = option('rounds', flags.rounds, 1);
const starts = option('starts', flags.starts, 1);
const seconds = option('seconds', flags.seconds, 1);
const warmup = option('warmup', flags.warmup, 0);
const connections = option('connections', flags.connections, 1);
function routeOf(name: string): Route {
  const known = ROUTES[name];
  if (!known) throw new Error(`--route takes one of ${Object.keys(ROUTES).join(', ')}: ${name}`);
  return known;
}

const route = routeOf(flags.route);
if (!['express', 'fastify'].includes(flags.platform)) throw new Error(`--platform takes express or fastify: ${flags.platform}`);
const pairs = flags.pairs.split(',').map((pair) => {
  const [a, b, extra] = pair.split(':');
  if (!a || !b || extra !== undefined) throw new Error(`--pairs takes a:b,... (variant specs): ${pair}`);
  // A misspelt variant fails here, before any app starts.
  variantOf(a, flags.baseline);
  variantOf(b, flags.baseline);
  return [a, b] as const;
});

const sinkHost = new SinkHost(true);

async function startApp(spec: string): Promise<PairedApp> {
  const variant = variantOf(spec, flags.baseline);
  const sink = await sinkHost.start();
  const child = spawn('taskset', ['-c', '0', flags.node, '--min-semi-space-size=16', ...variant.nodeArgs, variant.app], {
    env: {
      ...process.env,
      ...variant.env,
      BENCH_PLATFORM: flags.platform,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_SERVICE_NAME: `bench-${spec}`,
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
  const port = await listeningPort(child, () => output, spec);
  return { label: spec, child, port, sink, output: () => output };
}

/** Ends an app; for a traced one, the spans its sink received over those it ended. */
async function stopApp(app: PairedApp): Promise<string> {
  app.child.kill('SIGTERM');
  if (app.child.exitCode === null) await once(app.child, 'exit');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const received = await sinkHost.stop(app.sink);
  const ended = Number(/spans-ended (-?\d+)/.exec(app.output())?.[1] ?? -1);
  return ended >= 0 ? `${received} / ${ended}` : '—';
}

function loadOne(app: PairedApp, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${app.port}${route.path}`,
    method: route.method,
    headers: route.headers,
    body: route.body,
    connections,
    duration,
  });
}

/** Both apps under full load for `duration` seconds, the generator of `first` started first. */
async function loadBoth(first: PairedApp, second: PairedApp, duration: number): Promise<Map<PairedApp, Share>> {
  const before = new Map([first, second].map((app) => [app, cpuMicros(app.child.pid as number)]));
  const results = await Promise.all([loadOne(first, duration), loadOne(second, duration)]);
  const shares = new Map<PairedApp, Share>();
  [first, second].forEach((app, i) => {
    const result = results[i];
    shares.set(app, {
      requests: result.requests.total,
      cpuMicros: cpuMicros(app.child.pid as number) - before.get(app)!,
      errors: result.errors + result.non2xx,
    });
  });
  return shares;
}

/** One start of a pair: both apps started (b first when `bFirst`), warmed up, measured in rounds into `result`. */
async function measureStart(result: PairResult, bFirst: boolean): Promise<void> {
  const [aSpec, bSpec] = [result.a, result.b];
  const first = await startApp(bFirst ? bSpec : aSpec);
  let second: PairedApp | undefined;
  try {
    second = await startApp(bFirst ? aSpec : bSpec);
    const [a, b] = bFirst ? [second, first] : [first, second];
    if (warmup > 0) await loadBoth(a, b, warmup);
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const shares = round % 2 === 0 ? await loadBoth(a, b, seconds) : await loadBoth(b, a, seconds);
      const [sa, sb] = [shares.get(a)!, shares.get(b)!];
      result.rps[0].push(sa.requests / seconds);
      result.rps[1].push(sb.requests / seconds);
      const ratio = sb.requests / sa.requests;
      ratios.push(ratio);
      result.throughputRatios.push(ratio);
      result.cpuRatios.push(sa.cpuMicros / sa.requests / (sb.cpuMicros / sb.requests));
      result.cpuShares.push(sb.cpuMicros / (sa.cpuMicros + sb.cpuMicros));
      result.errors += sa.errors + sb.errors;
      process.stderr.write(
        `${aSpec} : ${bSpec} round ${round + 1}: ${(sa.requests / seconds).toFixed(0)} and ${(sb.requests / seconds).toFixed(0)} req/s, ` +
          `ratio ${ratio.toFixed(3)}, CPU a request ${result.cpuRatios.at(-1)!.toFixed(3)}\n`,
      );
    }
    result.startMedians.push(median(ratios));
    await stopApp(a);
    result.spans.push(await stopApp(b));
  } finally {
    // Whatever failed, neither app outlives the pair.
    for (const app of [first, second]) if (app && app.child.exitCode === null) app.child.kill('SIGKILL');
  }
}

async function measurePair(aSpec: string, bSpec: string): Promise<PairResult> {
  const result: PairResult = { a: aSpec, b: bSpec, rps: [[], []], throughputRatios: [], cpuRatios: [], cpuShares: [], errors: 0, spans: [], startMedians: [] };
  for (let start = 0; start < starts; start++) await measureStart(result, start % 2 === 1);
  return result;
}

const range = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('bench:paired pins the apps to one CPU with taskset: it needs Linux');
  spawn('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const results: PairResult[] = [];
  try {
    for (const [a, b] of pairs) results.push(await measurePair(a, b));
  } finally {
    sinkHost.close();
  }
  const appNode = execFileSync(flags.node, ['--version'], { encoding: 'utf8' }).trim();
  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. Apps on Node ${appNode}, the runner on Node ${process.version}.`,
    `Both apps of a pair pinned to CPU 0 and loaded at once, ${connections} connections each (autocannon on CPU 1, the OTLP sinks in a process of their own on CPU 1); ` +
      `${warmup} s of warm-up, then ${rounds} rounds of ${seconds} s` +
      (starts > 1 ? `, in each of ${starts} starts of each pair (the apps started in alternate order; the rounds of all starts pooled)` : '') +
      `. ${flags.platform} ${route.method} ${route.path}.`,
    '',
    `| a | b | b ÷ a req/s (median, min–max) |${starts > 1 ? ' median of each start |' : ''} a ÷ b CPU a request (median) | b's share of the CPU | req/s a / b (median) | spans received / ended (b) | errors |`,
    `|---|---|---:|${starts > 1 ? '---:|' : ''}---:|---:|---:|---:|---:|`,
    ...results.map(
      (r) =>
        `| ${r.a} | ${r.b} | ${median(r.throughputRatios).toFixed(3)} (${range(r.throughputRatios)}) |` +
        (starts > 1 ? ` ${r.startMedians.map((value) => value.toFixed(3)).join(', ')} |` : '') +
        ` ${median(r.cpuRatios).toFixed(3)} | ${median(r.cpuShares).toFixed(3)} | ${median(r.rps[0]).toFixed(0)} / ${median(r.rps[1]).toFixed(0)} | ` +
        `${r.spans.join(', ')} | ${r.errors} |`,
    ),
  ];
  const report = `${lines.join('\n')}\n`;
  writeFileSync(flags.out, report);
  process.stdout.write(report);
}

await main();
