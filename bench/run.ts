/**
 * `npm run bench`: what tracing costs a Nest 12 app. Every variant runs as its own process pinned to CPU 0, all of
 * them started at once; autocannon runs here on CPU 1, beside a process with one OTLP sink per variant
 * (sink-host.ts). The machine is shared and its speed drifts by tens of percent within a minute, so load goes to
 * one app at a time in short slices, each variant's slice between two slices of `none`: a variant's ratio in a
 * round is its req/s over the mean of the two `none` slices around it, and the table gives the median over the
 * rounds. CPU µs per request (user + system, from /proc) are read over the same slices. Latency is measured twice:
 * at saturation (50 connections, so p99 is mostly queueing and follows throughput) and at a fixed rate, a fraction
 * of what `none` served, where p99 shows what tracing adds to a request rather than how far the core is overloaded
 * (a variant that cannot serve that rate is marked so). The fixed rate is an open loop of our own (fixed-rate.ts):
 * each request is timed from when it was due, to the microsecond; autocannon's rate mode times from when a request
 * went out, in whole milliseconds, and corrects for that with a 1 ms interval whatever the rate. The rate is a fifth
 * of what `none` served: an open loop turns every dip of the VM's speed below the rate into queueing, and at 0.4 the
 * VM's dips to half speed overloaded the apps at sampling 1.0 often enough to decide their p99 (the official path's
 * capacity is below 0.4 of `none`'s).
 *
 * Each app waits idle for most of a round while the others are loaded, which no server under steady traffic does.
 * V8 shrinks the young generation at the first scavenge after such a pause (the allocation rate looks low) and
 * regrows it over seconds, so a variant's slice ran on a new space of 4-8 MB while `none`, loaded every other slice,
 * kept 16-32 MB: a second copy of `none` (the `control` variant) read 0.76-0.91 of it, and used 10-30% more CPU per
 * request. The rounds therefore run every app with its young generation at V8's default maximum from the start
 * (`--min-semi-space-size`, --semi-space). Even so, an app's first second of load after a pause costs 10-90% more CPU
 * a request (what goes cold in a pause was not pinned down), so each measured slice, and each fixed-rate run, follows
 * --prewarm seconds of unmeasured load on the same app. A traced app takes longer to come back than an untraced
 * one, a sampled path that runs on one request in ten the longest: with 1 s, sampling 0.1 and 1.0 read 0.68 and
 * 0.51 of `none`; with 4 s, 0.76 and 0.59 (the same build, two runs, `control` 0.967 in both). `control` is among
 * the default variants, so that each run shows the method's own error beside its results.
 *
 * Memory is measured apart from the rounds: each of --memory-variants alone under continuous load for --memory
 * seconds, as a server under steady traffic holds it, once on V8's own young-generation sizing and once with the
 * young generation fixed at the same size for every app (--memory-semi-space). V8 grows the young generation once
 * enough bytes have survived its scavenges, which every app under sustained load reaches in time: `als` in about
 * 30 s, an untraced app in about two minutes. On V8's own sizing a run of fixed length therefore catches some apps
 * before their growth and some after, and the table says when each grew; the fixed size compares what each keeps.
 *
 * On a KVM guest whose idle vCPUs halt at once (cpuidle-haltpoll with polling off), the load generator's vCPU waits
 * halted between responses, and each wake-up is an interrupt through the hypervisor that the app's `writev` may pay
 * in system time, more often the slower the app. --halt-poll NS sets guest halt polling for the run and puts the
 * machine's value back when it ends; whether it makes the comparison fairer is not settled (bench/FINDINGS.md,
 * 2026-12-07), so by default the machine's setting is kept.
 *
 * Flags: --rounds N (8; 0: the memory phase only), --slice S (2), --warmup S (3), --connections N (50), --latency S
 * (4: seconds per app and round at the fixed rate, 0: off), --latency-rounds N (3), --rate F (0.2: the fixed rate as
 * a fraction of none's median req/s), --semi-space MB (16: V8's default maximum; 0: V8's own sizing), --prewarm S
 * (4), --routes tiny,items,async,json,health,continued, --platforms express,fastify, --variants
 * none,control,nestjs-tracing@1,..., --memory S (60; 0: off), --memory-variants none,als,nestjs-tracing@1,...,
 * --memory-semi-space MB,... (0,16: the memory phase once on V8's own young-generation sizing, once with the young
 * generation fixed at twice MB for every app), --soak S (0: off), --out FILE, --node PATH (the Node binary the apps
 * run on; this runner's by default), --halt-poll NS|keep (keep), --baseline DIR: a checkout of an earlier version,
 * built (`npm run build && npm run build:bench`), whose app runs as the variants `baseline@<ratio>` in the same
 * rounds.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { SinkHost, type RemoteSink } from './sink-client.js';
import { ROUTES, type Route } from './routes.js';
import { cpuMicros, procStatus } from './process-stats.js';
import { listeningPort } from './app-process.js';
import { variantOf as variantFromSpec, type Variant } from './variants.js';
import { applyGuestHaltPolling, haltPollSetting } from './halt-poll.js';
import { median } from './stats.js';
import { fixedRateLatency, type FixedRateResult } from './fixed-rate.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    slice: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    'semi-space': { type: 'string', default: '16' },
    prewarm: { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    latency: { type: 'string', default: '4' },
    'latency-rounds': { type: 'string', default: '3' },
    rate: { type: 'string', default: '0.2' },
    routes: { type: 'string', default: 'tiny' },
    platforms: { type: 'string', default: 'express' },
    variants: {
      type: 'string',
      default: 'none,control,als,nestjs-tracing@1,nestjs-tracing@0.1,nestjs-tracing@0,official@1,official@0.1,nestjs-otel@1,nestjs-otel@0.1',
    },
    memory: { type: 'string', default: '60' },
    'memory-variants': { type: 'string', default: 'none,als,nestjs-tracing@1,nestjs-tracing@0,official@1' },
    soak: { type: 'string', default: '0' },
    out: { type: 'string', default: 'bench/results.md' },
    node: { type: 'string', default: process.execPath },
    baseline: { type: 'string' },
    'halt-poll': { type: 'string', default: 'keep' },
    'memory-semi-space': { type: 'string', default: '0,16' },
  },
});

const pinned = process.platform === 'linux';

const variantOf = (spec: string): Variant => variantFromSpec(spec, flags.baseline);

/** Started by main(), once this process is pinned. */
let sinkHost: SinkHost;

