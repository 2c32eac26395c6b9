import { resolveOtelOptions, type OtelModuleOptions } from '../../lib/otel.options.js';
import { TracingRuntime } from '../../lib/sdk/tracing-runtime.js';
import { SpanRecorder } from '../../lib/testing/index.js';

/** Tracing without a Nest app, for unit tests of code that makes spans. */
export interface UnitTracing {
  readonly recorder: SpanRecorder;
  stop(): Promise<void>;
}

/** Starts the process's SDK with a recorder, no exporter and no auto-instrumentation. */
export function startUnitTracing(options: OtelModuleOptions = {}): UnitTracing {
  const recorder = new SpanRecorder();
  const runtime = TracingRuntime.get();
  runtime.acquire(
    resolveOtelOptions({
      serviceName: 'unit',
      exporter: 'none',
      instrumentations: [],
      warnOnMissingShutdownHooks: false,
      ...options,
      spanProcessors: [...(options.spanProcessors ?? []), recorder],
    }),
    'forRoot',
  );
  return { recorder, stop: async () => void (await runtime.release(1000)) };
}
