import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { OtlpTypes } from '../../test/support/otlp-receiver.js';
import { startUnitTracing, type UnitTracing } from '../../test/support/tracing.js';
import type { ExportOutcome, OtlpTransport } from './export-outcome.js';
import { OtlpExportProcessor } from './otlp-export-processor.js';
import { LibrarySpanContext } from '../sdk/library-span-context.js';
import { LIBRARY_ROOT_CONTEXT } from '../sdk/linked-context.js';
import { newSpanId } from '../sdk/span-ids.js';
import { TracingRuntime } from '../sdk/tracing-runtime.js';

/** A transport that keeps what it was given and accepts it. */
class CapturingTransport implements OtlpTransport {
  readonly url = 'memory://';
  readonly bodies: Buffer[] = [];
  async send(body: Buffer): Promise<ExportOutcome> {
    this.bodies.push(Buffer.from(body));
    return { kind: 'accepted', rejected: 0 };
  }
  close(): void {}
}

/** A pipeline that only exports when flushed, into `transport`. */
const pipelineInto = (transport: OtlpTransport, maxQueueSize: number) =>
  new OtlpExportProcessor(transport, {
    maxQueueSize,
    maxQueueBytes: 1 << 20,
    maxExportBatchSize: 1000,
    scheduledDelayMillis: 60_000,
    timeoutMillis: 1000,
    initialBackoffMillis: 10,
    maxBackoffMillis: 10,
    reportIntervalMillis: 60_000,
  });

/** Exports `spans` through a pipeline of `maxQueueSize`; returns it, the bodies it sent, and its statistics before the flush. */
async function exportThroughPipeline(spans: ReadableSpan[], maxQueueSize = 1000) {
  const transport = new CapturingTransport();
  const pipeline = pipelineInto(transport, maxQueueSize);
  for (const span of spans) pipeline.onEnd(span);
  const statistics = pipeline.statistics();
  await pipeline.forceFlush();
  await pipeline.shutdown();
  return { pipeline, bodies: transport.bodies, beforeFlush: statistics };
}

const decode = (bytes: Uint8Array) =>
  OtlpTypes.request.toObject(OtlpTypes.request.decode(bytes), { longs: String, bytes: String, enums: String, defaults: true, oneofs: true });

