import type { TextMapPropagator } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import type { PropagatorName } from '../otel.options.js';
import { JaegerPropagator } from './jaeger.propagator.js';
import { MultiFormatPropagator } from './multi-format.propagator.js';
import { TraceContextPropagator } from './trace-context.propagator.js';

type TraceFormatName = Exclude<PropagatorName, 'baggage' | 'none'>;

/**
 * Builds the propagator the configured names describe. Every format is injected; on extract, W3C `traceparent`
 * is read first, then the other trace formats in the order given ({@link MultiFormatPropagator}).
 */
export function createPropagator(spec: PropagatorName[] | TextMapPropagator): TextMapPropagator {
  if (!Array.isArray(spec)) return spec;
  const names = [...new Set(spec)];
  const traceNames = names.filter((name): name is TraceFormatName => name !== 'baggage' && name !== 'none');
  traceNames.sort((a, b) => Number(b === 'tracecontext') - Number(a === 'tracecontext'));
  const traceFormats = traceNames.map(traceFormat);
  const baggageFormats = names.includes('baggage') ? [new W3CBaggagePropagator()] : [];
  if (traceFormats.length + baggageFormats.length === 1) return [...traceFormats, ...baggageFormats][0];
  return new MultiFormatPropagator(traceFormats, baggageFormats);
}

function traceFormat(name: TraceFormatName): TextMapPropagator {
  switch (name) {
    case 'tracecontext':
      return new TraceContextPropagator();
    case 'b3':
      return new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
    case 'b3multi':
      return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
    case 'jaeger':
      return new JaegerPropagator();
  }
}
