import { ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { AlwaysOffSampler, ParentBasedSampler, TracerProvider, AlwaysOnSampler } from '@opentelemetry/sdk-trace';
import { markRandomTraceIds, randomTraceIdFlag } from './random-trace-flag.js';

const remote = (traceFlags: number): SpanContext => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags, isRemote: true });

describe('the random trace-id flag', () => {
  it('is set on traces this service starts and follows the parent otherwise', () => {
    expect(randomTraceIdFlag(undefined)).toBe(2);
    expect(randomTraceIdFlag(remote(3))).toBe(2);
    expect(randomTraceIdFlag(remote(2))).toBe(2);
    expect(randomTraceIdFlag(remote(1))).toBe(0);
    expect(randomTraceIdFlag(remote(0))).toBe(0);
  });

  describe('on spans of an OpenTelemetry SDK tracer', () => {
    const sampled = markRandomTraceIds(new TracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }) }).getTracer('test'));
    const unsampled = markRandomTraceIds(new TracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('test'));
    const under = (parent: SpanContext) => trace.setSpanContext(ROOT_CONTEXT, parent);

    it('sets it on a new trace, sampled or not', () => {
      expect(sampled.startSpan('root', {}, ROOT_CONTEXT).spanContext().traceFlags).toBe(3);
      expect(unsampled.startSpan('root', {}, ROOT_CONTEXT).spanContext().traceFlags).toBe(2);
      expect(sampled.startSpan('root', { root: true }, under(remote(1))).spanContext().traceFlags).toBe(3);
    });

    it('keeps it from a parent that has it and never adds it to one that has not', () => {
      expect(sampled.startSpan('child', {}, under(remote(3))).spanContext().traceFlags).toBe(3);
      expect(sampled.startSpan('child', {}, under(remote(1))).spanContext().traceFlags).toBe(1);
      expect(unsampled.startSpan('child', {}, under(remote(2))).spanContext().traceFlags).toBe(2);
      expect(unsampled.startSpan('child', {}, under(remote(0))).spanContext().traceFlags).toBe(0);
    });

    it('passes it from a local span to its children, through startActiveSpan too', () => {
      const parent = sampled.startSpan('parent', {}, ROOT_CONTEXT);
      const child = sampled.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, parent));
      expect(child.spanContext().traceFlags).toBe(3);
      const active = sampled.startActiveSpan('active', {}, trace.setSpan(ROOT_CONTEXT, child), (span) => span.spanContext());
      expect(active).toMatchObject({ traceId: parent.spanContext().traceId, traceFlags: 3 });
    });

    it('leaves the invalid span of suppressed tracing alone', () => {
      expect(trace.isSpanContextValid(sampled.startSpan('quiet', {}, suppressTracing(ROOT_CONTEXT)).spanContext())).toBe(false);
    });

    it('wraps a tracer once', () => {
      expect(markRandomTraceIds(sampled)).toBe(sampled);
      expect(sampled.startSpan('root', {}, ROOT_CONTEXT).spanContext().traceFlags).toBe(3);
    });
  });
});