/** One variant's app, running, with the sink that counts its spans. */
interface App {
  readonly variant: Variant;
  readonly child: ChildProcess;
  readonly port: number;
  readonly sink: RemoteSink;
  readonly output: () => string;
  /** The young generation's sizes as the app reported them, in order. */
  readonly youngGeneration: readonly YoungGenerationSize[];
}

/** A size of an app's young generation, and when the runner learnt of it (ms since the epoch). */
interface YoungGenerationSize {
  readonly at: number;
  readonly mb: number;
}

/** What one slice of load measured. */
interface Slice {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  cpuMicros: number;
  errors: number;
}

/** The V8 flag that starts an app's young generation at --semi-space MB, if any. */
function youngGenerationArgs(): string[] {
  return Number(flags['semi-space']) > 0 ? [`--min-semi-space-size=${flags['semi-space']}`] : [];
}

/** The V8 flags that fix an app's young generation at twice `semiSpaceMb` (0: none, V8's own sizing). */
function fixedYoungGenerationArgs(semiSpaceMb: number): string[] {
  return semiSpaceMb > 0 ? [`--min-semi-space-size=${semiSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`] : [];
}

/** Starts a variant's app, with the young-generation flags of the rounds unless given others. */
async function startApp(variant: Variant, platform: string, young = youngGenerationArgs()): Promise<App> {
  const sink = await sinkHost.start();
  const command = pinned ? 'taskset' : flags.node;
  const args = [...(pinned ? ['-c', '0', flags.node] : []), ...young, ...variant.nodeArgs, variant.app];
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
  const youngGeneration: YoungGenerationSize[] = [];
  let stdoutLine = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk;
    // Each size is stamped with the time it was read here: the app prints it within half a second of V8's resize.
    const lines = (stdoutLine + chunk.toString()).split('\n');
    stdoutLine = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^young-generation-mb (\d+)$/.exec(line);
      if (match) youngGeneration.push({ at: Date.now(), mb: Number(match[1]) });
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
  const port = await listeningPort(child, () => output, variant.label);
  return { variant, child, port, sink, output: () => output, youngGeneration };
}

/** Ends an app and reports what it ended and what its sink received. */
async function stopApp(app: App): Promise<{ ended: number; received: number; peakRssMb: number; youngMb: number }> {
  const peakRssMb = procStatus(app.child.pid as number, 'VmHWM') / 1024;
  app.child.kill('SIGTERM');
  if (app.child.exitCode === null) await once(app.child, 'exit');
  const output = app.output();
  // What the library logged about spans it could not deliver, so a gap in the table has its reason beside it.
  for (const line of output.match(/^.*(Spans lost|not exported at shutdown).*$/gm) ?? []) process.stderr.write(`  ${app.variant.label}: ${line.trim()}\n`);
  // The app flushed before exiting; give the sink a moment to decode the last export.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const received = await sinkHost.stop(app.sink);
  const youngMb = app.youngGeneration.at(-1)?.mb ?? Number.NaN;
  return { ended: Number(/spans-ended (-?\d+)/.exec(output)?.[1] ?? -1), received, peakRssMb, youngMb };
}

