import { context as contextApi, INVALID_TRACEID, trace, type Context, type Span, type SpanContext, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { RANDOM_TRACE_ID_FLAG } from './traceparent.js';

/**
 * The random trace-id flag a new span carries (Trace Context Level 2). Trace ids made here are random, so a trace
 * this service starts has it; a trace continued from a parent has it exactly when the parent had it, so that a
 * trace id that arrived without it never gains it.
 */
export function randomTraceIdFlag(parent: SpanContext | undefined): number {
  return parent === undefined ? RANDOM_TRACE_ID_FLAG : parent.traceFlags & RANDOM_TRACE_ID_FLAG;
}

const marked = new WeakSet<Tracer>();

/**
 * Makes an OpenTelemetry SDK tracer give its spans the random trace-id flag. The SDK sets only the sampled flag,
 * so a continued trace would lose the flag at its first local span, and a new trace would never have it. The flag
 * is added to the span context the new span owns, before anyone can read it.
 */
export function markRandomTraceIds(tracer: Tracer): Tracer {
  if (marked.has(tracer)) return tracer;
  marked.add(tracer);
  const startSpan = tracer.startSpan.bind(tracer);
  // startActiveSpan calls this.startSpan, so replacing the instance's method covers both.
  tracer.startSpan = (name: string, options?: SpanOptions, parentContext: Context = contextApi.active()): Span => {
    const span = startSpan(name, options, parentContext);
    const spanContext = span.spanContext();
    // Suppressed tracing: the shared invalid context, which must stay as it is.
    if (spanContext.traceId === INVALID_TRACEID) return span;
    const parent = options?.root ? undefined : trace.getSpanContext(parentContext);
    // The SDK kept the parent's trace id exactly when the parent was valid; ids need no second check.
    const continued = parent !== undefined && parent.traceId === spanContext.traceId;
    spanContext.traceFlags |= randomTraceIdFlag(continued ? parent : undefined);
    return span;
  };
  return tracer;
}
