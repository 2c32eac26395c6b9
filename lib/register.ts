/**
 * Preload entry: starts tracing from the `OTEL_*` environment before anything else loads, so that
 * auto-instrumentation can patch every module. Use `node -r nestjs-tracing/register dist/main.js`,
 * `node --import nestjs-tracing/register dist/main.js`, or `import 'nestjs-tracing/register'` as the
 * first line of main.ts. `OtelModule.forRoot()` later adopts the running SDK. Checks `@opentelemetry/api` before
 * loading the SDK, as `entry.ts` explains.
 */
import { createRequire } from 'node:module';
import { assertSupportedApi } from './api-compat.js';

assertSupportedApi();
createRequire(import.meta.url)('./register-sdk.js');
