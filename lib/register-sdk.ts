/**
 * Starts the process's SDK from the `OTEL_*` environment; loaded by `register.ts` once the api was checked. For an
 * app whose entry is an ES module, it then registers the loader hook through which the instrumentations see the
 * packages the app imports.
 */
import { registerEsmLoaderHook } from './instrumentations/esm-loader-hook.js';
import { resolveOtelOptions } from './otel.options.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';

const runtime = TracingRuntime.get();
runtime.ensureStarted(resolveOtelOptions(), 'preload');
// Without the hook (a CommonJS app), what Nest imports itself would load unpatched.
if (registerEsmLoaderHook(runtime.instrumentations) === 'not-needed') runtime.prepareDriversNestImports();
