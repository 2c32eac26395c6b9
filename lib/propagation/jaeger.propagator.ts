import {
  isSpanContextValid,
  propagation,
  trace,
  TraceFlags,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';

const TRACE_HEADER = 'uber-trace-id';
const BAGGAGE_PREFIX = 'uberctx-';
const TRACE_ID = /^[0-9a-f]{1,32}$/;
const SPAN_ID = /^[0-9a-f]{1,16}$/;

/**
 * Jaeger's native `uber-trace-id` / `uberctx-*` headers, for services still on Jaeger clients.
 * OpenTelemetry JS 3.x no longer ships this propagator, so the library carries its own.
 */
export class JaegerPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(context);
    if (spanContext && isSpanContextValid(spanContext) && !isTracingSuppressed(context)) {
      const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16);
      setter.set(carrier, TRACE_HEADER, `${spanContext.traceId}:${spanContext.spanId}:0:${flags}`);
    }
    for (const [key, entry] of propagation.getBaggage(context)?.getAllEntries() ?? []) {
      setter.set(carrier, BAGGAGE_PREFIX + key, encodeURIComponent(entry.value));
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const withBaggage = extractBaggage(context, carrier, getter);
    const header = first(getter.get(carrier, TRACE_HEADER));
    if (header === undefined) return withBaggage;
    const parsed = parseUberTraceId(safeDecode(header));
    return parsed ? trace.setSpanContext(withBaggage, parsed) : withBaggage;
  }

  fields(): string[] {
    return [TRACE_HEADER];
  }
}

function parseUberTraceId(value: string) {
  const parts = value.split(':');
  if (parts.length !== 4) return undefined;
  const [traceId, spanId, , flags] = parts.map((p) => p.toLowerCase());
  if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId)) return undefined;
  const flagBits = Number.parseInt(flags, 16);
  if (Number.isNaN(flagBits)) return undefined;
  const spanContext = {
    traceId: traceId.padStart(32, '0'),
    spanId: spanId.padStart(16, '0'),
    traceFlags: flagBits & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

function extractBaggage(context: Context, carrier: unknown, getter: TextMapGetter): Context {
  const keys = getter.keys(carrier).filter((key) => key.toLowerCase().startsWith(BAGGAGE_PREFIX));
  if (keys.length === 0) return context;
  let baggage = propagation.getBaggage(context) ?? propagation.createBaggage();
  for (const key of keys) {
    const value = first(getter.get(carrier, key));
    if (value !== undefined) baggage = baggage.setEntry(key.slice(BAGGAGE_PREFIX.length), { value: safeDecode(value) });
  }
  return propagation.setBaggage(context, baggage);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
