import { context, ROOT_CONTEXT, SamplingDecision, SpanKind, SpanStatusCode, trace, TraceFlags, type Sampler, type Span } from '@opentelemetry/api';
import { TraceState as TraceStateImpl } from '@opentelemetry/core';
import { TraceIdRatioBasedSampler, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { RANDOM_TRACE_ID_FLAG } from '../propagation/traceparent.js';
import { resolveOtelOptions } from '../otel.options.js';
import { SpanRecorder } from '../testing/span-recorder.js';
import { LIBRARY_ROOT_CONTEXT } from './linked-context.js';
import { TracingRuntime } from './tracing-runtime.js';
import { UnsampledSpan } from './unsampled-span.js';

const runtime = TracingRuntime.get();

describe('LibraryTracer: an ended span leaves its context', () => {
  let recorder: SpanRecorder;

  beforeEach(() => {
    runtime.acquire(resolveOtelOptions({ serviceName: 'context-release', exporter: 'none', instrumentations: [], warnOnMissingShutdownHooks: false }), 'forRoot');
    recorder = SpanRecorder.attach();
  });

  afterEach(async () => {
    recorder.detach();
    await runtime.release(1000);
  });

  it('is the active span until it ends, then a non-recording span with the same span context', () => {
    const span = runtime.tracer.startSpan('checkout', { attributes: { 'order.id': 'o-1' } }, LIBRARY_ROOT_CONTEXT);
    const active = trace.setSpan(LIBRARY_ROOT_CONTEXT, span);
    expect(trace.getSpan(active)).toBe(span);
    span.end();
    const after = trace.getSpan(active) as Span;
    expect(after).not.toBe(span);
    expect(after.spanContext()).toEqual(span.spanContext());
    expect(after.isRecording()).toBe(false);
    // Writes to it are dropped, as they are on the ended span itself.
    after.setAttribute('late', true);
    expect((recorder.spans[0] as ReadableSpan).attributes).toEqual({ 'order.id': 'o-1' });
  });

  it('leaves processors the span itself, whole', () => {
    const span = runtime.tracer.startSpan('checkout', { attributes: { 'order.id': 'o-2' } }, LIBRARY_ROOT_CONTEXT);
    trace.setSpan(LIBRARY_ROOT_CONTEXT, span);
    span.addEvent('paid');
    span.end();
    expect(recorder.spans).toHaveLength(1);
    expect(recorder.spans[0]).toBe(span);
    expect(recorder.spans[0]).toMatchObject({ name: 'checkout', attributes: { 'order.id': 'o-2' }, events: [{ name: 'paid' }] });
  });

  it('still parents spans started later in that context, with the same ids', () => {
    const parent = runtime.tracer.startSpan('request', {}, LIBRARY_ROOT_CONTEXT);
    const active = trace.setSpan(LIBRARY_ROOT_CONTEXT, parent);
    parent.end();
    const late = context.with(active, () => runtime.tracer.startSpan('background job'));
    late.end();
    const recorded = recorder.spans.find((s) => s.name === 'background job')!;
    expect(recorded.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(recorded.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
  });

  it('leaves only the context it was first made active in; others keep the span', () => {
    const span = runtime.tracer.startSpan('checkout', {}, LIBRARY_ROOT_CONTEXT);
    const first = trace.setSpan(LIBRARY_ROOT_CONTEXT, span);
    const second = trace.setSpan(first, span);
    span.end();
    expect(trace.getSpan(first)).not.toBe(span);
    expect(trace.getSpan(second)).toBe(span);
  });

  it('is not copied along by a spread of the span', () => {
    const span = runtime.tracer.startSpan('checkout', {}, LIBRARY_ROOT_CONTEXT);
    trace.setSpan(LIBRARY_ROOT_CONTEXT, span);
    const copy = { ...span };
    expect(Object.keys(copy)).not.toContain('slot');
    expect(Object.getOwnPropertySymbols(copy)).toHaveLength(0);
    span.end();
  });
});

describe('LibraryTracer: unsampled spans', () => {
  const HEX_TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
  const HEX_SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/;
  let recorder: SpanRecorder;

  function start(sampler: number | Sampler): void {
    runtime.acquire(resolveOtelOptions({ serviceName: 'unsampled', exporter: 'none', instrumentations: [], sampler, warnOnMissingShutdownHooks: false }), 'forRoot');
    recorder = SpanRecorder.attach();
  }

  afterEach(async () => {
    recorder.detach();
    await runtime.release(1000);
  });

  it('records nothing, and gives a new trace valid ids with the random flag once its context is read, the same each time', () => {
    start(0);
    const span = runtime.tracer.startSpan('GET /tiny', { kind: SpanKind.SERVER }, LIBRARY_ROOT_CONTEXT);
    span.setAttribute('http.route', '/tiny').addEvent('late').setStatus({ code: SpanStatusCode.ERROR });
    span.recordException(new Error('ignored'));
    span.end();
    expect(span.isRecording()).toBe(false);
    expect(span).toBeInstanceOf(UnsampledSpan);
    expect(recorder.spans).toHaveLength(0);
    const ids = span.spanContext();
    expect(ids).toEqual({ traceId: expect.stringMatching(HEX_TRACE_ID), spanId: expect.stringMatching(HEX_SPAN_ID), traceFlags: RANDOM_TRACE_ID_FLAG, traceState: undefined });
    expect(trace.isSpanContextValid(ids)).toBe(true);
    expect(span.spanContext()).toBe(ids);
    // A spread, as loggers take span contexts, carries the ids.
    expect({ ...span.spanContext() }).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId });
  });

  it('gives every new trace ids of its own, and its children the trace id and the decision', () => {
    start(0);
    const traceIds = new Set<string>();
    const spanIds = new Set<string>();
    // Enough to refill the id pool several times while spans wait to be read.
    const spans = Array.from({ length: 9000 }, () => runtime.tracer.startSpan('job', {}, LIBRARY_ROOT_CONTEXT));
    for (const span of spans) {
      traceIds.add(span.spanContext().traceId);
      spanIds.add(span.spanContext().spanId);
      expect(span.spanContext().traceId).toMatch(HEX_TRACE_ID);
    }
    expect(traceIds.size).toBe(9000);
    expect(spanIds.size).toBe(9000);
    const parent = spans[0]!;
    const child = runtime.tracer.startSpan('step', {}, trace.setSpan(LIBRARY_ROOT_CONTEXT, parent));
    expect(child.isRecording()).toBe(false);
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(child.spanContext().spanId).not.toBe(parent.spanContext().spanId);
    expect(child.spanContext().traceFlags).toBe(RANDOM_TRACE_ID_FLAG);
  });

  it("decides new traces on the trace id as the SDK's ratio sampler does, sampled or not", () => {
    start(0.3);
    const sdk = new TraceIdRatioBasedSampler(0.3);
    let sampled = 0;
    for (let i = 0; i < 3000; i++) {
      const span = runtime.tracer.startSpan('job', {}, LIBRARY_ROOT_CONTEXT);
      const { traceId, traceFlags } = span.spanContext();
      const expected = sdk.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect({ traceId, recording: span.isRecording(), flags: traceFlags }).toEqual({ traceId, recording: expected, flags: RANDOM_TRACE_ID_FLAG | (expected ? TraceFlags.SAMPLED : 0) });
      if (expected) sampled++;
      span.end();
    }
    expect(recorder.spans).toHaveLength(sampled);
    expect(sampled / 3000).toBeGreaterThan(0.25);
    expect(sampled / 3000).toBeLessThan(0.35);
  });

  it("asks a sampler of the app's with the trace id's hex, and keeps the trace state it returns", () => {
    const asked: string[] = [];
    const traceState = new TraceStateImpl('vendor=kept');
    start({ shouldSample: (_context, traceId) => (asked.push(traceId), { decision: SamplingDecision.NOT_RECORD, traceState }), toString: () => 'AppSampler' });
    const span = runtime.tracer.startSpan('job', {}, LIBRARY_ROOT_CONTEXT);
    expect(span.isRecording()).toBe(false);
    expect(asked).toEqual([span.spanContext().traceId]);
    expect(span.spanContext().traceState?.serialize()).toBe('vendor=kept');
  });

  it('continues an unsampled remote parent: its trace id and trace state, a span id of its own', () => {
    start(1);
    const remote = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.NONE, isRemote: true, traceState: new TraceStateImpl('a=1') };
    const span = runtime.tracer.startSpan('GET /', { kind: SpanKind.SERVER }, trace.setSpanContext(LIBRARY_ROOT_CONTEXT, remote));
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext()).toMatchObject({ traceId: remote.traceId, traceFlags: TraceFlags.NONE, traceState: remote.traceState });
    expect(span.spanContext().spanId).toMatch(HEX_SPAN_ID);
    expect(span.spanContext().spanId).not.toBe(remote.spanId);
  });
});
