import { Logger } from '@nestjs/common';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { LOGGER_CONTEXT } from '../otel.constants.js';
import type { ExportOutcome, OtlpTransport } from './export-outcome.js';
import { encodeResource, encodeScope, writeSpanEntry } from './otlp-span-encoder.js';
import { ProtobufWriter, varintSize } from './protobuf-writer.js';

/** What the pipeline did with the spans it was given, since it started. */
export interface ExportStatistics {
  /** Spans the collector accepted. */
  exported: number;
  /** Spans dropped because the queue was full (the collector was away or slow for too long). */
  dropped: number;
  /** Spans given up on: refused for good by the collector, or still unsent when the pipeline shut down. */
  failed: number;
  /** Spans the collector accepted the request of but rejected (OTLP partial success). */
  rejected: number;
  /** Export calls that failed in a retryable way and were tried again. */
  retries: number;
  /** Spans waiting in the queue or in the export under way. */
  queued: number;
}

/** Settings of one pipeline, resolved from the options. */
export interface ExportPipelineSettings {
  /** Spans held at most, queued or being sent; past it the newest are dropped. */
  readonly maxQueueSize: number;
  /** Encoded bytes held at most, likewise. */
  readonly maxQueueBytes: number;
  /** Queued spans that start an export without waiting for the timer. */
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  /** Deadline of one export call. */
  readonly timeoutMillis: number;
  /** First retry delay; it doubles up to `maxBackoffMillis`, with jitter. */
  readonly initialBackoffMillis: number;
  readonly maxBackoffMillis: number;
  /** Interval of the one summary line logged while spans are being lost. */
  readonly reportIntervalMillis: number;
}

/** Spans of one resource and scope, encoded and waiting. */
interface ScopeQueue {
  readonly resourceObject: Resource;
  readonly resource: Buffer;
  readonly scope: Buffer;
  readonly writer: ProtobufWriter;
  count: number;
}

/** An encoded request and the number of spans in it. */
interface Batch {
  readonly body: Buffer;
  readonly count: number;
}

const SAMPLED = 1;
const logger = new Logger(LOGGER_CONTEXT);

/**
 * The library's own export pipeline for OTLP (gRPC and HTTP/protobuf), in place of OpenTelemetry's batch span
 * processor and exporter:
 * - each span is encoded to OTLP protobuf as it ends (one small step per span), so no request pays for
 *   encoding a whole batch, and the queue holds bytes, bounded in spans and in bytes;
 * - exports run one at a time off the request path; a retryable failure (collector away, overloaded or
 *   restarting) sends the same bytes again with capped exponential backoff and jitter, honouring the delay the
 *   collector asks for, while new spans wait up to the bound and the newest are dropped past it;
 * - every span is accounted for ({@link ExportStatistics}), and losses are logged as one line per interval.
 */
export class OtlpExportProcessor implements SpanProcessor {
  private readonly queues: ScopeQueue[] = [];
  /** A tracer hands every span the same scope object: the queue is found by identity, with no key to build. */
  private readonly queueByScope = new WeakMap<object, ScopeQueue>();
  private readonly resources = new WeakMap<Resource, Buffer>();
  private queuedSpans = 0;
  private queuedBytes = 0;
  private inFlight?: Batch;
  private sending = false;
  private backoffMillis: number;
  private exportSoon = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly scheduleTimer: NodeJS.Timeout;
  private readonly reportTimer: NodeJS.Timeout;
  private flushWaiters: (() => void)[] = [];
  private readonly stats: ExportStatistics = { exported: 0, dropped: 0, failed: 0, rejected: 0, retries: 0, queued: 0 };
  private reported = { dropped: 0, failed: 0, rejected: 0 };
  private lastProblem?: string;

  constructor(
    private readonly transport: OtlpTransport,
    private readonly settings: ExportPipelineSettings,
  ) {
    this.backoffMillis = settings.initialBackoffMillis;
    this.scheduleTimer = setInterval(() => this.exportQueued(), Math.max(1, settings.scheduledDelayMillis)).unref();
    this.reportTimer = setInterval(() => this.reportLosses(), settings.reportIntervalMillis).unref();
  }

