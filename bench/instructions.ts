/**
 * `npm run bench:instructions`: what tracing costs a request in CPU instructions, counted by valgrind's callgrind.
 * Instruction counts do not depend on what else the machine is doing, so they compare builds and variants where
 * req/s on a shared VM varies by 15% between runs. They leave out what instructions do not show (cache misses,
 * memory bandwidth), so they complement `npm run bench`, which stays the measure of throughput.
 *
 * Each variant's app runs under `valgrind --tool=callgrind` with counting off; after a warm-up the runner switches
 * counting on for a fixed number of requests (keep-alive, 10 at a time) and reads the total over every thread (the
 * app's own, V8's compiler and GC threads, the export worker), and the app's main thread apart: what V8's helper
 * threads do in a window of a few thousand requests (a tier-up, one major collection) moves the total by thousands.
 * Flags: --variants (none,nestjs-tracing@1,nestjs-tracing@0.1,
 * nestjs-tracing@0), --baseline DIR (as for `npm run bench`), --warmup N requests (20000), --requests N (4000),
 * --route (/tiny), --parallel N (2), --out FILE, --functions N (0: with N, the apps run with `--perf-basic-prof`
 * and the results add the N functions, JavaScript and native, whose instructions differ most between variants, per
 * request). Needs valgrind (`apt-get install valgrind`).
 */
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CODE_KINDS, instructionsByFunction, kindOf, PERF_MAP_FLAG, perfMapOf } from './callgrind-functions.js';
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
    functions: { type: 'string', default: '0' },
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

/** A variant's count: instructions a request, and by function when asked for (instructions a request too). */
interface Count {
  readonly perRequest: number;
  /** Of `perRequest`, those of the app's main thread, the one that runs JavaScript's event loop. */
  readonly mainThread: number;
  readonly byFunction?: Map<string, number>;
}

const functionRows = Number(flags.functions);

