import { context, trace, type Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { resolveOtelOptions } from '../otel.options.js';
import { SpanRecorder } from '../testing/span-recorder.js';
import { LIBRARY_ROOT_CONTEXT } from './linked-context.js';
import { TracingRuntime } from './tracing-runtime.js';

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
