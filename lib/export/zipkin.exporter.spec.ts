import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { resolveOtelOptions } from '../otel.options.js';
import { LIBRARY_ROOT_CONTEXT } from '../sdk/linked-context.js';
import { TracingRuntime } from '../sdk/tracing-runtime.js';
import { SpanRecorder } from '../testing/span-recorder.js';
import { ZipkinReceiver, type ZipkinReceiverMode } from '../../test/support/zipkin-receiver.js';
import type { OtlpTransport } from './export-outcome.js';
import { createTransport, type TransportSpec } from './transport-spec.js';
import { WorkerTransport } from './worker-transport.js';
import { ZipkinSpanExporter } from './zipkin.exporter.js';
import { encodeZipkinSpans, toZipkinSpan } from './zipkin-json.js';

const runtime = TracingRuntime.get();

/** Spans made by the library's tracer, as the exporter is handed them. */
function recordSpans(make: () => void): ReadableSpan[] {
  const recorder = SpanRecorder.attach();
  try {
    make();
    return [...recorder.spans] as ReadableSpan[];
  } finally {
    recorder.detach();
  }
}

function exportOnce(exporter: ZipkinSpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe('Zipkin JSON', () => {
  beforeAll(() => {
    runtime.acquire(
      resolveOtelOptions({ serviceName: 'checkout', exporter: 'none', instrumentations: [], resourceAttributes: { 'deployment.environment.name': 'test', region: 'eu' }, warnOnMissingShutdownHooks: false }),
      'forRoot',
    );
  });

  afterAll(async () => {
    await runtime.release(1000);
  });

  it('writes ids, parent, kind, times in microseconds, the service and every attribute as a string tag', () => {
    const [child, server] = recordSpans(() => {
      const parent = runtime.tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, startTime: [1_700_000_000, 123_456_789] }, LIBRARY_ROOT_CONTEXT);
      const active = runtime.tracer.startSpan('load order', { startTime: [1_700_000_000, 200_000_000] }, LIBRARY_ROOT_CONTEXT);
      active.end();
      parent.setAttributes({ 'http.response.status_code': 200, 'cache.hit': false, 'order.items': ['a', 'b'], region: 'us', 'ünïcode.名': 'café ✓' });
      parent.setStatus({ code: SpanStatusCode.OK });
      parent.addEvent('paid', {}, [1_700_000_000, 300_000_400]);
      parent.end([1_700_000_000, 623_456_789]);
    });
    const zipkin = toZipkinSpan(server);
    expect(zipkin).toEqual({
      traceId: server.spanContext().traceId,
      id: server.spanContext().spanId,
      name: 'GET /orders/:id',
      kind: 'SERVER',
      timestamp: 1_700_000_000_123_457,
      duration: 500_000,
      localEndpoint: { serviceName: 'checkout' },
      tags: expect.objectContaining({
        'http.response.status_code': '200',
        'cache.hit': 'false',
        'order.items': 'a,b',
        'ünïcode.名': 'café ✓',
        'service.name': 'checkout',
        'deployment.environment.name': 'test',
        // The span's own attribute wins over the resource's of the same name.
        region: 'us',
        'otel.status_code': 'OK',
      }),
      annotations: [{ timestamp: 1_700_000_000_300_000, value: 'paid' }],
    });
    expect(zipkin.parentId).toBeUndefined();
    expect(zipkin.tags.error).toBeUndefined();
    const internal = toZipkinSpan(child);
    expect(internal.kind).toBeUndefined();
    expect(internal.annotations).toBeUndefined();
    expect(internal.tags['otel.status_code']).toBeUndefined();
  });

  it('gives a child its parent id and a span shorter than a microsecond a duration of 1', () => {
    const spans = recordSpans(() => {
      const parent = runtime.tracer.startSpan('parent', {}, LIBRARY_ROOT_CONTEXT);
      const child = runtime.tracer.startSpan('child', { startTime: [10, 0] }, trace.setSpan(LIBRARY_ROOT_CONTEXT, parent));
      child.end([10, 200]);
      parent.end();
    });
    const [child, parent] = spans.map(toZipkinSpan);
    expect(child).toMatchObject({ parentId: parent.id, traceId: parent.traceId, duration: 1 });
  });

  it.each([
    ['the status message', { code: SpanStatusCode.ERROR, message: 'ledger unavailable' }, { 'error.type': 'LedgerError' }, 'ledger unavailable'],
    ['the error type when there is no message', { code: SpanStatusCode.ERROR }, { 'error.type': 'LedgerError' }, 'LedgerError'],
    ['ERROR when there is neither', { code: SpanStatusCode.ERROR }, {}, 'ERROR'],
  ])('marks a failed span with the error tag: %s', (_case, status, attributes, error) => {
    const [span] = recordSpans(() => {
      const failing = runtime.tracer.startSpan('charge', { attributes }, LIBRARY_ROOT_CONTEXT);
      failing.setStatus(status);
      failing.end();
    });
    expect(toZipkinSpan(span).tags).toMatchObject({ 'otel.status_code': 'ERROR', error });
  });

  it('writes a batch as one JSON array in UTF-8', () => {
    const spans = recordSpans(() => {
      runtime.tracer.startSpan('première', {}, LIBRARY_ROOT_CONTEXT).end();
      runtime.tracer.startSpan('second', {}, LIBRARY_ROOT_CONTEXT).end();
    });
    const body = encodeZipkinSpans(spans);
    expect((JSON.parse(body.toString('utf8')) as { name: string }[]).map((span) => span.name)).toEqual(['première', 'second']);
  });
});

