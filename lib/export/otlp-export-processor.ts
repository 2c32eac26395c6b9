import { Logger } from '@nestjs/common';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { LOGGER_CONTEXT } from '../otel.constants.js';
import type { ExportOutcome, OtlpTransport } from './export-outcome.js';
import { encodeResource, encodeScope, writeSpanEntry } from './otlp-span-encoder.js';
import { ProtobufWriter, varintSize } from './protobuf-writer.js';
import { IGNORES_SPAN_START } from '../sdk/processor-chain.js';

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
  /** Spans queued at most, besides the batches being sent; past it the newest are dropped. */
  readonly maxQueueSize: number;
  /** Encoded bytes queued at most, likewise. */
  readonly maxQueueBytes: number;
  /** Spans in one export; a full batch is sent without waiting for the timer. */
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

/** A resource and scope whose spans are exported together, with its two messages encoded once. */
interface ScopeEntry {
  readonly index: number;
  readonly resourceObject: Resource;
  readonly resource: Buffer;
  readonly scope: Buffer;
}

/** Encoded spans waiting to be sent together: one writer per scope that has spans in it. */
interface PendingBatch {
  readonly writers: (ProtobufWriter | undefined)[];
  count: number;
  bytes: number;
}

/** An encoded request being sent: the number of spans in it, and its own retry state. */
interface Batch {
  /** Holds the body; it goes back to the pool once the batch is settled, never while a retry may send it. */
  readonly writer: ProtobufWriter;
  readonly body: Buffer;
  readonly count: number;
  backoffMillis: number;
  retryTimer?: NodeJS.Timeout;
}

/**
 * Exports under way at once. One at a time cannot keep up when the collector answers slowly (at 40k spans/s a
 * 2048-span batch must be answered within 50 ms); a few overlap the round trips, as the Collector's own exporters
 * do with several consumers of their queue.
 */
const CONCURRENT_EXPORTS = 3;

const SAMPLED = 1;
const logger = new Logger(LOGGER_CONTEXT);

/**
 * The library's own export pipeline for OTLP (gRPC and HTTP/protobuf), in place of OpenTelemetry's batch span
 * processor and exporter:
 * - each span is encoded to OTLP protobuf as it ends (one small step per span), so no request pays for
 *   encoding a whole batch, and the queue holds bytes, bounded in spans and in bytes (plus the few batches
 *   being sent), cut into batches of at most `maxExportBatchSize` spans;
 * - a few exports run at a time off the request path; a retryable failure (collector away, overloaded or
 *   restarting) sends the same bytes again with capped exponential backoff and jitter, honouring the delay the
 *   collector asks for, while new spans wait up to the bound and the newest are dropped past it;
 * - every span is accounted for ({@link ExportStatistics}), and losses are logged as one line per interval.
 */
export class OtlpExportProcessor implements SpanProcessor {
  private readonly scopes: ScopeEntry[] = [];
  /** A tracer hands every span the same scope object: its entry is found by identity, with no key to build. */
  private readonly scopeByObject = new WeakMap<object, ScopeEntry>();
  private readonly resources = new WeakMap<Resource, Buffer>();
  /** The batch spans are added to; full ones wait in `ready`, oldest first. */
  private open: PendingBatch = { writers: [], count: 0, bytes: 0 };
  private readonly ready: PendingBatch[] = [];
  /** Writers of sent batches, reused so that steady traffic allocates no new buffers. */
  private readonly spareWriters: ProtobufWriter[] = [];
  /**
   * Writers of request bodies, reused likewise. A body lives as long as its round trip; a fresh one per export
   * would outlive young-generation collections and reach the old generation as external memory, which only a
   * full collection frees, and V8 starts one whenever enough of it has piled up.
   */
  private readonly spareBodies: ProtobufWriter[] = [];
  private queuedSpans = 0;
  private queuedBytes = 0;
  private readonly inFlight = new Set<Batch>();
  private exportSoon = false;
  private stopped = false;
  private readonly scheduleTimer: NodeJS.Timeout;
  private readonly reportTimer: NodeJS.Timeout;
  private flushWaiters: (() => void)[] = [];
  private readonly stats: ExportStatistics = { exported: 0, dropped: 0, failed: 0, rejected: 0, retries: 0, queued: 0 };
  private reported = { dropped: 0, failed: 0, rejected: 0 };
  private lastProblem?: string;
  /** Spans are encoded when they end; the library's spans do not call `onStart` here. */
  readonly [IGNORES_SPAN_START] = true;

