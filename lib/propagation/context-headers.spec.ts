import { defaultTextMapGetter, ROOT_CONTEXT, trace, type TextMapPropagator } from '@opentelemetry/api';
import { contextHeadersOf, contextHeaderTest } from './context-headers.js';
import { createPropagator } from './propagators.js';
import type { PropagatorName } from '../otel.options.js';

/** The test built for `names`, asked about `headers`. */
function carriesAnyHeader(headers: Record<string, unknown>, names: readonly string[]): boolean {
  return contextHeaderTest(names)(headers);
}

describe('the headers a propagator extracts from', () => {
  it('names the headers of each library-built format, once each', () => {
    expect(contextHeadersOf(['tracecontext', 'baggage'])).toEqual(['traceparent', 'baggage']);
    expect(contextHeadersOf(['b3', 'b3multi', 'tracecontext'])).toEqual(['b3', 'x-b3-traceid', 'traceparent']);
    expect(contextHeadersOf(['none'])).toEqual([]);
  });

  it('is unknown for Jaeger, whose baggage may come in any uberctx-* header, and for a propagator of the user', () => {
    expect(contextHeadersOf(['tracecontext', 'jaeger'])).toBeUndefined();
    const own: TextMapPropagator = { inject: () => undefined, extract: (context) => context, fields: () => ['x-own'] };
    expect(contextHeadersOf(own)).toBeUndefined();
  });

  it('finds a header only when present, for any number of names, known or not', () => {
    expect(carriesAnyHeader({ host: 'a', baggage: 'k=v' }, ['traceparent', 'baggage'])).toBe(true);
    expect(carriesAnyHeader({ host: 'a', traceparent: 'x' }, ['traceparent', 'baggage'])).toBe(true);
    expect(carriesAnyHeader({ host: 'a' }, ['traceparent', 'baggage'])).toBe(false);
    expect(carriesAnyHeader({ traceparent: '' }, ['traceparent'])).toBe(true);
    expect(carriesAnyHeader({ traceparent: 'x' }, [])).toBe(false);
    const three = ['b3', 'x-b3-traceid', 'traceparent'];
    expect(carriesAnyHeader({ host: 'a' }, three)).toBe(false);
    for (const name of three) expect(carriesAnyHeader({ host: 'a', [name]: 'x' }, three)).toBe(true);
    expect(carriesAnyHeader({ 'x-own': 'x' }, ['x-own'])).toBe(true);
    expect(carriesAnyHeader({ host: 'a' }, ['x-own', 'traceparent'])).toBe(false);
  });

  // The fast path is only right if, without these headers, each format's extract finds nothing.
  it.each<PropagatorName[]>([['tracecontext', 'baggage'], ['b3'], ['b3multi'], ['tracecontext', 'b3', 'baggage']])(
    'matches what %p extracts from requests without those headers',
    (...names) => {
      const propagator = createPropagator(names);
      const headers = contextHeadersOf(names)!;
      const unrelated = {
        host: 'shop.example',
        'x-b3-spanid': 'b7ad6b7169203331',
        'x-b3-sampled': '1',
        'x-b3-flags': '1',
        tracestate: 'congo=t61rcWkgMzE',
        'uberctx-user': 'x',
      };
      expect(carriesAnyHeader(unrelated, headers)).toBe(false);
      expect(propagator.extract(ROOT_CONTEXT, unrelated, defaultTextMapGetter)).toBe(ROOT_CONTEXT);
      const carried = { ...unrelated, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', b3: '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1', 'x-b3-traceid': '0af7651916cd43dd8448eb211c80319c' };
      expect(carriesAnyHeader(carried, headers)).toBe(true);
      expect(trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carried, defaultTextMapGetter))?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    },
  );
});
