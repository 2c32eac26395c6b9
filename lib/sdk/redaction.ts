import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { ResolvedRedaction } from '../otel.options.js';
import { keepClientAddress } from '../privacy/client-address.js';
import { IGNORES_SPAN_START } from './processor-chain.js';

/**
 * Masks redacted attributes as each span ends. It runs as the first processor, and processors see an ended span
 * one after the other, so every later processor and every exporter only ever sees the masked values. The rules
 * can be set after the SDK started, so that `forRoot({ redact })` applies even when a preload started tracing.
 * A span that carries nothing to redact costs a few property reads.
 */
export class RedactionProcessor implements SpanProcessor {
  /** The rules in force. */
  rules?: ResolvedRedaction;
  readonly [IGNORES_SPAN_START] = true;

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.rules) redactSpan(span, this.rules);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Masks the span's own attributes, its status message and its events' attributes, in place. */
export function redactSpan(span: ReadableSpan, redaction: ResolvedRedaction): void {
  redactAttributes(span.attributes, redaction);
  const client = span.attributes['client.address'];
  if (typeof client === 'string' && redaction.clientAddress !== 'full') {
    const kept = keepClientAddress(client, redaction.clientAddress);
    if (kept === undefined) delete span.attributes['client.address'];
    else span.attributes['client.address'] = kept;
  }
  const message = span.status.message;
  if (message) {
    const scrubbed = redaction.scrubber.scrub(message);
    if (scrubbed !== message) (span as { status: ReadableSpan['status'] }).status = { ...span.status, message: scrubbed };
  }
  const events = span.events;
  for (let i = 0; i < events.length; i++) if (events[i].attributes) redactAttributes(events[i].attributes!, redaction);
}

function redactAttributes(attributes: Attributes, redaction: ResolvedRedaction): void {
  if (redaction.hasKeyRules || redaction.scrubAllStrings) {
    for (const key of Object.keys(attributes)) {
      if (redaction.hasKeyRules && redaction.matchesKey(key)) {
        if (redaction.replacement === null) delete attributes[key];
        else attributes[key] = redaction.replacement;
        continue;
      }
      const value = attributes[key];
      if (redaction.scrubAllStrings && typeof value === 'string') attributes[key] = redaction.scrubber.scrub(value);
    }
  }
  for (const key of redaction.dropAttributes) delete attributes[key];
  // One pass over the keys the span has, rather than a lookup of each key below in every span: spans of many shapes
  // end here, and a lookup of a key they lack is a megamorphic miss each time.
  for (const key in attributes) {
    const kind = textKind(key);
    if (kind === undefined || !Object.hasOwn(attributes, key)) continue;
    const value = attributes[key];
    if (typeof value !== 'string' || value.length === 0) continue;
    attributes[key] = redaction.scrubber.scrub(kind === 'url' ? maskQuery(value, redaction) : value);
  }
}

/**
 * Whether an attribute holds a URL or a query string (named parameters are masked, then personal data scrubbed),
 * free text where personal data turns up (scrubbed by default), or neither.
 */
function textKind(key: string): 'url' | 'text' | undefined {
  // A switch on the key compares it with each name; keys are internalized strings, so each comparison is cheap.
  switch (key) {
    case 'url.query':
    case 'url.full':
    case 'http.target':
    case 'http.url':
      return 'url';
    case 'db.query.text':
    case 'db.statement':
    case 'messaging.message.body':
    case 'exception.message':
    case 'exception.stacktrace':
      return 'text';
    default:
      return undefined;
  }
}

/**
 * Replaces the values of the named parameters (matched case-insensitively, after URL-decoding the name) in a query
 * string or a URL, keeping everything else byte for byte, the fragment included.
 */
export function maskQuery(text: string, redaction: Pick<ResolvedRedaction, 'queryParameters' | 'replacement'>): string {
  if (redaction.queryParameters.size === 0 || !text.includes('=')) return text;
  const replacement = redaction.replacement === null ? '' : encodeURIComponent(redaction.replacement);
  return text.replace(/([?&;]|^)([^=&;#?]+)=([^&;#]*)/g, (whole, separator: string, name: string) => {
    return redaction.queryParameters.has(safeDecode(name).toLowerCase()) ? `${separator}${name}=${replacement}` : whole;
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
