import { Logger } from '@nestjs/common';
import { trace, type Tracer } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { isDeepStrictEqual } from 'node:util';
import { LOGGER_CONTEXT, TRACER_NAME, TRACER_VERSION } from '../otel.constants.js';
import { INSTRUMENTATION_NAMES, type OtelModuleOptions, type ResolvedOtelOptions } from '../otel.options.js';
import {
  createDefaultInstrumentations,
  type DefaultInstrumentations,
  modulesLoadedTooEarly,
  patchDriversLoadedEarly,
  reconfigureDefaultInstrumentations,
  requireDriversNestImports,
  selectInstrumentations,
} from '../instrumentations/default-instrumentations.js';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { RedactionProcessor } from './redaction.js';
import { DatabaseConventionsProcessor } from '../instrumentations/database-conventions.processor.js';
import { OutgoingBaggageFilter } from '../privacy/baggage-filter.js';
import { SpanObservers } from './span-observers.js';
import { TracingSdk, type ShutdownReport } from './tracing-sdk.js';
import type { ExportStatistics } from '../export/otlp-export-processor.js';
import type { ServerTracing } from '../http/http-server.tracing.js';

/** Who started the SDK; it decides what a warning tells the user to change. */
export type StartSource = 'preload' | 'forRoot' | 'forRootAsync';

const RUNTIME_KEY = Symbol.for('nestjs-tracing.runtime');
const logger = new Logger(LOGGER_CONTEXT);

/**
 * The one tracing SDK of this process. Preload, `forRoot`, `forRootAsync` and every Nest app created in the
 * process share it: the first to start it decides its configuration, later ones adopt it, and it stops when the
 * last app holding a lease shuts down, so that the next app (a jest suite creates many) starts a fresh one.
 */
export class TracingRuntime {
  private sdk?: TracingSdk;
  private source?: StartSource;
  private leases = 0;
  private defaults?: DefaultInstrumentations;
  private warnedAboutShutdownHooks = false;
  private readonly databaseConventions = new DatabaseConventionsProcessor();
  private readonly redaction = new RedactionProcessor();
  private readonly observers = new SpanObservers();
  private readonly baggageFilter = new OutgoingBaggageFilter();

  /** The process-wide runtime, shared across copies of this library loaded as ESM and CommonJS. */
  static get(): TracingRuntime {
    const holder = globalThis as typeof globalThis & { [RUNTIME_KEY]?: TracingRuntime };
    holder[RUNTIME_KEY] ??= new TracingRuntime();
    return holder[RUNTIME_KEY];
  }

  /** Whether an SDK is running now. */
  get running(): boolean {
    return this.sdk !== undefined;
  }

  /** The instrumentations of the running SDK. */
  get instrumentations(): readonly Instrumentation[] {
    return this.sdk?.instrumentations ?? [];
  }

  /** The options of the running SDK. */
  get options(): ResolvedOtelOptions | undefined {
    return this.sdk?.options;
  }

  /** The tracer of the running SDK, or the API's no-op tracer when none runs. */
  get tracer(): Tracer {
    return this.sdk?.tracer ?? trace.getTracer(TRACER_NAME, TRACER_VERSION);
  }

  /** What the server spans of the running SDK need (its tracer and the propagator's headers), if one runs. */
  get serverTracing(): ServerTracing | undefined {
    return this.sdk;
  }

  /**
   * Starts the SDK, or adopts the running one and warns about the given options it could not apply.
   * Disabled options start nothing.
   */
  ensureStarted(options: ResolvedOtelOptions, source: StartSource): void {
    if (this.sdk) {
      // Privacy rules are data protection: they apply in every start order, so a later module's rules take effect.
      const given = options.given;
      if (given.redact !== undefined || given.privacy !== undefined || given.clientAddress !== undefined) this.redaction.rules = options.redact;
      if (given.baggage !== undefined || given.privacy !== undefined) this.baggageFilter.allows = options.baggageAllowed;
      this.warnUnapplied(options, source);
      return;
    }
    if (!options.enabled) return;
    const instrumentations = selectInstrumentations(options, () => this.defaultInstrumentations(options));
    // Data drivers loaded early get a warning each, after they were patched late (below).
    if (source === 'forRootAsync') warnLateStart(instrumentations.filter((instrumentation) => !this.defaults?.drivers.has(instrumentation)));
    for (const warning of options.warnings) logger.warn(warning);
    this.redaction.rules = options.redact;
    this.baggageFilter.allows = options.baggageAllowed;
    this.sdk = new TracingSdk(options, instrumentations, [this.databaseConventions, this.redaction, this.observers], this.baggageFilter);
    // After the instrumentations subscribed to the client request channels, so the filter sees their headers.
    this.baggageFilter.install();
    this.source = source;
    if (source !== 'preload' && this.defaults) {
      patchAndWarnDriversLoadedEarly(this.defaults, source);
      requireDriversNestImports(this.defaults.drivers);
    }
  }

