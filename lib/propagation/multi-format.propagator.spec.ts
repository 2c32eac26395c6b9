import { defaultTextMapGetter, defaultTextMapSetter, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { createPropagator } from './propagators.js';

const W3C_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const B3_TRACE = '80f198ee56343ba864fe8b2a57d3eff7';
const traceparent = `00-${W3C_TRACE}-00f067aa0ba902b7-01`;
const b3multi = { 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' };

function extract(names: Parameters<typeof createPropagator>[0], headers: Record<string, string>) {
  const context = createPropagator(names).extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  return { spanContext: trace.getSpanContext(context), baggage: propagation.getBaggage(context) };
}

describe('the propagator built from OTEL_PROPAGATORS names', () => {
  const migration = ['tracecontext', 'baggage', 'b3multi', 'b3', 'jaeger'] as const;

  it('reads whichever trace format the caller sent', () => {
    expect(extract([...migration], { traceparent }).spanContext?.traceId).toBe(W3C_TRACE);
    expect(extract([...migration], b3multi).spanContext).toMatchObject({ traceId: B3_TRACE, spanId: 'e457b5a2e4d86bd1', traceFlags: 1 });
    expect(extract([...migration], { b3: `${B3_TRACE}-e457b5a2e4d86bd1-1` }).spanContext?.traceId).toBe(B3_TRACE);
    expect(extract([...migration], { 'uber-trace-id': `${B3_TRACE}:e457b5a2e4d86bd1:0:1` }).spanContext?.traceId).toBe(B3_TRACE);
  });

  it('prefers traceparent when formats disagree, whatever the configured order', () => {
    expect(extract([...migration], { traceparent, ...b3multi }).spanContext?.traceId).toBe(W3C_TRACE);
    expect(extract(['b3multi', 'tracecontext'], { traceparent, ...b3multi }).spanContext?.traceId).toBe(W3C_TRACE);
  });

  it('takes the first other format in the configured order when there is no valid traceparent', () => {
    const headers = { traceparent: 'garbage', 'uber-trace-id': `${'1'.repeat(32)}:${'2'.repeat(16)}:0:1`, ...b3multi };
    expect(extract(['tracecontext', 'jaeger', 'b3multi'], headers).spanContext?.traceId).toBe('1'.repeat(32));
    expect(extract(['tracecontext', 'b3multi', 'jaeger'], headers).spanContext?.traceId).toBe(B3_TRACE);
  });

  it('merges baggage from every format, the W3C header winning on a key', () => {
    const { baggage } = extract([...migration], { traceparent, baggage: 'tier=gold,region=eu', 'uberctx-tier': 'silver', 'uberctx-team': 'payments' });
    expect(Object.fromEntries(baggage!.getAllEntries().map(([key, entry]) => [key, entry.value]))).toEqual({ tier: 'gold', region: 'eu', team: 'payments' });
  });

  it('writes every configured format', () => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: W3C_TRACE, spanId: '00f067aa0ba902b7', traceFlags: 3 });
    const carrier: Record<string, string> = {};
    createPropagator([...migration]).inject(parent, carrier, defaultTextMapSetter);
    expect(carrier).toEqual({
      traceparent: `00-${W3C_TRACE}-00f067aa0ba902b7-03`,
      'x-b3-traceid': W3C_TRACE,
      'x-b3-spanid': '00f067aa0ba902b7',
      'x-b3-sampled': '1',
      b3: `${W3C_TRACE}-00f067aa0ba902b7-1`,
      'uber-trace-id': `${W3C_TRACE}:00f067aa0ba902b7:0:1`,
    });
  });

  it('lists the fields of every format once', () => {
    expect(createPropagator([...migration]).fields()).toEqual(
      expect.arrayContaining(['traceparent', 'tracestate', 'baggage', 'b3', 'x-b3-traceid', 'uber-trace-id']),
    );
  });

  it('is one format alone when one is configured, and nothing for none', () => {
    expect(createPropagator(['tracecontext']).fields()).toEqual(['traceparent', 'tracestate']);
    expect(extract(['none'], { traceparent }).spanContext).toBeUndefined();
  });
});
