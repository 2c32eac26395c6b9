export { OtelModule, type OtelModuleAsyncOptions } from './otel.module.js';
export {
  OtelConfigError,
  resolveOtelOptions,
  type BaggageHostRule,
  type BaggageOptions,
  type BatchOptions,
  type ConfigProblem,
  type ExporterName,
  type ExportSendFrom,
  type HttpTracingOptions,
  type IgnoreRule,
  type OtelModuleOptions,
  type OtlpCompression,
  type OtlpExporterOptions,
  type OtlpProtocol,
  type OtlpSendFrom,
  type ZipkinExporterOptions,
  type PrivacyPreset,
  type PropagatorName,
  type RedactKey,
  type RedactOptions,
  type ResolvedOtelOptions,
  type ResourceDetectorName,
  type TracingInterceptorOptions,
} from './otel.options.js';
export { OTEL_RESOLVED_OPTIONS } from './otel.constants.js';
export type { ClientAddressMode } from './privacy/client-address.js';
export { OtelApiVersionError, SUPPORTED_API_RANGE } from './api-compat.js';
export { TracingInterceptor } from './tracing.interceptor.js';
export { JaegerPropagator } from './propagation/jaeger.propagator.js';
export { TraceContextPropagator } from './propagation/trace-context.propagator.js';
export { MultiFormatPropagator } from './propagation/multi-format.propagator.js';
export { W3CTraceState } from './propagation/trace-state.js';
export { TraceService, type PropagationCarrier } from './trace.service.js';
export { Span, Traced, type TracedOptions } from './span.decorator.js';
export { TracingConsoleLogger, traceLogFields, type TraceLogFields } from './tracing-console.logger.js';
export { traceRpcClient, injectGrpcMetadata, type RpcClientLike, type TraceRpcClientOptions, type GrpcMetadataLike } from './rpc/trace-rpc-client.js';
export { TraceTreeExporter, type TraceTreeExporterOptions } from './sdk/trace-tree.exporter.js';
export { exportStatistics } from './export/export-statistics.js';
export type { ExportStatistics } from './export/otlp-export-processor.js';
