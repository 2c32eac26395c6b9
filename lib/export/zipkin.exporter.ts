import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpTransport } from './export-outcome.js';
import { encodeZipkinSpans } from './zipkin-json.js';

/** What the Zipkin exporter needs: where, and how long an export may take. */
export interface ZipkinSettings {
  readonly url: string;
  readonly timeoutMillis: number;
}

/** Exports that may wait for an answer at once; later batches fail at once instead of piling up calls. */
const MAX_UNANSWERED_EXPORTS = 2;

/**
 * Zipkin's JSON v2 format (`POST /api/v2/spans`), written by the library ({@link encodeZipkinSpans}) and sent by
 * the transport it is given: the export worker's by default, so that the HTTP calls stay off the event loop as
 * the OTLP exports do. What a production exporter needs besides:
 * - a deadline: an export the collector never answers is reported failed after `timeoutMillis`, and the batch
 *   processor moves on;
 * - a bound: at most two exports wait for an answer, so a hung Zipkin costs two batches, not a call and a
 *   payload per batch.
 */
export class ZipkinSpanExporter implements SpanExporter {
  private unanswered = 0;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly settings: ZipkinSettings,
    private readonly transport: OtlpTransport,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.unanswered >= MAX_UNANSWERED_EXPORTS) {
      done(this.failed(`${this.unanswered} exports are still unanswered`));
      return;
    }
    let body: Buffer;
    try {
      body = encodeZipkinSpans(spans);
    } catch (error) {
      // An attribute JSON cannot write (none of the OpenTelemetry value types should be one) fails this batch only.
      done(this.failed(`a batch could not be written as JSON: ${(error as Error).message}`));
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
    const timer = setTimeout(() => finish(this.failed(`no answer within ${this.settings.timeoutMillis} ms`)), this.settings.timeoutMillis);
    timer.unref();
    const sent = this.transport.send(body, this.settings.timeoutMillis).then(
      (outcome) => finish(outcome.kind === 'accepted' ? { code: ExportResultCode.SUCCESS } : this.failed(`export failed: ${outcome.reason}`)),
      (error: unknown) => finish(this.failed(`export failed: ${(error as Error).message}`)),
    );
    const tracked = sent.finally(() => {
      this.unanswered--;
      this.sending.delete(tracked);
    });
    this.sending.add(tracked);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.transport.close();
  }

  /** Waits for the exports under way to be answered (or to reach their deadline in the transport). */
  async forceFlush(): Promise<void> {
    await Promise.all(this.sending);
  }

  private failed(what: string): ExportResult {
    return { code: ExportResultCode.FAILED, error: new Error(`Zipkin at ${this.settings.url}: ${what}`) };
  }
}
