import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolveOtelOptions, type ResolvedOtelOptions } from '../otel.options.js';
import { TracingRuntime } from '../sdk/tracing-runtime.js';
import { SpanRecorder } from '../testing/span-recorder.js';
import { requestTrace, traceRequest } from './http-request-trace.js';
import { nameFastifyRoutes } from './http-server.tracing.js';

type OnRequestHook = Parameters<Parameters<typeof nameFastifyRoutes>[0]['addHook']>[1];

const runtime = TracingRuntime.get();

/** The hook `nameFastifyRoutes` adds, taken from a stand-in for a Fastify instance. */
function fastifyRouteHook(): OnRequestHook {
  let added: OnRequestHook | undefined;
  nameFastifyRoutes({ addHook: (_name, hook) => (added = hook) });
  if (!added) throw new Error('no onRequest hook was added');
  return added;
}

/** A request as Fastify hands it to hooks, counting reads of its `routeOptions` getter (a new object each read). */
function fastifyRequest(raw: IncomingMessage): { request: Parameters<OnRequestHook>[0]; reads: () => number } {
  let reads = 0;
  const request = {
    raw,
    get routeOptions() {
      reads++;
      return { url: '/items/:id' };
    },
  };
  return { request, reads: () => reads };
}

function tracedRequest(options: ResolvedOtelOptions): IncomingMessage {
  const raw = new IncomingMessage(new Socket());
  raw.method = 'GET';
  raw.url = '/items/42';
  traceRequest(raw, new ServerResponse(raw), runtime.tracer, options.interceptor);
  return raw;
}

describe('nameFastifyRoutes', () => {
  let recorder: SpanRecorder;
  let options: ResolvedOtelOptions;

  function start(sampler: number): void {
    options = resolveOtelOptions({ serviceName: 'fastify-routes', exporter: 'none', instrumentations: [], sampler, warnOnMissingShutdownHooks: false });
    runtime.acquire(options, 'forRoot');
    recorder = SpanRecorder.attach();
  }

  afterEach(async () => {
    recorder.detach();
    await runtime.release(1000);
  });

  it('names a sampled request after its route template', () => {
    start(1);
    const raw = tracedRequest(options);
    const { request, reads } = fastifyRequest(raw);
    let done = 0;
    fastifyRouteHook()(request, {}, () => done++);
    expect(done).toBe(1);
    expect(reads()).toBe(1);
    const state = requestTrace(raw)!;
    state.span.end();
    expect(recorder.spans).toHaveLength(1);
    expect(recorder.spans[0] as ReadableSpan).toMatchObject({ name: 'GET /items/:id', attributes: { 'http.route': '/items/:id' } });
  });

  it('leaves an unsampled request without reading the route options', () => {
    start(0);
    const raw = tracedRequest(options);
    const { request, reads } = fastifyRequest(raw);
    let done = 0;
    fastifyRouteHook()(request, {}, () => done++);
    expect(done).toBe(1);
    expect(requestTrace(raw)?.span.isRecording()).toBe(false);
    expect(reads()).toBe(0);
  });

  it('passes on a request nothing traced', () => {
    start(1);
    const { request, reads } = fastifyRequest(new IncomingMessage(new Socket()));
    let done = 0;
    fastifyRouteHook()(request, {}, () => done++);
    expect(done).toBe(1);
    expect(reads()).toBe(0);
  });
});
