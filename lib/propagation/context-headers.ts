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

/** Whether a request's headers (Node's, lower-cased) hold any of the headers a propagator extracts from. */
export type ContextHeaderTest = (headers: Readonly<Record<string, unknown>>) => boolean;

/**
 * The trigger headers' tests, each reading its header by a name fixed in its code: a loop reading `headers[name]`
 * for each name paid a megamorphic keyed lookup per name on every request (about 140 instructions each).
 */
const HEADER_PRESENT: Readonly<Record<string, ContextHeaderTest>> = {
  traceparent: (headers) => headers.traceparent !== undefined,
  baggage: (headers) => headers.baggage !== undefined,
  b3: (headers) => headers.b3 !== undefined,
  'x-b3-traceid': (headers) => headers['x-b3-traceid'] !== undefined,
};

/** A test of whether request headers hold any of `names` (see {@link contextHeadersOf}), built once. */
export function contextHeaderTest(names: readonly string[]): ContextHeaderTest {
  const tests = names.map((name): ContextHeaderTest => HEADER_PRESENT[name] ?? ((headers) => headers[name] !== undefined));
  if (tests.length === 0) return () => false;
  if (tests.length === 1) return tests[0];
  if (tests.length === 2) {
    const [first, second] = tests;
    return (headers) => first(headers) || second(headers);
  }
  return (headers) => tests.some((test) => test(headers));
}
