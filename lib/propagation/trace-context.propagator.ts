import { isSpanContextValid, trace, type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { formatTraceparent, parseTraceparent } from './traceparent.js';
import { W3CTraceState } from './trace-state.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/**
 * W3C Trace Context (Level 1, and Level 2's random trace-id flag), the `tracecontext` propagator.
 *
 * - `traceparent` is read as the processing model says, and written in version `00` with the sampled and random
 *   flags only.
 * - `tracestate` is read only beside a valid `traceparent`, from all its headers as one list, and kept whole or
 *   not at all: one invalid member, or more than 32, discards it. Repeated keys keep their left-most member.
 */
export class TraceContextPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(context);
    if (!spanContext || isTracingSuppressed(context) || !isSpanContextValid(spanContext)) return;
    setter.set(carrier, TRACEPARENT, formatTraceparent(spanContext));
    const state = spanContext.traceState?.serialize();
    if (state) setter.set(carrier, TRACESTATE, state);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const parent = parseTraceparent(getter.get(carrier, TRACEPARENT));
    if (!parent) return context;
    const traceState = W3CTraceState.parse(getter.get(carrier, TRACESTATE));
    return trace.setSpanContext(context, { ...parent, isRemote: true, traceState });
  }

  fields(): string[] {
    return [TRACEPARENT, TRACESTATE];
  }
}
