import { Injectable } from '@nestjs/common';
import {
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { TracingRuntime } from './sdk/tracing-runtime.js';
import { recordFailure, runInSpan } from './span-runner.js';
import { exportStatistics } from './export/export-statistics.js';
import type { ExportStatistics } from './export/otlp-export-processor.js';
import { formatTraceparent } from './propagation/traceparent.js';
import { activeContext } from './sdk/context-manager.js';

/** A carrier for manual propagation: message headers, job metadata, any string map. */
export type PropagationCarrier = Record<string, string | string[] | undefined>;


/**
 * Custom spans, attributes, events, baggage and manual propagation, for application code. Everything is a safe
 * no-op when no span is active or tracing is disabled, so code using it needs no guards.
 */
@Injectable()
export class TraceService {
  private readonly runtime = TracingRuntime.get();

  /** The tracer of the running SDK (the API's no-op tracer when none runs), for the raw OpenTelemetry API. */
  get tracer(): Tracer {
    return this.runtime.tracer;
  }

  /**
   * Runs `work` in a new active span, child of the active one, and returns its result. The span ends exactly
   * once: at return, when a returned promise settles, or when a returned Observable completes, errors or is
   * unsubscribed. A failure is recorded on the span (exception event, ERROR status) and re-thrown unchanged.
   *
   * @example
   * const score = await this.traces.withSpan('score.skills', { attributes: { 'job.id': jobId } }, () => this.scoreSkills(jobId));
   */
  withSpan<T>(name: string, work: (span: Span) => T): T;
  withSpan<T>(name: string, options: SpanOptions, work: (span: Span) => T): T;
  withSpan<T>(name: string, optionsOrWork: SpanOptions | ((span: Span) => T), maybeWork?: (span: Span) => T): T {
    const work = typeof optionsOrWork === 'function' ? optionsOrWork : maybeWork;
    if (typeof work !== 'function') throw new TypeError(`TraceService.withSpan('${name}') needs a function to run`);
    const options = typeof optionsOrWork === 'function' ? undefined : optionsOrWork;
    const parent = activeContext();
    return runInSpan(this.tracer.startSpan(name, options, parent), parent, work);
  }

  /**
   * The active span, if any. Where the library's span active here has ended already (in work that outlives its
   * request), a non-recording span with the same ids: it still parents new spans, and records nothing.
   */
  currentSpan(): Span | undefined {
    return trace.getActiveSpan();
  }

  /** Trace id of the active span, for logs and error responses. */
  traceId(): string | undefined {
    return this.activeIds()?.traceId;
  }

  /** Span id of the active span. */
  spanId(): string | undefined {
    return this.activeIds()?.spanId;
  }

  /** The W3C `traceparent` of the active span (`00-<trace id>-<span id>-<flags>`, as the propagator sends it), e.g. for a response header. */
  traceparent(): string | undefined {
    const ids = this.activeIds();
    return ids ? formatTraceparent(ids) : undefined;
  }

  /** Sets attributes on the active span. */
  setAttributes(attributes: Attributes): void {
    trace.getActiveSpan()?.setAttributes(attributes);
  }

  /** Adds a timestamped event to the active span. */
  addEvent(name: string, attributes?: Attributes): void {
    trace.getActiveSpan()?.addEvent(name, attributes);
  }

  /**
   * Records an exception on the active span (event and `error.type`), and marks the span ERROR with the message
   * when it is a server-side failure: not for a 4xx `HttpException` or another error that is the caller's.
   */
  recordException(error: unknown): void {
    const span = trace.getActiveSpan();
    if (span) recordFailure(span, error);
  }

  /** What the OTLP exporters did with the spans so far (exported, dropped, failed, rejected, retried, queued). */
  exportStatistics(): ExportStatistics {
    return exportStatistics();
  }

  /** One baggage entry of the active context (propagated from upstream or added with {@link withBaggage}). */
  getBaggage(key: string): string | undefined {
    return propagation.getActiveBaggage()?.getEntry(key)?.value;
  }

  /** Every baggage entry of the active context. */
  getAllBaggage(): Record<string, string> {
    const entries = propagation.getActiveBaggage()?.getAllEntries() ?? [];
    return Object.fromEntries(entries.map(([key, entry]) => [key, entry.value]));
  }

  /**
   * Runs `work` with baggage entries added to the active context, so that they reach downstream services through
   * the configured propagator (the `baggage` header by default). Baggage is sent as is: keep secrets out of it.
   */
  withBaggage<T>(entries: Record<string, string>, work: () => T): T {
    const active = context.active();
    let baggage = propagation.getBaggage(active) ?? propagation.createBaggage();
    for (const [key, value] of Object.entries(entries)) baggage = baggage.setEntry(key, { value: String(value) });
    return context.with(propagation.setBaggage(active, baggage), work);
  }

  /**
   * Writes the active context (trace context and baggage) into `carrier` through the configured propagators, for
   * transports nothing instruments: queue messages, job payloads, custom protocols. Returns the carrier.
   */
  inject(): Record<string, string>;
  inject<C extends PropagationCarrier>(carrier: C): C;
  inject(carrier: PropagationCarrier = {}): PropagationCarrier {
    propagation.inject(context.active(), carrier);
    return carrier;
  }

  /** Reads a context from `carrier` (see {@link inject}); a carrier with no or malformed headers gives the active one. */
  extract(carrier: PropagationCarrier): Context {
    return propagation.extract(context.active(), carrier);
  }

  /** Runs `work` in the context read from `carrier`, so that spans it starts continue the producer's trace. */
  withExtractedContext<T>(carrier: PropagationCarrier, work: () => T): T {
    return context.with(this.extract(carrier), work);
  }

  private activeIds() {
    const span = trace.getActiveSpan();
    const ids = span?.spanContext();
    return ids && trace.isSpanContextValid(ids) ? ids : undefined;
  }
}
