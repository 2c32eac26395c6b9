import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpHttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { createEmptyMetadata } from '@opentelemetry/otlp-grpc-exporter-base';
import { TraceTreeExporter } from './trace-tree.exporter.js';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { ResolvedExporter, ResolvedOtelOptions } from '../otel.options.js';

/** Builds the exporter a resolved exporter setting describes. */
export function createExporter(spec: ResolvedExporter): SpanExporter {
  switch (spec.kind) {
    case 'instance':
      return spec.exporter;
    case 'console':
      return new ConsoleSpanExporter();
    case 'tree':
      return new TraceTreeExporter();
    case 'otlp':
      return spec.protocol === 'grpc' ? createGrpcExporter(spec) : createHttpExporter(spec);
  }
}

type OtlpSpec = Extract<ResolvedExporter, { kind: 'otlp' }>;

function createGrpcExporter(spec: OtlpSpec): SpanExporter {
  const metadata = createEmptyMetadata();
  for (const [key, value] of Object.entries(spec.headers)) metadata.set(key, value);
  return new OtlpGrpcTraceExporter({ url: spec.url, metadata, timeoutMillis: spec.timeoutMillis });
}

function createHttpExporter(spec: OtlpSpec): SpanExporter {
  return new OtlpHttpTraceExporter({ url: spec.url, headers: spec.headers, timeoutMillis: spec.timeoutMillis });
}

/**
 * Counts what an exporter was given and what it delivered, so that a shutdown that runs out of time
 * can say how many spans were lost instead of dropping them silently.
 */
export class ExportLedger {
  private ended = 0;
  private readonly delivered = new Map<SpanExporter, number>();

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
    return worst;
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
    const exporter = ledger.track(createExporter(spec));
    if (spec.kind === 'console' || spec.kind === 'tree') return new SimpleSpanProcessor({ exporter });
    return new BatchSpanProcessor({ exporter, ...options.batch });
  });
  const extras = [...leading, ...options.spanProcessors];
  if (exporting.length === 0) return extras;
  return [...extras, ledgerCounter(ledger), ...exporting];
}

const SAMPLED = 1;

function ledgerCounter(ledger: ExportLedger): SpanProcessor {
  return {
    onStart: () => undefined,
    onEnd: (span) => {
      if ((span.spanContext().traceFlags & SAMPLED) === SAMPLED) ledger.recordEnded();
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}