describe('the OTLP span encoder', () => {
  let tracing: UnitTracing;

  beforeAll(() => {
    tracing = startUnitTracing({ serviceName: 'encoder', resourceAttributes: { 'service.namespace': 'hr', 'deployment.ünïcode': 'ja — 日本' } });
  });
  afterAll(() => tracing.stop());

  function makeSpans(): ReadableSpan[] {
    tracing.recorder.reset();
    const tracer = trace.getTracer('encoder-test', '1.2.3');
    const other = trace.getTracer('second-scope');
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: new TraceState('congo=t61rcWkgMzE'),
    });
    const parent = tracer.startSpan('GET /users/:id', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'negative.int': -42,
        'big.int': 2 ** 52 + 3,
        ratio: 0.25,
        flag: true,
        'no.flag': false,
        strings: ['a', 'ünï', ''],
        numbers: [1, 2.5, -3],
        bools: [true, false],
        'text.long': 'x'.repeat(300),
        'text.emoji': 'naïve 🚀 café',
        'empty': '',
      },
      links: [{ context: { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true }, attributes: { reason: 'batch' } }],
    }, remote);
    parent.addEvent('cache.miss', { key: 'user:7', attempts: 2 });
    parent.addEvent('no attributes');
    parent.recordException(new Error('ledger write failed — ünïcode'));
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'ledger write failed' });
    const child = tracer.startSpan('UsersController.findOne', {}, trace.setSpan(remote, parent));
    child.setStatus({ code: SpanStatusCode.OK });
    child.end();
    other.startSpan('other scope', { kind: SpanKind.PRODUCER }).end();
    for (let i = 0; i < 40; i++) tracer.startSpan(`bulk ${i}`, { kind: SpanKind.CLIENT, attributes: { i, name: `n-${i}` } }).end();
    parent.end();
    return [...tracing.recorder.spans];
  }

  it('produces, field by field, what OpenTelemetry\'s own serializer produces', async () => {
    const spans = makeSpans();
    const { pipeline, bodies } = await exportThroughPipeline(spans);
    expect(bodies).toHaveLength(1);

    const ours = decode(bodies[0]);
    const theirs = decode(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    // The same resource, scopes and spans; spans compared per scope in the order they ended.
    expect(ours).toEqual(theirs);
    expect(pipeline.statistics()).toMatchObject({ exported: spans.length, dropped: 0, failed: 0, queued: 0 });
  });

  it('writes recurring attributes from its caches byte for byte as it encodes them the first time', async () => {
    const tracer = trace.getTracer('encoder-test', '1.2.3');
    const makeRequests = () => {
      tracing.recorder.reset();
      for (let i = 0; i < 80; i++) {
        const attributes = {
          'http.request.method': 'GET',
          // More distinct values than a key may keep: cached at first, then written as it comes.
          'url.path': `/items/${i}`,
          'http.route': '/items/:id',
          'http.response.status_code': i % 3 === 0 ? 404 : 200,
          'nestjs.controller': 'ItemsController',
          retried: i % 2 === 0,
        };
        // The same keys in another order make other runs of entries.
        const reordered = Object.fromEntries(Object.entries(attributes).reverse());
        tracer.startSpan('GET /items/:id', { kind: SpanKind.SERVER, attributes: i % 4 === 0 ? reordered : attributes }).end();
      }
      return [...tracing.recorder.spans];
    };
    for (let round = 0; round < 3; round++) {
      const spans = makeRequests();
      const { bodies } = await exportThroughPipeline(spans);
      expect(decode(bodies[0])).toEqual(decode(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array));
    }
  });

  it("writes the library tracer's ids from the id pool, and from their hex once the pool was refilled", async () => {
    tracing.recorder.reset();
    const tracer = TracingRuntime.get().tracer;
    const server = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER }, LIBRARY_ROOT_CONTEXT);
    const handler = tracer.startSpan('OrdersController.list', {}, trace.setSpan(LIBRARY_ROOT_CONTEXT, server));
    handler.end();
    // Long enough for the id pool (64 KiB) to be refilled under the server span: its ids are no longer there to copy.
    const longLived = tracer.startSpan('job', {}, LIBRARY_ROOT_CONTEXT);
    for (let i = 0; i < 20; i++) tracer.startSpan(`short ${i}`, {}, LIBRARY_ROOT_CONTEXT).end();
    for (let i = 0; i < 8200; i++) newSpanId();
    const lateChild = tracer.startSpan('job.step', {}, trace.setSpan(LIBRARY_ROOT_CONTEXT, longLived));
    lateChild.end();
    longLived.end();
    server.end();
    const spans = [...tracing.recorder.spans];
    const contextOf = (span: { spanContext(): unknown }) => span.spanContext() as LibrarySpanContext;
    expect(contextOf(lateChild)).toBeInstanceOf(LibrarySpanContext);
    // Both ways are taken: the late child's span id is still in the pool, the job's trace id (its too) is not.
    expect(contextOf(lateChild).copySpanId(new Uint8Array(8), 0)).toBe(true);
    expect(contextOf(lateChild).copyTraceId(new Uint8Array(16), 0)).toBe(false);
    expect(contextOf(server).copyTraceId(new Uint8Array(16), 0)).toBe(false);
    const { bodies } = await exportThroughPipeline(spans);
    expect(decode(bodies[0])).toEqual(decode(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array));
  });

  it('keeps only sampled spans and drops past the queue bound, counting them', async () => {
    const spans = makeSpans();
    const { pipeline, bodies, beforeFlush } = await exportThroughPipeline(spans, 10);
    expect(beforeFlush).toMatchObject({ queued: 10, dropped: spans.length - 10 });
    expect((decode(bodies[0]) as { resourceSpans: unknown[] }).resourceSpans).toHaveLength(1);
    expect(pipeline.statistics()).toMatchObject({ exported: 10, queued: 0 });
  });
});

describe('the export pipeline with a span it cannot encode', () => {
  it('counts the span as failed instead of throwing at span end, and keeps the others', async () => {
    const transport = new CapturingTransport();
    const pipeline = pipelineInto(transport, 100);
    const good = {
      name: 'ok', kind: SpanKind.INTERNAL, spanContext: () => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED }),
      startTime: [1, 0], endTime: [1, 5], status: { code: SpanStatusCode.UNSET }, attributes: { n: 1 }, links: [], events: [],
      droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
      resource: { attributes: {} }, instrumentationScope: { name: 'scope' },
    } as unknown as ReadableSpan;
    pipeline.onEnd(good);
    const unreadable = { ...good, get attributes(): never { throw new Error('unreadable attributes'); } } as unknown as ReadableSpan;
    expect(() => pipeline.onEnd(unreadable)).not.toThrow();
    pipeline.onEnd(good);
    await pipeline.forceFlush();
    await pipeline.shutdown();
    expect(pipeline.statistics()).toMatchObject({ exported: 2, failed: 1 });
    const request = decode(transport.bodies[0]) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    expect(request.resourceSpans[0].scopeSpans[0].spans).toHaveLength(2);
  });
});