  /** The counts so far. */
  statistics(): ExportStatistics {
    return { ...this.stats, queued: this.queuedSpans + (this.inFlight?.count ?? 0) };
  }

  /** Spans handed to this pipeline that did not reach the collector (dropped, failed, rejected or still queued). */
  undelivered(): number {
    const { dropped, failed, rejected, queued } = this.statistics();
    return dropped + failed + rejected + queued;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & SAMPLED) !== SAMPLED) return;
    if (this.stopped || this.queuedSpans + (this.inFlight?.count ?? 0) >= this.settings.maxQueueSize || this.queuedBytes >= this.settings.maxQueueBytes) {
      this.stats.dropped++;
      return;
    }
    const queue = this.queueFor(span);
    const before = queue.writer.length;
    writeSpanEntry(queue.writer, span);
    queue.count++;
    this.queuedSpans++;
    this.queuedBytes += queue.writer.length - before;
    if (this.queuedSpans >= this.settings.maxExportBatchSize && !this.exportSoon && !this.sending) {
      // Never in onEnd itself: the request that ended this span must not wait for the export.
      this.exportSoon = true;
      setImmediate(() => {
        this.exportSoon = false;
        this.exportQueued();
      });
    }
  }

  /** Sends everything queued, retrying within whatever time the caller allows; resolves once nothing is left. */
  forceFlush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.flushWaiters.push(resolve));
    // A batch waiting out its backoff is tried now: a flush (at shutdown) has a deadline of its own.
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      void this.send();
    } else {
      this.exportQueued();
    }
    return done;
  }

  /** Stops timers and the transport. Spans still queued then count as failed. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.scheduleTimer);
    clearInterval(this.reportTimer);
    clearTimeout(this.retryTimer);
    this.reportLosses();
    this.transport.close();
  }

  private isIdle(): boolean {
    return this.queuedSpans === 0 && !this.inFlight;
  }

  private queueFor(span: ReadableSpan): ScopeQueue {
    const known = this.queueByScope.get(span.instrumentationScope);
    if (known && known.resourceObject === span.resource) return known;
    let resource = this.resources.get(span.resource);
    if (!resource) {
      resource = encodeResource(span.resource);
      this.resources.set(span.resource, resource);
    }
    const scope = encodeScope(span.instrumentationScope);
    // Another tracer object with the same scope shares its queue, so one scope is sent once.
    let queue = this.queues.find((q) => q.resource.equals(resource) && q.scope.equals(scope));
    if (!queue) {
      queue = { resourceObject: span.resource, resource, scope, writer: new ProtobufWriter(16 * 1024), count: 0 };
      this.queues.push(queue);
    }
    this.queueByScope.set(span.instrumentationScope, queue);
    return queue;
  }

  private exportQueued(): void {
    if (this.sending || this.inFlight || this.stopped) return;
    if (this.queuedSpans === 0) return this.settleFlushes();
    this.inFlight = this.takeBatch();
    void this.send();
  }

  private async send(): Promise<void> {
    const batch = this.inFlight;
    if (!batch || this.sending || this.stopped) return;
    this.sending = true;
    let outcome: ExportOutcome;
    try {
      outcome = await this.transport.send(batch.body, this.settings.timeoutMillis);
    } catch (error) {
      outcome = { kind: 'retryable', reason: error instanceof Error ? error.message : String(error) };
    }
    this.sending = false;
    if (this.stopped) return this.settleFlushes();
    if (outcome.kind === 'retryable') return this.retryLater(outcome.reason, outcome.retryAfterMillis);
    this.inFlight = undefined;
    this.backoffMillis = this.settings.initialBackoffMillis;
    if (outcome.kind === 'fatal') {
      this.stats.failed += batch.count;
      this.lastProblem = `refused for good: ${outcome.reason}`;
    } else {
      this.stats.exported += batch.count - outcome.rejected;
      this.stats.rejected += outcome.rejected;
      if (outcome.rejected > 0) this.lastProblem = `partly rejected by the collector: ${outcome.message ?? 'no reason given'}`;
    }
    // More may have queued up meanwhile; a flush waits for all of it.
    if (this.queuedSpans >= this.settings.maxExportBatchSize || this.flushWaiters.length > 0) this.exportQueued();
    else this.settleFlushes();
  }

  private retryLater(reason: string, askedMillis: number | undefined): void {
    this.stats.retries++;
    this.lastProblem = `retrying: ${reason}`;
    const jittered = this.backoffMillis * (0.5 + Math.random() / 2);
    this.backoffMillis = Math.min(this.settings.maxBackoffMillis, this.backoffMillis * 2);
    const delay = askedMillis ?? jittered;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.send();
    }, delay);
    // Only a flush (at shutdown) keeps the process alive for a retry; otherwise the app decides when it ends.
    if (this.flushWaiters.length === 0) this.retryTimer.unref();
  }

  /** Frames every queued span into one `ExportTraceServiceRequest`, grouped by resource and scope. */
  private takeBatch(): Batch {
    const byResource = new Map<Buffer, ScopeQueue[]>();
    for (const queue of this.queues) {
      if (queue.count === 0) continue;
      const list = byResource.get(queue.resource) ?? [];
      list.push(queue);
      byResource.set(queue.resource, list);
    }
    const frames = [...byResource].map(([resource, queues]) => {
      const scopeSizes = queues.map((q) => messageSize(q.scope.length) + q.writer.length);
      const size = messageSize(resource.length) + scopeSizes.reduce((sum, s) => sum + messageSize(s), 0);
      return { resource, queues, scopeSizes, size };
    });
    const total = frames.reduce((sum, f) => sum + messageSize(f.size), 0);
    const out = new ProtobufWriter(total);
    let count = 0;
    for (const frame of frames) {
      lengthPrefix(out, 1, frame.size);
      lengthPrefix(out, 1, frame.resource.length);
      out.raw(frame.resource);
      frame.queues.forEach((queue, i) => {
        lengthPrefix(out, 2, frame.scopeSizes[i]);
        lengthPrefix(out, 1, queue.scope.length);
        out.raw(queue.scope);
        out.raw(queue.writer.buffer.subarray(0, queue.writer.length));
        count += queue.count;
        queue.writer.reset();
        queue.count = 0;
      });
    }
    this.queuedSpans = 0;
    this.queuedBytes = 0;
    return { body: out.buffer.subarray(0, out.length), count };
  }

  private settleFlushes(): void {
    if (!this.isIdle() && !this.stopped) return;
    for (const resolve of this.flushWaiters.splice(0)) resolve();
  }

  /** One line per interval, only while spans are being lost. */
  private reportLosses(): void {
    const { dropped, failed, rejected } = this.stats;
    const lost = { dropped: dropped - this.reported.dropped, failed: failed - this.reported.failed, rejected: rejected - this.reported.rejected };
    this.reported = { dropped, failed, rejected };
    if (lost.dropped + lost.failed + lost.rejected === 0) return;
    logger.warn(
      `Spans lost exporting to ${this.transport.url} in the last ${Math.round(this.settings.reportIntervalMillis / 1000)} s: ` +
        `${lost.dropped} dropped (queue full), ${lost.failed} failed, ${lost.rejected} rejected by the collector; ` +
        `${this.stats.exported} exported in all. Last problem: ${this.lastProblem ?? 'none'}.`,
    );
  }
}

/** Bytes of a length-delimited field with a one-byte key whose content is `size` bytes long. */
function messageSize(size: number): number {
  return 1 + varintSize(size) + size;
}

function lengthPrefix(writer: ProtobufWriter, field: number, size: number): void {
  writer.tag(field, 2);
  writer.varint(size);
}
