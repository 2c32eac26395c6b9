import type { SpanContext } from '@opentelemetry/api';

/** `trace-flags` bit 0: the caller may have recorded this trace. */
export const SAMPLED_FLAG = 0x01;
/** `trace-flags` bit 1 (Trace Context Level 2): at least the right-most 7 bytes of the trace id are random. */
export const RANDOM_TRACE_ID_FLAG = 0x02;
/** The flags this implementation knows; others are cleared before propagating, as the specification requires. */
export const KNOWN_FLAGS = SAMPLED_FLAG | RANDOM_TRACE_ID_FLAG;

/** The length of a version `00` header, and the least a later version may have. */
const VERSION_00_LENGTH = 55;
const HEX_LOWER = /^[0-9a-f]+$/;
const ALL_ZEROS = /^0+$/;
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/** The value without the optional whitespace (spaces and tabs) HTTP allows around it. */
export function withoutOws(value: string): string {
  return value.replace(OWS_EDGES, '');
}

/** What a valid `traceparent` carries. */
export interface Traceparent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/**
 * Parses a `traceparent` header as the W3C Trace Context processing model says: version `00` exactly as
 * specified, a later version read by its first four fields when they are followed by the end or a dash, `ff`
 * and anything malformed refused. Surrounding spaces and tabs are ignored. Several `traceparent` headers are
 * refused: which of them is right cannot be known.
 */
export function parseTraceparent(header: string | readonly string[] | undefined): Traceparent | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') return header.length === 1 ? parseTraceparent(header[0]) : undefined;
  const value = withoutOws(header);
  if (value.length < VERSION_00_LENGTH) return undefined;
  const version = value.slice(0, 2);
  if (!HEX_LOWER.test(version) || version === 'ff') return undefined;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  if (version === '00' ? value.length !== VERSION_00_LENGTH : value.length > VERSION_00_LENGTH && value[55] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!HEX_LOWER.test(traceId) || ALL_ZEROS.test(traceId)) return undefined;
  if (!HEX_LOWER.test(spanId) || ALL_ZEROS.test(spanId)) return undefined;
  if (!HEX_LOWER.test(flags)) return undefined;
  // Only the sampled bit of a later version is defined for this one to read.
  const known = version === '00' ? KNOWN_FLAGS : SAMPLED_FLAG;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & known };
}

/** The version `00` header for a span context, with only the flags this version defines. */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = spanContext.traceFlags & KNOWN_FLAGS;
  return `00-${spanContext.traceId}-${spanContext.spanId}-0${flags.toString(16)}`;
}
