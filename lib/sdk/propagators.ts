import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import type { PropagatorName } from '../otel.options.js';
import { JaegerPropagator } from './jaeger.propagator.js';

/** Builds one propagator from the configured names (composite when there are several). */
export function createPropagator(spec: PropagatorName[] | TextMapPropagator): TextMapPropagator {
  if (!Array.isArray(spec)) return spec;
  const propagators = [...new Set(spec)].flatMap(byName);
  if (propagators.length === 1) return propagators[0];
  return new CompositePropagator({ propagators });
}

function byName(name: PropagatorName): TextMapPropagator[] {
  switch (name) {
    case 'tracecontext':
      return [new W3CTraceContextPropagator()];
    case 'baggage':
      return [new W3CBaggagePropagator()];
    case 'b3':
      return [new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER })];
    case 'b3multi':
      return [new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })];
    case 'jaeger':
      return [new JaegerPropagator()];
    case 'none':
      return [];
  }
}