  constructor(
    private readonly transport: OtlpTransport,
    private readonly settings: ExportPipelineSettings,
  ) {
    this.scheduleTimer = setInterval(() => this.exportQueued(true), Math.max(1, settings.scheduledDelayMillis)).unref();
    this.reportTimer = setInterval(() => this.reportLosses(), settings.reportIntervalMillis).unref();
  }

  /** The counts so far. */
  statistics(): ExportStatistics {
    let sending = 0;
    for (const batch of this.inFlight) sending += batch.count;
    return { ...this.stats, queued: this.queuedSpans + sending };
  }

  /** Spans handed to this pipeline that did not reach the collector (dropped, failed, rejected or still queued). */
  undelivered(): number {
    const { dropped, failed, rejected, queued } = this.statistics();
    return dropped + failed + rejected + queued;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & SAMPLED) !== SAMPLED) return;
    if (this.stopped || this.queuedSpans >= this.settings.maxQueueSize || this.queuedBytes >= this.settings.maxQueueBytes) {
      this.stats.dropped++;
      return;
    }
    const scope = this.scopeOf(span);
    const batch = this.open;
    const writer = (batch.writers[scope.index] ??= this.spareWriters.pop() ?? new ProtobufWriter(16 * 1024));
    const before = writer.length;
    try {
      writeSpanEntry(writer, span);
    } catch (error) {
      // A span the encoder cannot take (a value no attribute should hold) is counted, never thrown at span.end().
      writer.length = before;
      this.stats.failed++;
      this.lastProblem = `a span could not be encoded: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    const bytes = writer.length - before;
    batch.count++;
    batch.bytes += bytes;
    this.queuedSpans++;
    this.queuedBytes += bytes;
    if (batch.count < this.settings.maxExportBatchSize) return;
    this.ready.push(batch);
    this.open = { writers: [], count: 0, bytes: 0 };
    if (!this.exportSoon && this.inFlight.size < CONCURRENT_EXPORTS) {
      // Never in onEnd itself: the request that ended this span must not wait for the export.
      this.exportSoon = true;
      setImmediate(() => {
        this.exportSoon = false;
        this.exportQueued(false);
      });
    }
  }

  /** Sends everything queued, retrying within whatever time the caller allows; resolves once nothing is left. */
  forceFlush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.flushWaiters.push(resolve));
    // Batches waiting out their backoff are tried now: a flush (at shutdown) has a deadline of its own.
    for (const batch of this.inFlight) {
      if (!batch.retryTimer) continue;
      clearTimeout(batch.retryTimer);
      batch.retryTimer = undefined;
      void this.send(batch);
    }
    this.exportQueued(true);
    return done;
  }

  /**
   * Sends what is still queued (spans that ended after the last flush, too), then stops. The caller bounds the
   * wait, and calls {@link abort} when it runs out.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    await this.forceFlush();
    this.abort();
  }

  /** Stops at once: timers, retries and the transport. Spans still queued count as undelivered. */
  abort(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.scheduleTimer);
    clearInterval(this.reportTimer);
    for (const batch of this.inFlight) clearTimeout(batch.retryTimer);
    this.reportLosses();
    this.transport.close();
    this.settleFlushes();
  }

  private isIdle(): boolean {
    return this.queuedSpans === 0 && this.inFlight.size === 0;
  }

  private scopeOf(span: ReadableSpan): ScopeEntry {
    const known = this.scopeByObject.get(span.instrumentationScope);
    if (known && known.resourceObject === span.resource) return known;
    let resource = this.resources.get(span.resource);
    if (!resource) {
      resource = encodeResource(span.resource);
      this.resources.set(span.resource, resource);
    }
    const scope = encodeScope(span.instrumentationScope);
    // Another tracer object with the same scope shares its entry, so one scope is sent once.
    let entry = this.scopes.find((e) => e.resource.equals(resource) && e.scope.equals(scope));
    if (!entry) {
      entry = { index: this.scopes.length, resourceObject: span.resource, resource, scope };
      this.scopes.push(entry);
    }
    this.scopeByObject.set(span.instrumentationScope, entry);
    return entry;
  }

  /**
   * Starts exports of queued batches while fewer than {@link CONCURRENT_EXPORTS} are under way. The batch still
   * filling goes too only when `withOpenBatch` (the timer, a flush): sent right behind every full batch, it would
   * double the export calls under load with batches of a few spans each.
   */
  private exportQueued(withOpenBatch: boolean): void {
    while (!this.stopped && this.inFlight.size < CONCURRENT_EXPORTS) {
      const next = this.ready.shift() ?? (withOpenBatch && this.open.count > 0 ? this.closeOpenBatch() : undefined);
      if (!next) break;
      this.queuedSpans -= next.count;
      this.queuedBytes -= next.bytes;
      const batch = this.frame(next);
      this.inFlight.add(batch);
      void this.send(batch);
    }
    this.settleFlushes();
  }

  private closeOpenBatch(): PendingBatch {
    const batch = this.open;
    this.open = { writers: [], count: 0, bytes: 0 };
    return batch;
  }

  private async send(batch: Batch): Promise<void> {
    if (this.stopped) return;
    let outcome: ExportOutcome;
    try {
      outcome = await this.transport.send(batch.body, this.settings.timeoutMillis);
    } catch (error) {
      outcome = { kind: 'retryable', reason: error instanceof Error ? error.message : String(error) };
    }
    if (this.stopped) return this.settleFlushes();
    if (outcome.kind === 'retryable') return this.retryLater(batch, outcome.reason, outcome.retryAfterMillis);
    this.settle(batch);
    if (outcome.kind === 'fatal') {
      this.stats.failed += batch.count;
      this.lastProblem = `refused for good: ${outcome.reason}`;
    } else {
      this.stats.exported += batch.count - outcome.rejected;
      this.stats.rejected += outcome.rejected;
      if (outcome.rejected > 0) this.lastProblem = `partly rejected by the collector: ${outcome.message ?? 'no reason given'}`;
    }
    // Full batches may have queued up meanwhile; a flush waits for everything.
    if (this.ready.length > 0 || this.flushWaiters.length > 0) this.exportQueued(this.flushWaiters.length > 0);
    else this.settleFlushes();
  }

  private settle(batch: Batch): void {
    this.inFlight.delete(batch);
    if (this.spareBodies.length < CONCURRENT_EXPORTS) this.spareBodies.push(batch.writer);
  }

  private retryLater(batch: Batch, reason: string, askedMillis: number | undefined): void {
    this.stats.retries++;
    this.lastProblem = `retrying: ${reason}`;
    const jittered = batch.backoffMillis * (0.5 + Math.random() / 2);
    batch.backoffMillis = Math.min(this.settings.maxBackoffMillis, batch.backoffMillis * 2);
    batch.retryTimer = setTimeout(() => {
      batch.retryTimer = undefined;
      void this.send(batch);
    }, askedMillis ?? jittered);
    // Only a flush (at shutdown) keeps the process alive for a retry; otherwise the app decides when it ends.
    if (this.flushWaiters.length === 0) batch.retryTimer.unref();
  }

  /** Frames a batch into one `ExportTraceServiceRequest`, grouped by resource and scope, and frees its writers. */
  private frame(batch: PendingBatch): Batch {
    const byResource = new Map<Buffer, ScopeEntry[]>();
    for (const entry of this.scopes) {
      if (!batch.writers[entry.index]?.length) continue;
      const list = byResource.get(entry.resource) ?? [];
      list.push(entry);
      byResource.set(entry.resource, list);
    }
    const frames = [...byResource].map(([resource, entries]) => {
      const scopeSizes = entries.map((e) => messageSize(e.scope.length) + batch.writers[e.index]!.length);
      const size = messageSize(resource.length) + scopeSizes.reduce((sum, s) => sum + messageSize(s), 0);
      return { resource, entries, scopeSizes, size };
    });
    const out = this.spareBodies.pop() ?? new ProtobufWriter(frames.reduce((sum, f) => sum + messageSize(f.size), 0));
    out.reset();
    for (const frame of frames) {
      lengthPrefix(out, 1, frame.size);
      lengthPrefix(out, 1, frame.resource.length);
      out.raw(frame.resource);
      frame.entries.forEach((entry, i) => {
        const writer = batch.writers[entry.index]!;
        lengthPrefix(out, 2, frame.scopeSizes[i]);
        lengthPrefix(out, 1, entry.scope.length);
        out.raw(entry.scope);
        out.raw(writer.buffer.subarray(0, writer.length));
      });
    }
    for (const writer of batch.writers) {
      if (!writer) continue;
      writer.reset();
      this.spareWriters.push(writer);
    }
    return { writer: out, body: out.buffer.subarray(0, out.length), count: batch.count, backoffMillis: this.settings.initialBackoffMillis };
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
