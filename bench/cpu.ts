/**
 * `npm run bench:cpu`: the CPU time a request costs the app's main thread, one app at a time, under each guest
 * halt-polling setting in turn. `npm run bench` reads user and system time of the whole process in clock ticks
 * (10 ms); this reads the main thread's own run time from /proc/<pid>/task/<pid>/schedstat, in nanoseconds, over
 * windows of a few seconds, and gives the median window. Settings alternate within each round, so a drift of the
 * VM's speed does not fall on one setting only.
 *
 * Why halt polling may matter on a VM: see halt-poll.ts. With polling off, an app may pay in its own system time for
 * waking the idle load generator's vCPU after a response, and a slower app finds the generator idle more often.
 *
 * Flags: --variants none,nestjs-tracing@1,... --halt-poll 0,200000 (nanoseconds, one pass per setting; `keep`: the
 * machine's) --rounds N (2) --windows N (8) --window S (3) --warmup S (8) --connections N (50) --node PATH.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { applyGuestHaltPolling, haltPollSetting } from './halt-poll.js';
import { median } from './stats.js';
import { listeningPort } from './app-process.js';
import { SpanSink } from './span-sink.js';
import { variantOf } from './variants.js';

const { values: flags } = parseArgs({
  options: {
    variants: { type: 'string', default: 'none,nestjs-tracing@1,nestjs-tracing@0.1,nestjs-tracing@0' },
    'halt-poll': { type: 'string', default: '0,200000' },
    rounds: { type: 'string', default: '2' },
    windows: { type: 'string', default: '8' },
    window: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    node: { type: 'string', default: process.execPath },
  },
});

/** The main thread's run time so far, in nanoseconds (the first field of its schedstat). */
function mainThreadNanos(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

async function startApp(spec: string, sink: SpanSink): Promise<{ child: ChildProcess; port: number }> {
  const variant = variantOf(spec);
  const child = spawn('taskset', ['-c', '0', flags.node, '--min-semi-space-size=16', ...variant.nodeArgs, variant.app], {
    env: { ...process.env, ...variant.env, BENCH_PLATFORM: 'express', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}`, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk));
  const port = await listeningPort(child, () => output, spec);
  return { child, port };
}

/** Median main-thread µs a request over the windows, one app alone under load. */
async function measure(spec: string): Promise<number> {
  const sink = await SpanSink.start();
  let child: ChildProcess | undefined;
  try {
    const app = await startApp(spec, sink);
    child = app.child;
    const pid = child.pid as number;
    const run = (seconds: number) => autocannon({ url: `http://127.0.0.1:${app.port}/tiny`, connections: Number(flags.connections), duration: seconds });
    await run(Number(flags.warmup));
    const perRequest: number[] = [];
    for (let i = 0; i < Number(flags.windows); i++) {
      const before = mainThreadNanos(pid);
      const result = await run(Number(flags.window));
      if (result.requests.total > 0) perRequest.push((mainThreadNanos(pid) - before) / 1000 / result.requests.total);
    }
    return median(perRequest);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await sink.stop();
  }
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('bench:cpu reads the scheduler statistics of Linux (/proc) and pins with taskset');
  spawn('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const specs = flags.variants.split(',');
  if (!specs.includes('none')) throw new Error('the variants must include none, the reference of every ratio');
  const settings = flags['halt-poll'].split(',');
  // Checked before the first app starts, not when a round reaches a bad one.
  for (const setting of settings) haltPollSetting(setting);
  const results = new Map<string, number[]>();
  for (let round = 0; round < Number(flags.rounds); round++) {
    // Odd rounds take the settings in reverse, so neither always comes first after the other.
    for (const setting of round % 2 ? [...settings].reverse() : settings) {
      const nanoseconds = haltPollSetting(setting);
      const polling = nanoseconds === undefined ? undefined : applyGuestHaltPolling(nanoseconds);
      try {
        for (const spec of specs) {
          const micros = await measure(spec);
          const key = `${spec}|${setting}`;
          results.set(key, [...(results.get(key) ?? []), micros]);
          process.stderr.write(`round ${round + 1}, halt polling ${setting}: ${spec} ${micros.toFixed(1)} µs a request\n`);
        }
      } finally {
        polling?.restore();
      }
    }
  }
  const lines = [
    `Main-thread CPU a request (median window of ${flags.windows} × ${flags.window} s, median over ${flags.rounds} rounds), express /tiny, Node ${process.version} runner, apps on ${flags.node}:`,
    '',
    `| variant |${settings.map((setting) => ` µs, polling ${setting} | none ÷ variant |`).join('')}`,
    `|---|${settings.map(() => '---:|---:|').join('')}`,
  ];
  for (const spec of specs) {
    const cells = settings.map((setting) => {
      const micros = median(results.get(`${spec}|${setting}`) ?? []);
      const none = median(results.get(`none|${setting}`) ?? []);
      return ` ${micros.toFixed(1)} | ${(none / micros).toFixed(3)} |`;
    });
    lines.push(`| ${spec} |${cells.join('')}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
