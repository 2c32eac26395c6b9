import { SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { requireEsModule } from '../es-module-require.js';

/** What the Zipkin exporter needs: where, with which headers, and how long an export may take. */
export interface ZipkinSettings {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly timeoutMillis: number;
}

/** Exports that may wait for an answer at once; later batches fail at once instead of piling up sockets. */
const MAX_UNANSWERED_EXPORTS = 2;

type ZipkinModule = typeof import('@opentelemetry/exporter-zipkin');

/**
 * Zipkin's JSON v2 format through `@opentelemetry/exporter-zipkin`, loaded only when configured, with what that
 * exporter lacks for production:
 * - a deadline: its request has no timeout, so an export the collector never answers is reported failed after
 *   `timeoutMillis` and the batch processor moves on;
 * - a bound: at most two exports wait for an answer, so a hung Zipkin costs two batches, not a socket and a
 *   payload per batch;
 * - the `error` tag on every failed span: the exporter sets it only from a status message, and Zipkin marks a
 *   span failed by that tag alone.
 */
export class ZipkinSpanExporter implements SpanExporter {
  private readonly exporter: SpanExporter;
  private unanswered = 0;

  constructor(private readonly settings: ZipkinSettings) {
    const { ZipkinExporter } = requireEsModule<ZipkinModule>('@opentelemetry/exporter-zipkin');
    this.exporter = new ZipkinExporter({ url: settings.url, headers: settings.headers });
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.unanswered >= MAX_UNANSWERED_EXPORTS) {
      done({ code: ExportResultCode.FAILED, error: new Error(`Zipkin at ${this.settings.url} has not answered ${this.unanswered} exports`) });
      return;
    }
    this.unanswered++;
    let settled = false;
    const finish = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(result);
    };
    const timer = setTimeout(
      () => finish({ code: ExportResultCode.FAILED, error: new Error(`Zipkin at ${this.settings.url} did not answer within ${this.settings.timeoutMillis} ms`) }),
      this.settings.timeoutMillis,
    );
    timer.unref();
    this.exporter.export(spans.map(withErrorTag), (result) => {
      this.unanswered--;
      finish(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }
}

/** A failed span without a status message, seen with its error type as the message (the `error` tag's value). */
function withErrorTag(span: ReadableSpan): ReadableSpan {
  if (span.status.code !== SpanStatusCode.ERROR || span.status.message) return span;
  const message = String(span.attributes['error.type'] ?? 'ERROR');
  return Object.create(span, { status: { value: { code: SpanStatusCode.ERROR, message }, enumerable: true } }) as ReadableSpan;
}
