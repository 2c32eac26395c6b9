import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { TraceContextPropagator } from './trace-context.propagator.js';
import { W3CTraceState } from './trace-state.js';

const TRACE_ID = '12345678901234567890123456789012';
const SPAN_ID = '1234567890123456';
const propagator = new TraceContextPropagator();

function extract(headers: Record<string, string | string[]>): SpanContext | undefined {
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
}

function inject(spanContext: SpanContext, suppressed = false): Record<string, string> {
  const carrier: Record<string, string> = {};
  const context = trace.setSpanContext(suppressed ? suppressTracing(ROOT_CONTEXT) : ROOT_CONTEXT, spanContext);
  propagator.inject(context, carrier, defaultTextMapSetter);
  return carrier;
}

describe('TraceContextPropagator', () => {
  describe('traceparent', () => {
    it.each([
      ['version 00', `00-${TRACE_ID}-${SPAN_ID}-01`, 1],
      ['unsampled', `00-${TRACE_ID}-${SPAN_ID}-00`, 0],
      ['the random flag', `00-${TRACE_ID}-${SPAN_ID}-02`, 2],
      ['sampled and random', `00-${TRACE_ID}-${SPAN_ID}-03`, 3],
      ['unknown flags, cleared', `00-${TRACE_ID}-${SPAN_ID}-ff`, 3],
      ['a later version', `cc-${TRACE_ID}-${SPAN_ID}-01`, 1],
      ['a later version with more fields', `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`, 1],
      ['a later version, only its sampled flag read', `cc-${TRACE_ID}-${SPAN_ID}-03`, 1],
      ['a leading space', ` 00-${TRACE_ID}-${SPAN_ID}-01`, 1],
      ['a leading tab', `\t00-${TRACE_ID}-${SPAN_ID}-01`, 1],
      ['a trailing space', `00-${TRACE_ID}-${SPAN_ID}-01 `, 1],
      ['a trailing tab', `00-${TRACE_ID}-${SPAN_ID}-01\t`, 1],
      ['spaces and tabs on both sides', `\t 00-${TRACE_ID}-${SPAN_ID}-01 \t`, 1],
    ])('reads %s', (_, header, flags) => {
      expect(extract({ traceparent: header })).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: flags, isRemote: true, traceState: undefined });
    });

    it.each([
      ['a trailing dot on version 00', `00-${TRACE_ID}-${SPAN_ID}-01.`],
      ['extra fields on version 00', `00-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`],
      ['a later version followed by something other than a dash', `cc-${TRACE_ID}-${SPAN_ID}-01.what-the-future-will-be-like`],
      ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
      ['an illegal version character', `.0-${TRACE_ID}-${SPAN_ID}-01`],
      ['an illegal second version character', `0.-${TRACE_ID}-${SPAN_ID}-01`],
      ['a capital hex digit in the version', `0A-${TRACE_ID}-${SPAN_ID}-01`],
      ['a three digit version', `000-${TRACE_ID}-${SPAN_ID}-01`],
      ['a four digit version', `0000-${TRACE_ID}-${SPAN_ID}-01`],
      ['a one digit version', `0-${TRACE_ID}-${SPAN_ID}-01`],
      ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
      ['an illegal first trace id character', `00-.${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
      ['an illegal last trace id character', `00-${TRACE_ID.slice(0, 31)}.-${SPAN_ID}-01`],
      ['a capital letter in the trace id', `00-${'A'.repeat(32)}-${SPAN_ID}-01`],
      ['a 33 digit trace id', `00-${TRACE_ID}3-${SPAN_ID}-01`],
      ['a 31 digit trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
      ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
      ['an illegal first parent id character', `00-${TRACE_ID}-.${SPAN_ID.slice(1)}-01`],
      ['an illegal last parent id character', `00-${TRACE_ID}-${SPAN_ID.slice(0, 15)}.-01`],
      ['a 17 digit parent id', `00-${TRACE_ID}-${SPAN_ID}7-01`],
      ['a 15 digit parent id', `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`],
      ['an illegal first flags character', `00-${TRACE_ID}-${SPAN_ID}-.0`],
      ['an illegal second flags character', `00-${TRACE_ID}-${SPAN_ID}-0.`],
      ['three flag digits', `00-${TRACE_ID}-${SPAN_ID}-001`],
      ['one flag digit', `00-${TRACE_ID}-${SPAN_ID}-1`],
      ['an empty header', ''],
      ['a later version shorter than 55 characters', `cc-${TRACE_ID}-${SPAN_ID}-1`],
    ])('refuses %s', (_, header) => {
      expect(extract({ traceparent: header })).toBeUndefined();
    });

    it('refuses two traceparent headers, even when each is valid', () => {
      expect(extract({ traceparent: [`00-${TRACE_ID}-${SPAN_ID}-01`, `00-${TRACE_ID.replace('2', '1')}-${SPAN_ID}-01`] })).toBeUndefined();
      // Node joins repeated headers it does not know with ", ".
      expect(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01, 00-${TRACE_ID}-${SPAN_ID}-01` })).toBeUndefined();
      expect(extract({ traceparent: [`00-${TRACE_ID}-${SPAN_ID}-01`] })?.traceId).toBe(TRACE_ID);
    });

    it('ignores headers with other names', () => {
      expect(extract({ 'trace-parent': `00-${TRACE_ID}-${SPAN_ID}-01` })).toBeUndefined();
      expect(extract({ 'trace.parent': `00-${TRACE_ID}-${SPAN_ID}-01` })).toBeUndefined();
    });

    it('writes version 00 with the sampled and random flags only', () => {
      expect(inject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0xff })).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-03` });
      expect(inject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0 })).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` });
      expect(inject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 2 })).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` });
    });

    it('writes nothing for an invalid span context or when tracing is suppressed', () => {
      expect(inject({ traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: 1 })).toEqual({});
      expect(inject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }, true)).toEqual({});
    });
  });

  describe('tracestate', () => {
    const traceparent = `00-${TRACE_ID}-${SPAN_ID}-00`;
    const state = (headers: Record<string, string | string[]>) => extract({ traceparent, ...headers })?.traceState?.serialize();

    it('is read beside a valid traceparent', () => {
      expect(state({ tracestate: 'foo=1,bar=2' })).toBe('foo=1,bar=2');
    });

    it('is discarded without a valid traceparent', () => {
      expect(extract({ tracestate: 'foo=1' })).toBeUndefined();
      expect(extract({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-00`, tracestate: 'foo=1' })).toBeUndefined();
    });

    it('is discarded alone when invalid: the traceparent is kept', () => {
      const context = extract({ traceparent, tracestate: 'foo=bar=baz' });
      expect(context?.traceId).toBe(TRACE_ID);
      expect(context?.traceState).toBeUndefined();
    });

    it('is read from several headers as one list', () => {
      expect(state({ tracestate: ['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'] })).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    });

    it('is written as it was read, and not at all when empty', () => {
      const context = extract({ traceparent, tracestate: ' foo=1 ,\t, bar=2' })!;
      expect(inject({ ...context, spanId: 'abcdefabcdefabcd' })).toEqual({ traceparent: `00-${TRACE_ID}-abcdefabcdefabcd-00`, tracestate: 'foo=1,bar=2' });
      expect(inject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, traceState: W3CTraceState.empty() })).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    });

    it('has its own entry on the left once this service sets one', () => {
      const context = extract({ traceparent, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' })!;
      const ours = { ...context, traceState: context.traceState!.set('congo', 'ours') };
      expect(inject(ours).tracestate).toBe('congo=ours,rojo=00f067aa0ba902b7');
    });
  });

  it('names the fields it uses', () => {
    expect(propagator.fields()).toEqual(['traceparent', 'tracestate']);
  });
});