async function load(app: App, route: Route, seconds: number): Promise<Slice> {
  const pid = app.child.pid as number;
  const cpuBefore = cpuMicros(pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${app.port}${route.path}`,
    method: route.method,
    headers: route.headers,
    body: route.body,
    connections: Number(flags.connections),
    duration: seconds,
  });
  const requests = result.requests.total;
  return {
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicros: requests > 0 ? (cpuMicros(pid) - cpuBefore) / requests : 0,
    errors: result.errors + result.non2xx,
  };
}

const range = (values: number[], digits = 2) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

interface Measured {
  slices: Slice[];
  ratios: number[];
  cpuRatios: number[];
  atRate: FixedRateResult[];
}

/**
 * Rounds of slices: `none`, then each other variant followed by `none` again, starting from a different variant
 * each round so that no variant always follows the same one.
 */
async function measureRoute(apps: App[], route: Route, label: string): Promise<{ measured: Map<string, Measured>; rate: number }> {
  const none = apps.find((app) => app.variant.label === 'none');
  if (!none) throw new Error('the variants must include none, the reference of every ratio');
  const others = apps.filter((app) => app !== none);
  const measured = new Map<string, Measured>(apps.map((app) => [app.variant.label, { slices: [], ratios: [], cpuRatios: [], atRate: [] }]));
  const seconds = Number(flags.slice);
  const prewarm = Number(flags.prewarm);
  // An app's first second of load after a pause costs more CPU a request, in an untraced app too (see above).
  const measure = async (app: App): Promise<Slice> => {
    if (prewarm > 0) await load(app, route, prewarm);
    return load(app, route, seconds);
  };
  for (const app of apps) await load(app, route, Number(flags.warmup));
  for (let round = 0; round < Number(flags.rounds); round++) {
    let before = await measure(none);
    measured.get('none')!.slices.push(before);
    for (let i = 0; i < others.length; i++) {
      const app = others[(i + round) % others.length];
      const slice = await measure(app);
      const after = await measure(none);
      const entry = measured.get(app.variant.label)!;
      entry.slices.push(slice);
      entry.ratios.push(slice.rps / ((before.rps + after.rps) / 2));
      entry.cpuRatios.push(slice.cpuMicros / ((before.cpuMicros + after.cpuMicros) / 2));
      measured.get('none')!.slices.push(after);
      before = after;
    }
    const line = others.map((app) => `${app.variant.label} ${measured.get(app.variant.label)!.ratios.at(-1)!.toFixed(3)}`).join(', ');
    process.stderr.write(`${label} round ${round + 1}: none ${before.rps.toFixed(0)} req/s; ${line}\n`);
  }
  const noneEntry = measured.get('none')!;
  noneEntry.ratios = noneEntry.slices.map(() => 1);
  noneEntry.cpuRatios = noneEntry.slices.map(() => 1);
  const rate = Math.round(median(noneEntry.slices.map((s) => s.rps)) * Number(flags.rate));
  // Stalls of the VM hit whichever app is loaded at the time, so the fixed-rate runs are interleaved in rounds too.
  const latencySeconds = Number(flags.latency);
  const connections = Number(flags.connections);
  const atFixedRate = (app: App, seconds: number) =>
    fixedRateLatency({ port: app.port, path: route.path, method: route.method, headers: route.headers, body: route.body, rate, connections, seconds });
  for (let round = 0; latencySeconds > 0 && round < Number(flags['latency-rounds']); round++) {
    for (const app of apps) {
      if (prewarm > 0) await atFixedRate(app, prewarm);
      measured.get(app.variant.label)!.atRate.push(await atFixedRate(app, latencySeconds));
    }
    const line = apps.map((app) => `${app.variant.label} ${measured.get(app.variant.label)!.atRate.at(-1)!.p99.toFixed(2)}`).join(', ');
    process.stderr.write(`${label} p99 ms at ${rate} req/s, round ${round + 1}: ${line}\n`);
  }
  return { measured, rate };
}

/**
 * Median p50 and p99 at the fixed rate over the rounds, with what the app served when it could not keep up (then
 * latency is queueing again).
 */
function atRate(runs: FixedRateResult[], rate: number): string {
  if (runs.length === 0) return '—';
  const latency = `${median(runs.map((run) => run.p50)).toFixed(2)} / ${median(runs.map((run) => run.p99)).toFixed(2)}`;
  const served = median(runs.map((run) => run.served));
  return served < rate * 0.95 ? `${latency} (served ${served.toFixed(0)})` : latency;
}

/**
 * Each variant alone under continuous load on /tiny: peak and final RSS, as a server under steady traffic holds
 * memory, with the young generation on V8's own sizing (`semiSpaceMb` 0) or fixed at twice `semiSpaceMb` for every
 * app. V8 grows the young generation once the bytes that survived its scavenges since the last growth add up to its
 * size: any app under sustained load gets there in time, untraced ones too, and an app whose requests leave more
 * alive at each scavenge (AsyncLocalStorage's frames, a tracer's spans) gets there sooner. On V8's own sizing a run
 * of fixed length therefore compares apps some of which have grown and some not yet, so the table says when each
 * grew; with the size fixed, the difference is what the app keeps, at any size V8 may settle on.
 */
async function memoryUnderLoad(specs: string[], seconds: number, semiSpaceMb: number): Promise<string[]> {
  const rows: { label: string; peak: number; final: number; young: number; growth: string }[] = [];
  for (const spec of specs) {
    const app = await startApp(variantOf(spec), 'express', fixedYoungGenerationArgs(semiSpaceMb));
    const loadStart = Date.now();
    await load(app, ROUTES.tiny, seconds);
    const final = procStatus(app.child.pid as number, 'VmRSS') / 1024;
    const { peakRssMb, youngMb } = await stopApp(app);
    rows.push({ label: spec, peak: peakRssMb, final, young: youngMb, growth: youngGenerationGrowth(app.youngGeneration, loadStart) });
  }
  // Over untraced, and over `als`: AsyncLocalStorage alone makes V8 grow its young generation sooner under load.
  const bases = ['none', 'als'].map((label) => rows.find((row) => row.label === label)).filter((row) => row !== undefined);
  const over = (mb: number) =>
    bases
      .map((base) => Math.round(mb - base.peak))
      .map((difference) => ` ${difference >= 0 ? '+' : ''}${difference === 0 ? 0 : difference} |`)
      .join('');
  const sizing = semiSpaceMb > 0 ? `the young generation fixed at ${semiSpaceMb * 2} MB for every app` : "V8's own young-generation sizing";
  return [
    '',
    `### Memory: each app alone, ${seconds} s of continuous load on express /tiny, ${sizing}`,
    '',
    `| variant | peak RSS MB |${bases.map((base) => ` peak over ${base.label} |`).join('')} RSS at the end MB | young generation at the end MB | young generation grew (s of load) |`,
    `|---|---:|${bases.map(() => '---:|').join('')}---:|---:|---|`,
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.peak.toFixed(0)} |${over(row.peak)} ${row.final.toFixed(0)} | ${Number.isNaN(row.young) ? '—' : row.young} | ${row.growth} |`,
    ),
  ];
}

/** The sizes an app's young generation grew to under load, with the second of load each was first reported at. */
function youngGenerationGrowth(sizes: readonly YoungGenerationSize[], loadStart: number): string {
  const grown: string[] = [];
  let last = sizes.filter((size) => size.at <= loadStart).at(-1)?.mb ?? sizes[0]?.mb;
  for (const size of sizes) {
    if (size.at <= loadStart || size.mb === last) continue;
    grown.push(`${size.mb} MB at ${((size.at - loadStart) / 1000).toFixed(0)}`);
    last = size.mb;
  }
  return grown.length > 0 ? grown.join(', ') : '—';
}

async function soak(seconds: number): Promise<string> {
  const app = await startApp(variantOf('nestjs-tracing@1'), 'express', []);
  const samples: number[] = [];
  const pid = app.child.pid as number;
  const sampler = setInterval(() => samples.push(procStatus(pid, 'VmRSS') / 1024), 5000);
  await load(app, ROUTES.tiny, seconds);
  clearInterval(sampler);
  await stopApp(app);
  return `RSS of nestjs-tracing@1 under load on /tiny, V8's own young-generation sizing, every 5 s for ${seconds} s (MB): ${samples.map((s) => s.toFixed(0)).join(', ')}`;
}