  /**
   * For the preload entry of an app no ES module hook watches (a CommonJS app): loads the drivers Nest imports
   * itself, patched, before Nest does (see {@link requireDriversNestImports}).
   */
  prepareDriversNestImports(): void {
    if (this.defaults) requireDriversNestImports(this.defaults.drivers);
  }

  /**
   * Passes every span of this and of later SDKs in the process to `processor` (after redaction), until the
   * returned function is called. For test recorders that must see spans whoever configured the SDK.
   */
  observe(processor: SpanProcessor): () => void {
    return this.observers.add(processor);
  }

  /** Takes a lease for one Nest application; starts the SDK again if an earlier app stopped it. */
  acquire(options: ResolvedOtelOptions, source: StartSource): void {
    this.ensureStarted(options, source);
    this.leases++;
  }

  /**
   * Returns a lease. The last one flushes and shuts the SDK down within the timeout and logs one warning
   * when spans were lost; it never throws.
   */
  async release(timeoutMillis: number): Promise<ShutdownReport | undefined> {
    this.leases = Math.max(0, this.leases - 1);
    if (this.leases > 0 || !this.sdk) return undefined;
    const sdk = this.sdk;
    this.sdk = undefined;
    this.baggageFilter.uninstall();
    this.source = undefined;
    const report = await sdk.shutdown(timeoutMillis);
    if (report.lost > 0 || !report.flushed) {
      logger.warn(
        `${report.lost} span(s) were not exported at shutdown` +
          (report.flushed ? ` (${lossReasons(report)})` : ` (the flush did not finish within ${timeoutMillis} ms)`) +
          '. Check that the collector is reachable and keeps up, or raise shutdownTimeoutMillis and batch.maxQueueSize.',
      );
    }
    return report;
  }

  /** What the running SDK's OTLP pipelines did with its spans; zeros when none runs. */
  exportStatistics(): ExportStatistics {
    return this.sdk?.exportStatistics() ?? { exported: 0, dropped: 0, failed: 0, rejected: 0, retries: 0, queued: 0 };
  }

  /** Flushes the running SDK within the timeout; resolves false when it did not finish. */
  async forceFlush(timeoutMillis: number): Promise<boolean> {
    return this.sdk ? this.sdk.forceFlush(timeoutMillis) : true;
  }

  /** Logs the missing-shutdown-hooks warning once per process. */
  warnOnceAboutShutdownHooks(): void {
    if (this.warnedAboutShutdownHooks) return;
    this.warnedAboutShutdownHooks = true;
    logger.warn(
      'No shutdown hooks are enabled: on SIGTERM the process ends before buffered spans are exported. ' +
        'Call app.enableShutdownHooks() in main.ts (or close the app yourself on SIGTERM).',
    );
  }

  /** The default instrumentations patch modules when created, so the process keeps one set for its lifetime. */
  private defaultInstrumentations(options: ResolvedOtelOptions): Instrumentation[] {
    if (!this.defaults) {
      this.defaults = createDefaultInstrumentations(options, this.baggageFilter);
      for (const warning of this.defaults.warnings) logger.warn(warning);
    }
    return reconfigureDefaultInstrumentations(this.defaults, options);
  }

  private warnUnapplied(wanted: ResolvedOtelOptions, source: StartSource): void {
    const running = this.sdk?.options;
    if (!running || running === wanted) return;
    const unapplied = unappliedOptions(running, wanted);
    if (unapplied.length === 0) return;
    const remedy =
      this.source === 'preload'
        ? 'Set them through OTEL_* environment variables, which the preload entry reads.'
        : 'Only the first configuration of a process applies; give every module the same options.';
    logger.warn(
      `OtelModule.${source === 'preload' ? 'register' : source}: tracing was already started by ` +
        `${this.source === 'preload' ? 'nestjs-tracing/register' : `OtelModule.${this.source}`}; ` +
        `these options could not be applied: ${unapplied.join(', ')}. ${remedy}`,
    );
  }
}

