import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { ResolvedRedaction } from '../otel.options.js';

const URL_ATTRIBUTES = ['url.query', 'url.full', 'http.target', 'http.url'];

/**
 * Masks redacted attributes as each span ends. It runs as the first processor, and processors see an ended span
 * one after the other, so every later processor and every exporter only ever sees the masked values. The rules
 * can be set after the SDK started, so that `forRoot({ redact })` applies even when a preload started tracing.
 */
export class RedactionProcessor implements SpanProcessor {
  /** The rules in force; none by default. */
  rules?: ResolvedRedaction;

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

/** Masks the span's own attributes and those of its events, in place. */
export function redactSpan(span: ReadableSpan, redaction: ResolvedRedaction): void {
  redactAttributes(span.attributes, redaction);
  for (const event of span.events) if (event.attributes) redactAttributes(event.attributes, redaction);
}

function redactAttributes(attributes: Attributes, redaction: ResolvedRedaction): void {
  for (const key of Object.keys(attributes)) {
    if (redaction.matchesKey(key)) {
      if (redaction.replacement === null) delete attributes[key];
      else attributes[key] = redaction.replacement;
    }
  }
  if (redaction.queryParameters.size === 0) return;
  for (const key of URL_ATTRIBUTES) {
    const value = attributes[key];
    if (typeof value === 'string' && value.includes('=')) attributes[key] = maskQuery(value, redaction);
  }
}

/** Replaces the values of the named parameters in a query string or a URL, keeping everything else byte for byte. */
export function maskQuery(text: string, redaction: ResolvedRedaction): string {
  const replacement = redaction.replacement === null ? '' : encodeURIComponent(redaction.replacement);
  return text.replace(/([?&]|^)([^=&#?]+)=([^&#]*)/g, (whole, separator: string, name: string) => {
    return redaction.queryParameters.has(safeDecode(name)) ? `${separator}${name}=${replacement}` : whole;
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