describe('ZipkinSpanExporter', () => {
  const receivers: ZipkinReceiver[] = [];
  const exporters: ZipkinSpanExporter[] = [];
  let spans: ReadableSpan[];

  beforeAll(() => {
    runtime.acquire(resolveOtelOptions({ serviceName: 'orders', exporter: 'none', instrumentations: [], warnOnMissingShutdownHooks: false }), 'forRoot');
    spans = recordSpans(() => {
      const server = runtime.tracer.startSpan('GET /orders', { kind: SpanKind.SERVER }, LIBRARY_ROOT_CONTEXT);
      server.end();
    });
  });

  afterAll(async () => {
    await runtime.release(1000);
  });

  afterEach(async () => {
    for (const exporter of exporters.splice(0)) await exporter.shutdown();
    for (const receiver of receivers.splice(0)) await receiver.stop();
  });

  async function receiver(mode: ZipkinReceiverMode = 'ok'): Promise<ZipkinReceiver> {
    const started = await ZipkinReceiver.start(mode);
    receivers.push(started);
    return started;
  }

  function exporter(url: string, sendFrom: 'worker' | 'event-loop', timeoutMillis = 5000): ZipkinSpanExporter {
    const spec: TransportSpec = { protocol: 'zipkin', url, headers: {}, compression: 'none' };
    const transport: OtlpTransport = sendFrom === 'worker' ? new WorkerTransport(spec) : createTransport(spec);
    const made = new ZipkinSpanExporter({ url, timeoutMillis }, transport);
    exporters.push(made);
    return made;
  }

  it.each(['worker', 'event-loop'] as const)('delivers a batch as JSON, sent from the %s', async (sendFrom) => {
    const zipkin = await receiver();
    const result = await exportOnce(exporter(zipkin.url, sendFrom), spans);
    expect(result).toEqual({ code: ExportResultCode.SUCCESS });
    expect(zipkin.spans).toEqual([expect.objectContaining({ name: 'GET /orders', kind: 'SERVER', id: spans[0].spanContext().spanId, localEndpoint: { serviceName: 'orders' } })]);
  });

  it('reports a refused batch as failed, with what Zipkin answered', async () => {
    const zipkin = await receiver('refuse');
    const result = await exportOnce(exporter(zipkin.url, 'worker'), spans);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toBe(`Zipkin at ${zipkin.url}: export failed: HTTP 400: Cannot decode spans`);
  });

  it('reports exports Zipkin never answers as failed at their deadline', async () => {
    const zipkin = await receiver('hang');
    const hung = exporter(zipkin.url, 'worker', 300);
    const started = Date.now();
    const [first, second] = await Promise.all([exportOnce(hung, spans), exportOnce(hung, spans)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(first.code).toBe(ExportResultCode.FAILED);
    expect(first.error?.message).toBe(`Zipkin at ${zipkin.url}: no answer within 300 ms`);
    expect(second.code).toBe(ExportResultCode.FAILED);
  });

  it('refuses a third export while two wait for an answer', async () => {
    const zipkin = await receiver('hang');
    const hung = exporter(zipkin.url, 'event-loop', 2000);
    void exportOnce(hung, spans);
    void exportOnce(hung, spans);
    const third = await exportOnce(hung, spans);
    expect(third.code).toBe(ExportResultCode.FAILED);
    expect(third.error?.message).toBe(`Zipkin at ${zipkin.url}: 2 exports are still unanswered`);
  });

  it('reports a collector that is down as failed', async () => {
    const result = await exportOnce(exporter('http://127.0.0.1:9/api/v2/spans', 'worker'), spans);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toContain('Zipkin at http://127.0.0.1:9/api/v2/spans: export failed: HTTP request failed');
  });
});
