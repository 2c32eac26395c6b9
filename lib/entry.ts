/**
 * The package's runtime entry. It checks the installed `@opentelemetry/api` before loading anything that imports
 * the SDK: ES modules link every static import before running any code, so an api that lacks a name the SDK
 * imports would otherwise fail as a bare `SyntaxError` before a check could run. The library is then loaded with
 * `require()` (ES modules through require(esm)), which links it only now. Types come from `index.d.ts`; every
 * name exported here is the one of `index.ts`, which a test keeps in step.
 */
import { createRequire } from 'node:module';
import { assertSupportedApi } from './api-compat.js';

assertSupportedApi();
const library = createRequire(import.meta.url)('./index.js') as typeof import('./index.js');

export const {
  OtelModule,
  OtelConfigError,
  OtelApiVersionError,
  resolveOtelOptions,
  OTEL_RESOLVED_OPTIONS,
  SUPPORTED_API_RANGE,
  TracingInterceptor,
  JaegerPropagator,
  TraceContextPropagator,
  MultiFormatPropagator,
  W3CTraceState,
  TraceService,
  Span,
  Traced,
  TracingConsoleLogger,
  traceLogFields,
  traceRpcClient,
  injectGrpcMetadata,
  TraceTreeExporter,
  exportStatistics,
} = library;