/** Options that are not the SDK's to apply: per-app settings, and privacy rules, which an adopted SDK takes on. */
type SdkOptionKey = Exclude<
  keyof OtelModuleOptions,
  'interceptor' | 'shutdownTimeoutMillis' | 'warnOnMissingShutdownHooks' | 'redact' | 'privacy' | 'clientAddress' | 'baggage'
>;

/** For each SDK-level option, the part of the resolved configuration it decides. */
const EFFECT: Record<SdkOptionKey, (o: ResolvedOtelOptions) => unknown> = {
  enabled: (o) => o.enabled,
  serviceName: (o) => o.resourceAttributes['service.name'],
  serviceVersion: (o) => o.resourceAttributes['service.version'],
  environment: (o) => o.resourceAttributes['deployment.environment.name'],
  resourceAttributes: (o) => o.resourceAttributes,
  resourceDetectors: (o) => o.resourceDetectors,
  exporter: (o) => o.exporters,
  otlp: (o) => o.exporters,
  zipkin: (o) => o.exporters,
  batch: (o) => o.batch,
  spanProcessors: (o) => o.spanProcessors,
  sampler: (o) => o.sampler,
  propagators: (o) => o.propagators,
  instrumentations: (o) => o.instrumentations,
  disabledInstrumentations: (o) => INSTRUMENTATION_NAMES.filter((name) => !o.instrumentationEnabled(name)),
  http: (o) => o.incomingHttpInstrumentation,
  fastSpans: (o) => o.fastSpans,
};

/** Options given for `wanted` whose effect differs from what the running configuration does. */
export function unappliedOptions(running: ResolvedOtelOptions, wanted: ResolvedOtelOptions): string[] {
  return (Object.keys(EFFECT) as SdkOptionKey[]).filter(
    (key) => wanted.given[key] !== undefined && !isDeepStrictEqual(EFFECT[key](running), EFFECT[key](wanted)),
  );
}

/** Why spans were lost, from the export statistics: dropped from a full queue, refused or rejected. */
function lossReasons({ statistics }: ShutdownReport): string {
  const reasons = [
    statistics.dropped > 0 ? `${statistics.dropped} dropped while the export queue was full` : '',
    statistics.failed > 0 ? `${statistics.failed} refused by the collector or unsent` : '',
    statistics.rejected > 0 ? `${statistics.rejected} rejected by the collector` : '',
  ].filter(Boolean);
  return reasons.length > 0 ? reasons.join(', ') : 'the exporter reported failures';
}

/**
 * `forRoot` runs when AppModule is imported, `forRootAsync` later: drivers that ORMs load lazily are patched as they
 * load, but a driver the app imported earlier was loaded unpatched. It is patched now, which covers its classes;
 * what the app copied from it before (a function taken out of the module) stays untraced, so one warning per
 * such driver gives the start order that traces everything.
 */
function patchAndWarnDriversLoadedEarly(defaults: DefaultInstrumentations, source: StartSource): void {
  for (const driver of patchDriversLoadedEarly(defaults.drivers)) {
    logger.warn(
      `${driver} was loaded before OtelModule.${source} started tracing; it was patched late, which traces its clients ` +
        'but not functions taken from it before. To trace it fully, start with the preload entry: ' +
        'node -r nestjs-tracing/register dist/main.js (CommonJS) or node --import nestjs-tracing/register dist/main.js (ES modules).',
    );
  }
}

function warnLateStart(instrumentations: Instrumentation[]): void {
  const early = modulesLoadedTooEarly(instrumentations);
  if (early.length === 0) return;
  logger.warn(
    `OtelModule.forRootAsync started tracing after ${early.join(', ')} loaded; auto-instrumentation cannot patch ` +
      'code that already holds them (server spans still come from the library). To trace everything, preload: ' +
      'node -r nestjs-tracing/register dist/main.js (or import "nestjs-tracing/register" first in main.ts).',
  );
}
