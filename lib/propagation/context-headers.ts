import type { TextMapPropagator } from '@opentelemetry/api';
import type { PropagatorName } from '../otel.options.js';

/**
 * The headers each library-built format needs before its extract can find anything: without them it returns the
 * context it was given. `tracestate` is read only beside a valid `traceparent`, and B3's other headers only beside
 * `x-b3-traceid`.
 */
const EXTRACT_TRIGGERS: Record<Exclude<PropagatorName, 'jaeger'>, readonly string[]> = {
  tracecontext: ['traceparent'],
  baggage: ['baggage'],
  b3: ['b3', 'x-b3-traceid'],
  b3multi: ['b3', 'x-b3-traceid'],
  none: [],
};

/**
 * The request headers without which the propagator built from `spec` extracts nothing, so that a request carrying
 * none of them (most traffic at the edge) skips the propagator's work and allocations. Undefined when that can't be
 * known: a propagator of the user's, or Jaeger, whose baggage comes in any header named `uberctx-*`.
 */
export function contextHeadersOf(spec: PropagatorName[] | TextMapPropagator): readonly string[] | undefined {
  if (!Array.isArray(spec)) return undefined;
  const headers = new Set<string>();
  for (const name of spec) {
    if (name === 'jaeger') return undefined;
    for (const header of EXTRACT_TRIGGERS[name]) headers.add(header);
  }
  return [...headers];
}

/** Whether `headers` (Node's lower-cased request headers) hold any of `names`. */
export function carriesAnyHeader(headers: Readonly<Record<string, unknown>>, names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (headers[names[i]] !== undefined) return true;
  return false;
}
