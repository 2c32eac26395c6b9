import { propagation, trace, type Tracer } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  defaultResource,
  detectResources,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources';
import { TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { TRACER_NAME, TRACER_VERSION } from '../otel.constants.js';
import type { ResolvedOtelOptions, ResourceDetectorName } from '../otel.options.js';
import type { ExportStatistics } from '../export/otlp-export-processor.js';
import { createSpanProcessors, ExportLedger } from './exporters.js';
import type { OutgoingBaggageFilter } from '../privacy/baggage-filter.js';
import { registerContextManager, unregisterContextManager } from './context-manager.js';
import { LibraryTracer } from './library-tracer.js';
import { contextHeadersOf, contextHeaderTest, type ContextHeaderTest } from '../propagation/context-headers.js';
import { createPropagator } from '../propagation/propagators.js';
import { createSampler } from './samplers.js';
import { markRandomTraceIds } from '../propagation/random-trace-flag.js';

/** What a bounded shutdown achieved. */
export interface ShutdownReport {
  /** True when every processor flushed within the time allowed. */
  readonly flushed: boolean;
  /** Sampled spans that did not reach an exporter's backend. */
  readonly lost: number;
  /** What the OTLP pipelines did, for the reason behind `lost`. */
  readonly statistics: ExportStatistics;
}

const DETECTORS: Record<Exclude<ResourceDetectorName, 'none'>, ResourceDetector> = {
  host: hostDetector,
  process: processDetector,
  os: osDetector,
  serviceinstance: serviceInstanceIdDetector,
};

/**
 * One started OpenTelemetry tracing SDK, built from resolved options: a tracer provider with the library's
 * processors, the AsyncLocalStorage context manager and the propagator, registered with the API as NodeSDK
 * registers them, without loading NodeSDK's metrics, logs and exporter packages. It owns the span processors,
 * so it can flush them and bound every wait by a deadline.
 */
export class TracingSdk {
  private readonly ledger = new ExportLedger();
  private readonly processors: SpanProcessor[];
  private readonly provider: TracerProvider;
  private stopped?: Promise<ShutdownReport>;
  /** This SDK's tracer; callers read it at span time so that a restarted SDK is picked up. */
  readonly tracer: Tracer;
  /**
   * Whether request headers hold any without which the registered propagator extracts nothing
   * ({@link contextHeadersOf}); undefined when that is unknown or a propagator other than this SDK's is registered.
   */
  readonly carriesContext: ContextHeaderTest | undefined;

  constructor(
    readonly options: ResolvedOtelOptions,
    /** The instrumentations this SDK enabled. */
    readonly instrumentations: readonly Instrumentation[],
    leadingProcessors: readonly SpanProcessor[] = [],
    baggage?: OutgoingBaggageFilter,
  ) {
    this.processors = createSpanProcessors(options, this.ledger, leadingProcessors);
    this.provider = new RandomTraceIdTracerProvider({
      resource: buildResource(options),
      sampler: createSampler(options.sampler),
      spanProcessors: this.processors,
      spanLimits: options.spanLimits,
    });
    registerContextManager();
    const propagator = createPropagator(options.propagators);
    const registered = propagation.setGlobalPropagator(baggage ? baggage.guard(propagator) : propagator);
    const contextHeaders = registered ? contextHeadersOf(options.propagators) : undefined;
    this.carriesContext = contextHeaders && contextHeaderTest(contextHeaders);
    trace.setGlobalTracerProvider(this.provider);
    for (const instrumentation of instrumentations) {
      instrumentation.setTracerProvider(this.provider);
      instrumentation.enable();
    }
    const sdkTracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);
    this.tracer = (options.fastSpans ? LibraryTracer.over(sdkTracer) : undefined) ?? sdkTracer;
  }

  /** What the OTLP pipelines did with the spans so far. */
  exportStatistics(): ExportStatistics {
    return this.ledger.statistics();
  }

  /** Exports every finished span, waiting at most `timeoutMillis`. Resolves false when time ran out. */
  forceFlush(timeoutMillis: number): Promise<boolean> {
    return settleWithin(Promise.all(this.processors.map((p) => p.forceFlush())), timeoutMillis);
  }

  /** Flushes, then shuts down, within `timeoutMillis` in all; never rejects. Later calls share the first. */
  shutdown(timeoutMillis: number): Promise<ShutdownReport> {
    this.stopped ??= this.stop(timeoutMillis);
    return this.stopped;
  }

  private async stop(timeoutMillis: number): Promise<ShutdownReport> {
    const deadline = Date.now() + timeoutMillis;
    const flushed = await this.forceFlush(timeoutMillis);
    // Shutting the processors down flushes spans that ended meanwhile; whatever the deadline leaves is lost.
    await settleWithin(this.provider.shutdown(), Math.max(0, deadline - Date.now()));
    for (const pipeline of this.ledger.pipelines) pipeline.abort();
    const lost = this.ledger.undelivered();
    const statistics = this.ledger.statistics();
    for (const instrumentation of this.instrumentations) instrumentation.disable();
    // The API keeps globals registered; a later start in this process must be able to register anew.
    trace.disable();
    propagation.disable();
    unregisterContextManager();
    return { flushed, lost, statistics };
  }
}

function buildResource(options: ResolvedOtelOptions): Resource {
  const detectors = options.resourceDetectors.map((d) => (typeof d === 'string' ? DETECTORS[d as keyof typeof DETECTORS] : d));
  return defaultResource()
    .merge(detectResources({ detectors: detectors.filter(Boolean) }))
    .merge(resourceFromAttributes(options.resourceAttributes));
}

/** The SDK's provider, whose tracers give spans the random trace-id flag of Trace Context Level 2. */
class RandomTraceIdTracerProvider extends TracerProvider {
  override getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    return markRandomTraceIds(super.getTracer(name, version, options));
  }
}

/** Resolves true when `work` settles successfully within `millis`, false on timeout or failure. */
export async function settleWithin(work: Promise<unknown>, millis: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, millis, false);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
