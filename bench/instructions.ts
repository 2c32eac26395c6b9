/**
 * `npm run bench:instructions`: what tracing costs a request in CPU instructions, counted by valgrind's callgrind.
 * Instruction counts do not depend on what else the machine is doing, so they compare builds and variants where
 * req/s on a shared VM varies by 15% between runs. They leave out what instructions do not show (cache misses,
 * memory bandwidth), so they complement `npm run bench`, which stays the measure of throughput.
 *
 * Each variant's app runs under `valgrind --tool=callgrind` with counting off; after a warm-up the runner switches
 * counting on for a fixed number of requests (keep-alive, 10 at a time) and reads the total over every thread (the
 * app's own, V8's compiler and GC threads). Flags: --variants (none,nestjs-tracing@1,nestjs-tracing@0.1,
 * nestjs-tracing@0), --baseline DIR (as for `npm run bench`), --warmup N requests (20000), --requests N (4000),
 * --route (/tiny), --parallel N (2), --out FILE. Needs valgrind (`apt-get install valgrind`).
 */
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SpanSink } from './span-sink.js';
import { variantOf, type Variant } from './variants.js';

const { values: flags } = parseArgs({
  options: {
    variants: { type: 'string', default: 'none,nestjs-tracing@1,nestjs-tracing@0.1,nestjs-tracing@0' },
    baseline: { type: 'string' },
    warmup: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '4000' },
    route: { type: 'string', default: '/tiny' },
    parallel: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results-instructions.md' },
  },
});

/** Sends `count` GET requests to `path`, `concurrency` at a time over keep-alive connections. */
async function load(port: number, path: string, count: number, concurrency = 10): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let sent = 0;
  const worker = async () => {
    while (sent < count) {
      sent++;
      await new Promise<void>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path, agent }, (response) => {
          response.resume();
          response.on('end', resolve);
        }).on('error', reject);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
}

async function countInstructions(variant: Variant, sink: SpanSink): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-callgrind-'));
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${join(dir, 'out.%p')}`, process.execPath, ...variant.nodeArgs, variant.app],
    { env: { ...process.env, ...variant.env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /listening (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
        if (match || child.exitCode !== null) clearInterval(timer);
        if (!match && child.exitCode !== null) reject(new Error(`${variant.label} exited:\n${output}`));
      }, 200);
    });
    const requests = Number(flags.requests);
    await load(port, flags.route, Number(flags.warmup));
    execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
    await load(port, flags.route, requests);
    execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
    const total = readdirSync(dir)
      .map((file) => readFileSync(join(dir, file), 'utf8'))
      .reduce((sum, text) => sum + Number(/^totals: (\d+)/m.exec(text)?.[1] ?? 0), 0);
    return total / requests;
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const variants = flags.variants.split(',').map((spec) => variantOf(spec, flags.baseline));
  const sink = await SpanSink.start();
  const counts = new Map<string, number>();
  try {
    const pending = [...variants];
    const runOne = async (): Promise<void> => {
      for (let variant = pending.shift(); variant; variant = pending.shift()) {
        const perRequest = await countInstructions(variant, sink);
        counts.set(variant.label, perRequest);
        console.log(`${variant.label}: ${Math.round(perRequest)} instructions/request`);
      }
    };
    await Promise.all(Array.from({ length: Number(flags.parallel) }, runOne));
  } finally {
    await sink.stop();
  }
  const none = counts.get('none');
  const rows = variants.map((variant) => {
    const count = counts.get(variant.label)!;
    const added = none === undefined ? '' : ` ${Math.round(count - none)} |`;
    const ratio = none === undefined ? '' : ` ${(none / count).toFixed(3)} |`;
    return `| ${variant.label} | ${Math.round(count)} |${added}${ratio}`;
  });
  const header = none === undefined ? '| variant | instructions/request |\n|---|---:|' : '| variant | instructions/request | added | none ÷ variant |\n|---|---:|---:|---:|';
  const table = [`Node ${process.version}, ${flags.route}, ${flags.warmup} requests warm-up, ${flags.requests} counted`, '', header, ...rows].join('\n');
  writeFileSync(flags.out, `${table}\n`);
  console.log(`\n${table}`);
}

await main();