async function countInstructions(variant: Variant, sink: SpanSink): Promise<Count> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-callgrind-'));
  // The perf map flag also starts V8's log, written to the working directory unless it is sent elsewhere.
  const nodeArgs = functionRows > 0 ? [PERF_MAP_FLAG, '--no-logfile-per-isolate', `--logfile=${join(dir, 'v8.log')}`, ...variant.nodeArgs] : variant.nodeArgs;
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${join(dir, 'out.%p')}`, process.execPath, ...nodeArgs, variant.app],
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
    // The dump asked for, a file a thread (`out.<pid>.<dump>-<thread>`, the main thread 01), and the ones callgrind
    // writes at exit, which counted nothing (counting was off).
    const dumps = readdirSync(dir)
      .filter((file) => file.startsWith('out.'))
      .map((file) => ({ file: join(dir, file), total: Number(/^totals: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'))?.[1] ?? 0) }));
    const total = dumps.reduce((sum, dump) => sum + dump.total, 0);
    const mainThread = dumps.filter((dump) => dump.file.endsWith('-01')).reduce((sum, dump) => sum + dump.total, 0);
    const count = { perRequest: total / requests, mainThread: mainThread / requests };
    if (functionRows === 0) return count;
    const byFunction = new Map<string, number>();
    for (const { file } of dumps.filter((dump) => dump.total > 0)) {
      for (const [name, count] of instructionsByFunction(file, perfMapOf(child.pid!))) byFunction.set(name, (byFunction.get(name) ?? 0) + count / requests);
    }
    return { ...count, byFunction };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
    if (child.pid !== undefined) rmSync(perfMapOf(child.pid), { force: true });
  }
}

async function main(): Promise<void> {
  const variants = flags.variants.split(',').map((spec) => variantOf(spec, flags.baseline));
  const sink = await SpanSink.start();
  const counts = new Map<string, Count>();
  try {
    const pending = [...variants];
    const runOne = async (): Promise<void> => {
      for (let variant = pending.shift(); variant; variant = pending.shift()) {
        const count = await countInstructions(variant, sink);
        counts.set(variant.label, count);
        console.log(`${variant.label}: ${Math.round(count.perRequest)} instructions/request, ${Math.round(count.mainThread)} on the main thread`);
      }
    };
    await Promise.all(Array.from({ length: Number(flags.parallel) }, runOne));
  } finally {
    await sink.stop();
  }
  const none = counts.get('none');
  const rows = variants.map((variant) => {
    const { perRequest, mainThread } = counts.get(variant.label)!;
    const compared = (value: number, reference: number) => ` ${Math.round(value - reference)} | ${(reference / value).toFixed(3)} |`;
    const total = none === undefined ? '' : compared(perRequest, none.perRequest);
    const main = none === undefined ? '' : compared(mainThread, none.mainThread);
    return `| ${variant.label} | ${Math.round(perRequest)} |${total} ${Math.round(mainThread)} |${main}`;
  });
  const header =
    none === undefined
      ? '| variant | instructions/request | main thread |\n|---|---:|---:|'
      : '| variant | instructions/request | added | none ÷ variant | main thread | added | none ÷ variant |\n|---|---:|---:|---:|---:|---:|---:|';
  const sections = [`Node ${process.version}, ${flags.route}, ${flags.warmup} requests warm-up, ${flags.requests} counted`, '', header, ...rows];
  if (functionRows > 0) sections.push('', ...functionTable(variants.map((variant) => variant.label), counts));
  const text = sections.join('\n');
  writeFileSync(flags.out, `${text}\n`);
  console.log(`\n${text}`);
}

/**
 * The functions whose instructions a request differ most between the variants (from the first variant, or from
 * `none` when it ran), each variant's count a request beside them.
 */
function functionTable(labels: string[], counts: Map<string, Count>): string[] {
  const reference = counts.get(labels.includes('none') ? 'none' : labels[0])!.byFunction!;
  const names = new Set(labels.flatMap((label) => [...counts.get(label)!.byFunction!.keys()]));
  const spread = (name: string) => {
    const values = labels.map((label) => counts.get(label)!.byFunction!.get(name) ?? 0);
    return Math.max(...values.map((value) => Math.abs(value - (reference.get(name) ?? 0))));
  };
  const top = [...names].sort((a, b) => spread(b) - spread(a)).slice(0, functionRows);
  const cell = (label: string, name: string) => Math.round(counts.get(label)!.byFunction!.get(name) ?? 0);
  const byKind = (label: string) => {
    const totals = new Map<string, number>();
    for (const [name, count] of counts.get(label)!.byFunction!) totals.set(kindOf(name), (totals.get(kindOf(name)) ?? 0) + count);
    return totals;
  };
  const kinds = new Map(labels.map((label) => [label, byKind(label)]));
  return [
    'Instructions a request by the kind of code they ran in:',
    '',
    `| code | ${labels.join(' | ')} |`,
    `|---|${labels.map(() => '---:').join('|')}|`,
    ...CODE_KINDS.map((kind) => `| ${kind} | ${labels.map((label) => Math.round(kinds.get(label)!.get(kind) ?? 0)).join(' | ')} |`),
    // What V8 compiles in the counted window moves the totals by thousands between runs; the rest hardly moves.
    `| **all but V8 compilers** | ${labels.map((label) => Math.round(counts.get(label)!.perRequest - (kinds.get(label)!.get('V8 compilers') ?? 0))).join(' | ')} |`,
    '',
    `Instructions a request by function (self), the ${functionRows} that differ most between variants:`,
    '',
    `| function | ${labels.join(' | ')} |`,
    `|---|${labels.map(() => '---:').join('|')}|`,
    ...top.map((name) => `| \`${name.replaceAll('|', '\\|').replaceAll('`', "'")}\` | ${labels.map((label) => cell(label, name)).join(' | ')} |`),
  ];
}

await main();
