/** Injection token for the resolved {@link ResolvedOtelOptions} of the running module. */
export const OTEL_RESOLVED_OPTIONS = Symbol.for('nestjs-tracing.resolved-options');

/** Name and version under which this library's tracer reports its spans. */
export const TRACER_NAME = 'nestjs-tracing';
export const TRACER_VERSION = '0.1.0';

/** Logger context used for every message the library prints. */
export const LOGGER_CONTEXT = 'nestjs-tracing';

/** Defaults, in one place so the README tables and the code cannot disagree. */
export const DEFAULTS = {
  otlpGrpcEndpoint: 'http://localhost:4317',
  otlpHttpEndpoint: 'http://localhost:4318',
  otlpTimeoutMillis: 10_000,
  zipkinEndpoint: 'http://localhost:9411/api/v2/spans',
  zipkinTimeoutMillis: 10_000,
  shutdownTimeoutMillis: 5_000,
  samplingRatio: 1,
  // Larger than the OpenTelemetry defaults (2048 and 512): the batch processor sends one batch at a time, and at
  // the benchmark's ~35k spans/s 512-span batches could not keep up, so spans were dropped. 8192 spans is a few MB.
  bsp: {
    maxQueueSize: 8192,
    maxExportBatchSize: 2048,
    scheduledDelayMillis: 5000,
    exportTimeoutMillis: 30_000,
    maxQueueBytes: 16 * 1024 * 1024,
  },
  otlpRetry: { initialBackoffMillis: 500, maxBackoffMillis: 5000 },
  otlpReportIntervalMillis: 10_000,
  ignore: ['/health*'] as readonly string[],
  redactReplacement: '[REDACTED]',
  propagators: ['tracecontext', 'baggage'] as const,
  resourceDetectors: ['host', 'process'] as const,
} as const;

/** Span attribute names, current HTTP semantic conventions plus the ones instrumentation-nestjs-core uses. */
export const ATTR = {
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatusCode: 'http.response.status_code',
  urlPath: 'url.path',
  urlQuery: 'url.query',
  urlScheme: 'url.scheme',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  clientAddress: 'client.address',
  userAgent: 'user_agent.original',
  protocolVersion: 'network.protocol.version',
  errorType: 'error.type',
  nestType: 'nestjs.type',
  nestController: 'nestjs.controller',
  nestCallback: 'nestjs.callback',
  nestTransport: 'nestjs.transport',
  nestPattern: 'nestjs.pattern',
  guardResult: 'nestjs.guard.allowed',
  rpcSystem: 'rpc.system',
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  graphqlOperationType: 'graphql.operation.type',
  graphqlOperationName: 'graphql.operation.name',
  graphqlFieldPath: 'graphql.field.path',
  component: 'component',
  codeFunction: 'code.function.name',
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  deploymentEnvironment: 'deployment.environment.name',
} as const;

/** Scope name of `@opentelemetry/instrumentation-nestjs-core`, used to avoid duplicating its spans. */
export const NESTJS_CORE_INSTRUMENTATION_SCOPE = '@opentelemetry/instrumentation-nestjs-core';

/** Injection token of the provider that installs handler tracing before Nest builds its pipelines. */
export const OTEL_HANDLER_TRACING = Symbol.for('nestjs-tracing.handler-tracing');

/** Injection token telling the lifecycle which entry point configured the module. */
export const OTEL_START_SOURCE = Symbol.for('nestjs-tracing.start-source');
