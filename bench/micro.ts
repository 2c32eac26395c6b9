/**
 * `npm run bench:micro`: nanoseconds per span, on one core, for what the library does per request:
 * - create and end: the OpenTelemetry SDK's tracer against the library's tracer, for a server span with its
 *   request attributes and a handler span, sampled and unsampled, and `TraceService.withSpan`;
 * - encode: one finished span to OTLP protobuf, the library's encoder against OpenTelemetry's serializer;
 * - the privacy rules at span end, and what AsyncLocalStorage and an OpenTelemetry context activation cost alone.
 * Spans go through the SDK's processor chain with no exporter, so only creation is timed in the first part.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, ROOT_CONTEXT, SamplingDecision, SpanKind, trace, type Sampler, type Tracer } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { OtelModule, TraceService } from 'nestjs-tracing';
import { AsyncLocalStorage } from 'node:async_hooks';

type Internals = {
  redaction: typeof import('../dist/sdk/redaction.js');
  options: typeof import('../dist/otel.options.js');
  tracer: typeof import('../dist/sdk/library-tracer.js');
  contexts: typeof import('../dist/sdk/linked-context.js');
  encoder: typeof import('../dist/export/otlp-span-encoder.js');
  writer: typeof import('../dist/export/protobuf-writer.js');
  runtime: typeof import('../dist/sdk/tracing-runtime.js');
};
const dist = (path: string) => import(new URL(`../../dist/${path}`, import.meta.url).href);
const internals: Internals = {
  redaction: await dist('sdk/redaction.js'),
  options: await dist('otel.options.js'),
  tracer: await dist('sdk/library-tracer.js'),
  contexts: await dist('sdk/linked-context.js'),
  encoder: await dist('export/otlp-span-encoder.js'),
  writer: await dist('export/protobuf-writer.js'),
  runtime: await dist('sdk/tracing-runtime.js'),
};

let sampling = true;
const switchable: Sampler = {
  shouldSample: () => ({ decision: sampling ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD }),
  toString: () => 'switchable',
};

/** Keeps the last ended span, for the encoding part. */
const lastEnded: { span?: ReadableSpan } = {};
const keeper: SpanProcessor = {
  onStart: () => undefined,
  onEnd: (span) => void (lastEnded.span = span),
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

@Module({
  imports: [OtelModule.forRoot({ serviceName: 'micro', exporter: 'none', sampler: switchable, instrumentations: [], spanProcessors: [keeper] })],
})
class MicroModule {}

function nsPerOp(work: () => void, iterations = 200_000, repeats = 7): number {
  for (let i = 0; i < Math.min(20_000, iterations); i++) work();
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) work();
    runs.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return runs.sort((a, b) => a - b)[Math.floor(repeats / 2)];
}

const app = await NestFactory.create(MicroModule, { logger: ['error'] });
await app.init();
const traces = app.get(TraceService);
const library = internals.runtime.TracingRuntime.get().tracer;
const sdk = trace.getTracer('nestjs-tracing', '0.1.0');
const { startOwnedSpan, fillOwnedAttributes } = internals.tracer;
const root = internals.contexts.LIBRARY_ROOT_CONTEXT;

const handlerAttributes = { component: '@nestjs/core', 'nestjs.type': 'handler', 'nestjs.controller': 'ItemsController', 'nestjs.callback': 'findOne', 'nestjs.transport': 'http' };
/** The request attributes the server span gets once sampled, written as the library writes them. */
function writeRequestAttributes(target: Record<string, unknown>, port: number, agent: string): number {
  target['url.scheme'] = 'http';
  target['network.protocol.version'] = '1.1';
  target['server.address'] = '127.0.0.1';
  target['server.port'] = port;
  target['user_agent.original'] = agent;
  target['client.address'] = '127.0.0.1';
  return 6;
}

/** A request's two spans, made the way the library makes them, with `tracer`. */
function requestSpans(tracer: Tracer): () => void {
  return () => {
    const server = startOwnedSpan(tracer, 'GET', SpanKind.SERVER, { 'http.request.method': 'GET', 'url.path': '/items/42' }, root);
    if (server.isRecording()) fillOwnedAttributes(server, writeRequestAttributes, 3000, 'autocannon');
    const active = trace.setSpan(root, server);
    if (server.isRecording()) {
      startOwnedSpan(tracer, 'ItemsController.findOne', SpanKind.INTERNAL, { ...handlerAttributes }, active).end();
      server.updateName('GET /items/:id');
      server.setAttribute('http.route', '/items/:id');
      server.setAttribute('http.response.status_code', 200);
    }
    server.end();
  };
}

const rows: [string, number][] = [];
for (const sampled of [true, false]) {
  sampling = sampled;
  const label = sampled ? 'sampled' : 'unsampled';
  rows.push([`SDK tracer: server + handler span, ${label}`, nsPerOp(requestSpans(sdk)) / 2]);
  rows.push([`library tracer: server + handler span, ${label}`, nsPerOp(requestSpans(library)) / 2]);
  rows.push([`TraceService.withSpan (library tracer), ${label}`, nsPerOp(() => traces.withSpan('work', () => 1))]);
}

sampling = true;
requestSpans(library)();
const ended = lastEnded.span!;
const writer = new internals.writer.ProtobufWriter(1 << 20);
rows.push([
  'encode one server span: library encoder',
  nsPerOp(() => {
    if (writer.length > 1 << 19) writer.reset();
    internals.encoder.writeSpanEntry(writer, ended);
  }),
]);
// The serializer encodes whole requests: per span, in a batch of 512 as the batch processor hands it over.
const batchOf512 = Array.from({ length: 512 }, () => ended);
rows.push(['encode one server span: OpenTelemetry serializer (batch of 512)', nsPerOp(() => void ProtobufTraceSerializer.serializeRequest(batchOf512), 200, 7) / 512]);
// Privacy rules at span end, with the default configuration: nothing to redact, then a query string to clean.
const rules = internals.options.resolveOtelOptions({}, {}).redact;
const plain = { ...ended, attributes: { ...ended.attributes }, status: { ...ended.status }, events: [] } as ReadableSpan;
rows.push(['privacy rules, span with nothing to redact', nsPerOp(() => internals.redaction.redactSpan(plain, rules))]);
rows.push([
  'privacy rules, span with a query string (token, email, page)',
  nsPerOp(() => {
    (plain.attributes as Record<string, unknown>)['url.query'] = 'token=abc&email=a%40b.io&page=2';
    internals.redaction.redactSpan(plain, rules);
  }),
]);

// What the context layer costs by itself: one AsyncLocalStorage run, and one OpenTelemetry context activation.
const storage = new AsyncLocalStorage<number>();
rows.push(['AsyncLocalStorage.run()', nsPerOp(() => storage.run(1, () => 1))]);
rows.push(['context.with() (OpenTelemetry, AsyncLocalStorage manager)', nsPerOp(() => context.with(ROOT_CONTEXT, () => 1))]);
await app.close();

const lines = [`Node ${process.version}`, '', '| per span | ns (median of 7 runs) |', '|---|---:|', ...rows.map(([name, ns]) => `| ${name} | ${ns.toFixed(0)} |`)];
console.log(lines.join('\n'));
