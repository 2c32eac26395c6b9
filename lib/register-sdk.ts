/** Starts the process's SDK from the `OTEL_*` environment; loaded by `register.ts` once the api was checked. */
import { resolveOtelOptions } from './otel.options.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';

TracingRuntime.get().ensureStarted(resolveOtelOptions(), 'preload');
