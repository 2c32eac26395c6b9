/**
 * `npm start`: runs the matching engine and the candidate portal, sends a few requests through the portal, and
 * leaves both running until Ctrl+C. Without OTEL_EXPORTER_OTLP_ENDPOINT each finished trace prints as a tree in
 * this terminal; with it (e.g. http://localhost:4317 and `docker compose up jaeger`), spans go there instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The portal listens on this port, the engine on the next one and its event transport on the one after. */
const BASE_PORT = Number(process.env.SAMPLE_BASE_PORT ?? 3000);
const PORTS = { portal: String(BASE_PORT), engine: String(BASE_PORT + 1), events: String(BASE_PORT + 2) };
const PORTAL = `http://127.0.0.1:${PORTS.portal}`;
const ENGINE = `http://127.0.0.1:${PORTS.engine}`;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

const exporting = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? { OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'otlp' }
  : { OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'tree' };

function start(name: string, script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [here(script)], {
    env: { ...process.env, ...exporting, OTEL_SERVICE_NAME: name, OTEL_BSP_SCHEDULE_DELAY: '1000', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return waitUntilListening(name, child);
}

/** Polls the service's health route: it answers once the app listens. */
async function waitUntilListening(name: string, child: ChildProcess): Promise<ChildProcess> {
  const url = name === 'candidate-portal' ? PORTAL : ENGINE;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    const up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} did not start within 20 s`);
}

async function demo(): Promise<void> {
  const requests = [
    ['a match, traced across both services', `${PORTAL}/candidates/cand-7f3a/matches/job-1042`],
    ['a match whose skills index fails: an error trace', `${PORTAL}/candidates/cand-7f3a/matches/job-broken`],
    ['the health route, not traced', `${PORTAL}/health`],
  ];
  for (const [what, url] of requests) {
    const response = await fetch(url, { headers: { 'x-tenant-id': 'tenant-acme' } });
    console.log(`\n>>> ${what}\n>>> GET ${url} -> ${response.status} ${await response.text()}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  console.log(`Try it yourself: curl -H 'x-tenant-id: tenant-acme' ${PORTAL}/candidates/cand-1/matches/job-7`);
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) console.log('Traces: open http://localhost:16686 and pick the service candidate-portal.');
  console.log('Press Ctrl+C to stop both services (they flush their spans first).');
}

const engine = await start('matching-engine', './matching-engine/main.js', { PORT: PORTS.engine, EVENTS_PORT: PORTS.events });
const portal = await start('candidate-portal', './candidate-portal/main.js', {
  PORT: PORTS.portal,
  MATCHING_ENGINE_URL: ENGINE,
  MATCHING_ENGINE_EVENTS_PORT: PORTS.events,
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const exits = [portal, engine].map((child) => (child.exitCode === null ? once(child, 'exit') : Promise.resolve()));
  portal.kill('SIGTERM');
  engine.kill('SIGTERM');
  await Promise.all(exits);
  process.exit(0);
}
process.once('SIGINT', stop).once('SIGTERM', stop);
for (const child of [portal, engine]) child.once('exit', () => void stop());

await demo();
if (process.env.SAMPLE_EXIT_AFTER_DEMO === '1') await stop();
