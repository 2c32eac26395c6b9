import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** One span in Zipkin's v2 JSON model (`POST /api/v2/spans` takes an array of them). */
export interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
  /** Absent for spans internal to a service: Zipkin has no kind for them. */
  readonly kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  /** Start, in microseconds since the epoch. */
  readonly timestamp: number;
  /** In microseconds, at least 1. */
  readonly duration: number;
  readonly localEndpoint: { readonly serviceName: string };
  readonly tags: Record<string, string>;
  readonly annotations?: readonly { readonly timestamp: number; readonly value: string }[];
}

const ZIPKIN_KINDS: Partial<Record<SpanKind, ZipkinSpan['kind']>> = {
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
};

/** What Zipkin shows for a service that did not name itself, as OpenTelemetry's resource default. */
const UNNAMED_SERVICE = 'unknown_service';

/** The request body of one Zipkin export: the spans as a JSON array, UTF-8. */
export function encodeZipkinSpans(spans: readonly ReadableSpan[]): Buffer {
  return Buffer.from(JSON.stringify(spans.map(toZipkinSpan)), 'utf8');
}

/**
 * One span in Zipkin's model. Attributes and resource attributes become string tags (the span's own win); the
 * status becomes `otel.status_code`; a failed span always gets Zipkin's `error` tag, which is how Zipkin marks a
 * span failed, with the status message, else the span's `error.type`, else `ERROR`. Events become annotations.
 * Links have no place in Zipkin's model and are left out.
 */
export function toZipkinSpan(span: ReadableSpan): ZipkinSpan {
  const context = span.spanContext();
  const kind = ZIPKIN_KINDS[span.kind];
  const start = microseconds(span.startTime);
  return {
    traceId: context.traceId,
    id: context.spanId,
    ...(span.parentSpanContext ? { parentId: span.parentSpanContext.spanId } : {}),
    name: span.name,
    ...(kind ? { kind } : {}),
    timestamp: start,
    duration: Math.max(1, microseconds(span.endTime) - start),
    localEndpoint: { serviceName: serviceNameOf(span) },
    tags: tagsOf(span),
    ...(span.events.length > 0 ? { annotations: span.events.map((event) => ({ timestamp: microseconds(event.time), value: event.name })) } : {}),
  };
}

function serviceNameOf(span: ReadableSpan): string {
  const name = span.resource.attributes['service.name'];
  return typeof name === 'string' && name !== '' ? name : UNNAMED_SERVICE;
}

function tagsOf(span: ReadableSpan): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(span.resource.attributes)) {
    if (value !== undefined) tags[key] = String(value);
  }
  for (const [key, value] of Object.entries(span.attributes)) {
    if (value !== undefined) tags[key] = String(value);
  }
  if (span.droppedAttributesCount > 0) tags['otel.dropped_attributes_count'] = String(span.droppedAttributesCount);
  if (span.droppedEventsCount > 0) tags['otel.dropped_events_count'] = String(span.droppedEventsCount);
  if (span.status.code === SpanStatusCode.OK) tags['otel.status_code'] = 'OK';
  if (span.status.code === SpanStatusCode.ERROR) {
    tags['otel.status_code'] = 'ERROR';
    tags.error = span.status.message || tags['error.type'] || 'ERROR';
  }
  return tags;
}

/** Microseconds since the epoch; Zipkin's times are whole microseconds. */
function microseconds(time: HrTime): number {
  return time[0] * 1_000_000 + Math.round(time[1] / 1000);
}
