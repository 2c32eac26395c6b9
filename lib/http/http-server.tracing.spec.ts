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

/**
 * Runs the hook `nameFastifyRoutes` adds (taken from a stand-in for a Fastify instance) on `raw`, as Fastify hands
 * it a request, and counts its `done` calls and the reads of the request's `routeOptions` getter, which builds a
 * new object on each read.
 */
function runRouteHook(raw: IncomingMessage): { done: number; reads: number } {
  let hook: OnRequestHook | undefined;
  nameFastifyRoutes({ addHook: (_name, added) => (hook = added) });
  if (!hook) throw new Error('no onRequest hook was added');
  const counts = { done: 0, reads: 0 };
  const request = {
    raw,
    get routeOptions() {
      counts.reads++;
      return { url: '/items/:id' };
    },
  };
  hook(request, {}, () => counts.done++);
  return counts;
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
    expect(runRouteHook(raw)).toEqual({ done: 1, reads: 1 });
    const state = requestTrace(raw)!;
    state.span.end();
    expect(recorder.spans).toHaveLength(1);
    expect(recorder.spans[0] as ReadableSpan).toMatchObject({ name: 'GET /items/:id', attributes: { 'http.route': '/items/:id' } });
  });

  it('leaves an unsampled request without reading the route options', () => {
    start(0);
    const raw = tracedRequest(options);
    expect(runRouteHook(raw)).toEqual({ done: 1, reads: 0 });
    expect(requestTrace(raw)?.span.isRecording()).toBe(false);
  });

  it('passes on a request nothing traced', () => {
    start(1);
    expect(runRouteHook(new IncomingMessage(new Socket()))).toEqual({ done: 1, reads: 0 });
  });
});
