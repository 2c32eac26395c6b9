/**
 * Preload entry: starts tracing from the `OTEL_*` environment before anything else loads, so that
 * auto-instrumentation can patch every module. Use `node -r nestjs-tracing/register dist/main.js`,
 * `node --import nestjs-tracing/register dist/main.js`, or `import 'nestjs-tracing/register'` as the
 * first line of main.ts. `OtelModule.forRoot()` later adopts the running SDK.
 */
import { resolveOtelOptions } from './otel.options.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';

TracingRuntime.get().ensureStarted(resolveOtelOptions(), 'preload');
