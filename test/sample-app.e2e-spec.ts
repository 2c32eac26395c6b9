import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort } from './support/ports.js';
import { ROOT, runNode, startChildApp, type ChildApp } from './support/child-app.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const ENGINE = join(ROOT, 'build/sample-app/matching-engine/main.js');
const PORTAL = join(ROOT, 'build/sample-app/candidate-portal/main.js');
const MATCH_ROUTE = 'GET /candidates/:candidateId/matches/:jobId';

/**
 * The two sample services as users run them (built JS, OTEL_* configuration only), exporting over OTLP/gRPC to
 * a real receiver on 127.0.0.1 that decodes the wire format on its own.
 */
describe('the sample app, end to end', () => {
  let receiver: OtlpReceiver;
  let engine: ChildApp;
  let portal: ChildApp;
  let match: { status: number; body: Record<string, unknown> };
  let failure: { status: number; body: Record<string, unknown> };
  let exits: { code: number | null; signal: NodeJS.Signals | null }[];

  const service = (span: ReceivedSpan) => span.resource['service.name'];
  const inTrace = (traceId: unknown) => receiver.spans.filter((s) => s.traceId === traceId);
  const byId = (spanId: string) => receiver.spans.find((s) => s.spanId === spanId);

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    const eventsPort = String(await freePort());
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'otlp' };
    engine = await startChildApp(ENGINE, { ...otel, OTEL_SERVICE_NAME: 'matching-engine', PORT: '0', EVENTS_PORT: eventsPort });
    portal = await startChildApp(PORTAL, {
      ...otel,
      OTEL_SERVICE_NAME: 'candidate-portal',
      PORT: '0',
      MATCHING_ENGINE_URL: engine.url,
      MATCHING_ENGINE_EVENTS_PORT: eventsPort,
    });
    const get = async (path: string) => {
      const response = await fetch(`${portal.url}${path}`, { headers: { 'x-tenant-id': 'tenant-e2e' } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    match = await get('/candidates/cand-1/matches/job-9');
    failure = await get('/candidates/cand-1/matches/job-broken');
    expect((await get('/health')).status).toBe(200);
    // Let the event reach the engine before the shutdown starts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    exits = await Promise.all([portal.stop('SIGTERM'), engine.stop('SIGTERM')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([portal?.stop('SIGKILL'), engine?.stop('SIGKILL')]);
    await receiver?.stop();
  });

  it('answers, and both services exit 0 on SIGTERM', () => {
    expect(match).toMatchObject({ status: 200, body: { candidateId: 'cand-1', jobId: 'job-9', tenant: 'tenant-e2e' } });
    expect(failure.status).toBe(502);
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  });

  it('exports every span before exiting: nothing is waiting in a buffer', () => {
    const counts = (traceId: unknown) => inTrace(traceId).length;
    // Portal: server, handler, HTTP client, event producer. Engine: server, handler, matching.score and its
    // three criteria, event consumer and its handler.
    expect(counts(match.body.traceId)).toBe(4 + 8);
    const failed = receiver.spans.find((s) => s.name === MATCH_ROUTE && s.status.code === 'ERROR');
    // The failed request: no event; the two criteria that were still running end after their parent.
    expect(counts(failed?.traceId)).toBe(3 + 6);
  });

  it('makes one trace across both services, with the right parents across the hop', () => {
    const spans = inTrace(match.body.traceId);
    expect(new Set(spans.map(service))).toEqual(new Set(['candidate-portal', 'matching-engine']));
    const portalServer = spans.find((s) => s.name === MATCH_ROUTE);
    expect(portalServer).toMatchObject({ kind: 'SERVER', parentSpanId: '', attributes: { 'http.route': '/candidates/:candidateId/matches/:jobId' } });

    const engineServer = spans.find((s) => s.name === 'POST /scores');
    const client = byId(engineServer?.parentSpanId ?? '');
    expect([client?.kind, service(client as ReceivedSpan)]).toEqual(['CLIENT', 'candidate-portal']);
    expect(byId(client?.parentSpanId ?? '')?.name).toBe('MatchesController.match');

    const consumer = spans.find((s) => s.kind === 'CONSUMER');
    const producer = byId(consumer?.parentSpanId ?? '');
    expect([consumer?.name, service(consumer as ReceivedSpan), producer?.kind, service(producer as ReceivedSpan)]).toEqual([
      'match.viewed',
      'matching-engine',
      'PRODUCER',
      'candidate-portal',
    ]);
  });

  it('records the custom spans, with opaque ids and the tenant read from baggage downstream', () => {
    const spans = inTrace(match.body.traceId);
    const score = spans.find((s) => s.name === 'matching.score');
    expect(score?.attributes).toMatchObject({ 'candidate.id': 'cand-1', 'job.id': 'job-9', 'tenant.id': 'tenant-e2e', 'match.score': match.body.score });
    const criteria = spans.filter((s) => s.parentSpanId === score?.spanId).map((s) => s.name).sort();
    expect(criteria).toEqual(['score.experience', 'score.location', 'score.skills']);
    expect(spans.find((s) => s.name === 'score.skills')?.events.map((e) => e.name)).toEqual(['skills.index.hit']);
  });

  it('marks the failing route ERROR in both services, and leaves the health route untraced', () => {
    const failed = receiver.spans.find((s) => s.name === MATCH_ROUTE && s.status.code === 'ERROR');
    expect(failed?.attributes['http.response.status_code']).toBe(502);
    const skills = inTrace(failed?.traceId).find((s) => s.name === 'score.skills');
    expect([service(skills as ReceivedSpan), skills?.status]).toEqual(['matching-engine', { code: 'ERROR', message: 'skills index unavailable' }]);
    expect(receiver.spans.filter((s) => String(s.attributes['url.path'] ?? '').startsWith('/health'))).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { image?: string; command?: string[]; ports?: string[]; environment?: Record<string, string>; depends_on?: string[] }>;
  };

  it('starts Jaeger with OTLP/gRPC on 4317 and the UI on 16686', () => {
    const jaeger = compose.services.jaeger;
    expect(jaeger.image).toMatch(/^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    expect(jaeger.ports).toEqual(expect.arrayContaining(['16686:16686', '4317:4317']));
    expect(jaeger.command).toContain('--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317');
  });

  it.each(['candidate-portal', 'matching-engine'])('runs %s from its built entry, configured by OTEL_* variables', (name) => {
    const definition = compose.services[name];
    expect(definition.environment).toMatchObject({ OTEL_SERVICE_NAME: name, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4317', HOST: '0.0.0.0' });
    expect(existsSync(join(ROOT, definition.command?.[1] ?? 'missing'))).toBe(true);
  });

  it('points the portal at the engine by service name', () => {
    const portal = compose.services['candidate-portal'];
    expect(portal.environment).toMatchObject({ MATCHING_ENGINE_URL: 'http://matching-engine:3001', MATCHING_ENGINE_HOST: 'matching-engine' });
    expect(portal.environment?.MATCHING_ENGINE_EVENTS_PORT).toBe(compose.services['matching-engine'].environment?.EVENTS_PORT);
    expect(portal.ports).toEqual(['3000:3000']);
  });
});

describe('npm start (no Docker)', () => {
  it('runs both services, sends the demo requests, prints each trace as a tree and stops cleanly', async () => {
    const base = String(await freePort());
    const { code, output } = await runNode([join(ROOT, 'build/sample-app/start.js')], {
      cwd: ROOT,
      env: { SAMPLE_BASE_PORT: base, SAMPLE_EXIT_AFTER_DEMO: '1', OTEL_EXPORTER_OTLP_ENDPOINT: '', NO_COLOR: '1' },
    });
    expect(code).toBe(0);
    expect(output).toMatch(/trace [0-9a-f]{32} candidate-portal\n {2}GET \/candidates\/:candidateId\/matches\/:jobId +SERVER .* 200/);
    expect(output).toMatch(/trace [0-9a-f]{32} matching-engine\n {2}POST \/scores +SERVER .* 201/);
    expect(output).toMatch(/score\.skills +INTERNAL .* ERROR skills index unavailable/);
    expect(output).toContain('GET http://127.0.0.1:' + base + '/health -> 200');
  }, 60_000);
});
