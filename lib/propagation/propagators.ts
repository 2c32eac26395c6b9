import type { TextMapPropagator } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { requireEsModule } from '../es-module-require.js';
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
    case 'b3multi':
      return b3Propagator(name);
    case 'jaeger':
      return new JaegerPropagator();
  }
}

/** Loaded only for a B3 configuration: most services never need it, and every service would pay its memory. */
function b3Propagator(name: 'b3' | 'b3multi'): TextMapPropagator {
  const b3 = requireEsModule<typeof import('@opentelemetry/propagator-b3')>('@opentelemetry/propagator-b3');
  const injectEncoding = name === 'b3' ? b3.B3InjectEncoding.SINGLE_HEADER : b3.B3InjectEncoding.MULTI_HEADER;
  return new b3.B3Propagator({ injectEncoding });
}
