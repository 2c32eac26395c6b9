import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { createTransport, type TransportSpec } from '../export/transport-spec.js';
import type { OtlpTransport } from '../export/export-outcome.js';
import { WorkerTransport } from '../export/worker-transport.js';
import { OtlpExportProcessor, type ExportStatistics } from '../export/otlp-export-processor.js';
import { TraceTreeExporter } from './trace-tree.exporter.js';
import { ZipkinSpanExporter } from '../export/zipkin.exporter.js';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { ExportSendFrom, ResolvedExporter, ResolvedOtelOptions } from '../otel.options.js';
import { IGNORES_SPAN_START } from './processor-chain.js';

/** Builds the exporter a resolved setting describes; OTLP has a pipeline of its own ({@link createOtlpPipeline}). */
export function createExporter(spec: Exclude<ResolvedExporter, { kind: 'otlp' }>): SpanExporter {
  switch (spec.kind) {
    case 'instance':
      return spec.exporter;
    case 'console':
      return new ConsoleSpanExporter();
    case 'tree':
      return new TraceTreeExporter();
    case 'zipkin':
      return new ZipkinSpanExporter(spec, transportFor({ protocol: 'zipkin', url: spec.url, headers: spec.headers, compression: 'none' }, spec.sendFrom));
  }
}

/** A transport that sends from the export worker or from the event loop, as `sendFrom` says. */
function transportFor(spec: TransportSpec, sendFrom: ExportSendFrom): OtlpTransport {
  return sendFrom === 'worker' ? new WorkerTransport(spec) : createTransport(spec);
}

type OtlpSpec = Extract<ResolvedExporter, { kind: 'otlp' }>;

/** The library's OTLP pipeline (encoding as spans end, retries, bounded queue) for gRPC or HTTP/protobuf. */
export function createOtlpPipeline(spec: OtlpSpec, batch: ResolvedOtelOptions['batch']): OtlpExportProcessor {
  const transport = transportFor({ protocol: spec.protocol, url: spec.url, headers: spec.headers, compression: spec.compression }, spec.sendFrom);
  return new OtlpExportProcessor(transport, {
    maxQueueSize: batch.otlpMaxQueueSize,
    maxQueueBytes: batch.maxQueueBytes,
    maxExportBatchSize: batch.maxExportBatchSize,
    scheduledDelayMillis: batch.scheduledDelayMillis,
    timeoutMillis: spec.timeoutMillis,
    initialBackoffMillis: spec.initialBackoffMillis,
    maxBackoffMillis: spec.maxBackoffMillis,
    reportIntervalMillis: spec.reportIntervalMillis,
  });
}

/**
 * Counts what an exporter was given and what it delivered, so that a shutdown that runs out of time
 * can say how many spans were lost instead of dropping them silently.
 */
export class ExportLedger {
  private ended = 0;
  private readonly delivered = new Map<SpanExporter, number>();
  /** OTLP pipelines, which account for every span themselves. */
  readonly pipelines: OtlpExportProcessor[] = [];

  /** Whether any exporter other than an OTLP pipeline is tracked, so that ended spans must be counted. */
  get tracksExporters(): boolean {
    return this.delivered.size > 0;
  }

  /** Counts one sampled span handed to the exporters' processors. */
  recordEnded(): void {
    this.ended++;
  }

  /** Wraps an exporter so that its successful exports are counted. */
  track(exporter: SpanExporter): SpanExporter {
    this.delivered.set(exporter, 0);
    const count = (n: number) => this.delivered.set(exporter, (this.delivered.get(exporter) ?? 0) + n);
    return {
      export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) count(spans.length);
          done(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  /** Sampled spans that at least one exporter has not delivered. */
  undelivered(): number {
    let worst = 0;
    for (const delivered of this.delivered.values()) worst = Math.max(worst, this.ended - delivered);
    for (const pipeline of this.pipelines) worst = Math.max(worst, pipeline.undelivered());
    return worst;
  }

  /** The OTLP pipelines' counts, added up. */
  statistics(): ExportStatistics {
    const total: ExportStatistics = { exported: 0, dropped: 0, failed: 0, rejected: 0, retries: 0, queued: 0 };
    for (const pipeline of this.pipelines) {
      const counts = pipeline.statistics();
      for (const key of Object.keys(total) as (keyof ExportStatistics)[]) total[key] += counts[key];
    }
    return total;
  }
}

/**
 * The span processors for the resolved options: the `leading` ones (redaction, test recorders), the user's own,
 * then one per exporter.
 * The console and tree exporters get a simple processor so that local output appears as spans end.
 */
export function createSpanProcessors(
  options: ResolvedOtelOptions,
  ledger: ExportLedger,
  leading: readonly SpanProcessor[] = [],
): SpanProcessor[] {
  const exporting = options.exporters.map((spec): SpanProcessor => {
    if (spec.kind === 'otlp') {
      const pipeline = createOtlpPipeline(spec, options.batch);
      ledger.pipelines.push(pipeline);
      return pipeline;
    }
    const exporter = ledger.track(createExporter(spec));
    if (spec.kind === 'console' || spec.kind === 'tree') return new SimpleSpanProcessor({ exporter });
    return new BatchSpanProcessor({ exporter, ...options.batch });
  });
  const extras = [...leading, ...options.spanProcessors];
  // The OTLP pipelines count for themselves; the counter is for the other exporters only.
  if (!ledger.tracksExporters) return [...extras, ...exporting];
  return [...extras, ledgerCounter(ledger), ...exporting];
}

const SAMPLED = 1;

function ledgerCounter(ledger: ExportLedger): SpanProcessor & { [IGNORES_SPAN_START]: true } {
  return {
    [IGNORES_SPAN_START]: true,
    onStart: () => undefined,
    onEnd: (span) => {
      if ((span.spanContext().traceFlags & SAMPLED) === SAMPLED) ledger.recordEnded();
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}