/** The --memory-semi-space list: semi-space sizes in MB, 0 for V8's own sizing. */
function semiSpaceSizes(list: string): number[] {
  return list.split(',').map((item) => {
    const mb = Number(item);
    if (!Number.isInteger(mb) || mb < 0) throw new Error(`--memory-semi-space takes sizes in MB, 0 for V8's own sizing: ${item}`);
    return mb;
  });
}

function appNodeVersion(): string {
  return execFileSync(flags.node, ['--version'], { encoding: 'utf8' }).trim();
}

async function main(): Promise<void> {
  if (pinned) spawn('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const haltPollNs = haltPollSetting(flags['halt-poll']);
  const haltPolling = haltPollNs === undefined ? undefined : applyGuestHaltPolling(haltPollNs);
  sinkHost = new SinkHost(pinned);
  const variants = flags.variants.split(',').map(variantOf);
  const lines: string[] = [];
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  lines.push(`Machine: ${machine}. Apps on Node ${appNodeVersion()}, the runner on Node ${process.version}.`);
  lines.push(`Apps pinned to CPU 0; autocannon, and the OTLP sinks in a process of their own, on CPU 1: ${pinned ? 'yes (taskset)' : 'no'}.`);
  lines.push(haltPolling?.summary ?? "Guest halt polling: the machine's own setting (--halt-poll keep).");
  const young = youngGenerationArgs()[0] ?? "V8's own young-generation sizing";
  lines.push(`Apps in the rounds started with ${young}; \`control\` is a second untraced app, the same as \`none\` (an A/A check: 1.00 when the method is fair).`);
  lines.push(
    `Load: autocannon, ${flags.connections} connections; ${flags.warmup} s warm-up per app, then ${flags.rounds} rounds of ` +
      `${flags.slice} s slices (each after ${flags.prewarm} s of unmeasured load on the same app), each variant's between two of none; then ${flags['latency-rounds']} rounds of ${flags.latency} s ` +
      `per app at a fixed rate (${flags.rate} of none's median req/s, an open loop timed from when each request was due, each run after ${flags.prewarm} s at that rate; p50 and p99 are medians over those rounds).`,
  );
  // --rounds 0 runs the memory phase alone.
  for (const platform of Number(flags.rounds) > 0 ? flags.platforms.split(',') : []) {
    for (const routeName of flags.routes.split(',')) {
      const route = ROUTES[routeName];
      const apps: App[] = [];
      for (const variant of variants) apps.push(await startApp(variant, platform));
      const { measured, rate } = await measureRoute(apps, route, `${platform} ${routeName}`);
      const stopped = new Map<string, Awaited<ReturnType<typeof stopApp>>>();
      for (const app of apps) stopped.set(app.variant.label, await stopApp(app));
      const upstream = route.headers?.traceparent ? ' with traceparent and tracestate (a sampled upstream)' : '';
      lines.push('', `### ${platform}, ${route.method} ${route.path}${upstream}`, '');
      lines.push(
        `| variant | req/s (median) | vs none (median, min–max) | CPU µs/req | CPU vs none | p50 ms | p99 ms | p50 / p99 ms at ${rate} req/s | peak RSS MB | spans received / ended | errors |`,
      );
      lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const variant of variants) {
        const entry = measured.get(variant.label)!;
        const { ended, received, peakRssMb } = stopped.get(variant.label)!;
        // Untraced apps report no count (-1) and receive nothing.
        const spans = ended >= 0 ? `${received} / ${ended}` : received > 0 ? `${received} / ?` : '—';
        const slices = entry.slices;
        const errors = [...slices, ...entry.atRate].reduce((sum, run) => sum + run.errors, 0);
        lines.push(
          `| ${variant.label} | ${median(slices.map((s) => s.rps)).toFixed(0)} | ${median(entry.ratios).toFixed(3)} (${range(entry.ratios, 3)}) | ` +
            `${median(slices.map((s) => s.cpuMicros)).toFixed(1)} | ${median(entry.cpuRatios).toFixed(3)} | ` +
            `${median(slices.map((s) => s.p50)).toFixed(1)} | ${median(slices.map((s) => s.p99)).toFixed(1)} | ${atRate(entry.atRate, rate)} | ` +
            `${peakRssMb.toFixed(0)} | ${spans} | ${errors} |`,
        );
      }
    }
  }
  const memorySeconds = Number(flags.memory);
  for (const semiSpaceMb of memorySeconds > 0 ? semiSpaceSizes(flags['memory-semi-space']) : []) {
    lines.push(...(await memoryUnderLoad(flags['memory-variants'].split(','), memorySeconds, semiSpaceMb)));
  }
  const soakSeconds = Number(flags.soak);
  if (soakSeconds > 0) lines.push('', await soak(soakSeconds));
  sinkHost.close();
  haltPolling?.restore();
  const report = `${lines.join('\n')}\n`;
  writeFileSync(flags.out, report);
  process.stdout.write(report);
}

await main();
