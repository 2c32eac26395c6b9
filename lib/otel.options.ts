import type { Attributes, AttributeValue, Sampler, TextMapPropagator } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { ResourceDetector } from '@opentelemetry/resources';
import type { SpanExporter, SpanLimits, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { IncomingMessage } from 'node:http';
import { ATTR, DEFAULTS } from './otel.constants.js';
import type { ClientAddressMode } from './privacy/client-address.js';
import { createValueScrubber, type ValueScrubber } from './privacy/value-scrubber.js';
import { DATA_INSTRUMENTATION_NAMES, type DataInstrumentationName } from './instrumentations/data-instrumentations.js';

/** Exporters that can be chosen by name (also through `OTEL_TRACES_EXPORTER`). */
export type ExporterName = 'otlp' | 'zipkin' | 'console' | 'tree' | 'none';
/** OTLP transports (also through `OTEL_EXPORTER_OTLP_PROTOCOL`). */
export type OtlpProtocol = 'grpc' | 'http/protobuf';

/** Where exports are sent from (see {@link OtlpExporterOptions.sendFrom} and {@link ZipkinExporterOptions.sendFrom}). */
export type ExportSendFrom = 'worker' | 'event-loop';
/**
 * The name {@link ExportSendFrom} had while only OTLP exports could be sent from a worker.
 * @deprecated Use {@link ExportSendFrom}; this alias will be removed in the next major version.
 */
export type OtlpSendFrom = ExportSendFrom;
/** How the OTLP exporters compress export bodies: `gzip`, or `none` (sent as encoded). */
export type OtlpCompression = 'gzip' | 'none';
/** Propagators that can be chosen by name (also through `OTEL_PROPAGATORS`). */
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi' | 'jaeger' | 'none';
/** The default instrumentations, by the names `OTEL_NODE_ENABLED_INSTRUMENTATIONS` uses. */
export type InstrumentationName = 'http' | 'undici' | DataInstrumentationName;
/** Resource detectors that can be chosen by name (also through `OTEL_NODE_RESOURCE_DETECTORS`). */
export type ResourceDetectorName = 'host' | 'process' | 'os' | 'serviceinstance' | 'none';

/** Enhancers that can get a span per call. */
export type EnhancerKind = 'guards' | 'pipes' | 'interceptors';

/** A rule that keeps a request out of tracing: an exact path, a glob (`*` matches anything), a RegExp or a predicate. */
export type IgnoreRule = string | RegExp | ((path: string, request: IncomingMessage) => boolean);

/** An attribute key to redact: exact (`user.email`), a glob (`http.request.header.*`) or a RegExp. */
export type RedactKey = string | RegExp;

/**
 * What never leaves the process in span attributes (GDPR): applied to every span, auto-instrumented ones too,
 * before any processor or exporter sees it. Credentials and personal data in query strings and free text are
 * removed by default; these options extend or narrow that.
 */
export interface RedactOptions {
  /** Attribute keys (of spans and of span events) whose values are replaced. */
  keys?: RedactKey[];
  /**
   * More query parameters whose values are replaced inside `url.query` and `url.full`, matched without regard
   * to case. They add to the default list (see `defaultQueryParameters`).
   */
  queryParameters?: string[];
  /**
   * Whether the library's default list of credential and personal parameters (`token`, `password`, `email`, ...)
   * applies (default true). `false` leaves only `queryParameters` and the ones the semantic conventions require
   * (`AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature`), which are always redacted.
   */
  defaultQueryParameters?: boolean;
  /**
   * More patterns whose matches are replaced inside free-text values (`exception.message`, status messages,
   * `url.query`, `url.full`, `db.query.text`), e.g. `/\bcustomer-\d+\b/g`.
   */
  values?: RegExp[];
  /** Whether email addresses and Luhn-valid payment card numbers are scrubbed from free text (default true). */
  defaultValues?: boolean;
  /** The value written instead (default `[REDACTED]`); `null` removes the attribute. */
  replacement?: string | null;
}

/** A host allowed to receive baggage: an exact host name, a `*.example.com` glob, or a RegExp. */
export type BaggageHostRule = string | RegExp;

/** Which outgoing calls carry the `baggage` header. */
export interface BaggageOptions {
  /**
   * Hosts that may receive baggage on outgoing HTTP calls (`http` and `fetch`): a list of rules or a predicate.
   * Default: every host (baggage goes wherever the trace context goes, third-party APIs included); with
   * `privacy: 'strict'`, only the hosts listed here.
   */
  allowedHosts?: BaggageHostRule[] | ((host: string) => boolean);
}

/** Settings of the OTLP exporter; anything left out comes from `OTEL_EXPORTER_OTLP_*`, then defaults. */
export interface OtlpExporterOptions {
  /** Collector URL. gRPC: `http://localhost:4317`; HTTP: `http://localhost:4318/v1/traces`. */
  endpoint?: string;
  /** Transport; `grpc` by default. */
  protocol?: OtlpProtocol;
  /** Extra headers (gRPC metadata), e.g. an API key for a hosted backend. */
  headers?: Record<string, string>;
  /** How long one export may take, in milliseconds (default 10000). */
  timeoutMillis?: number;
  /**
   * `gzip` compresses each export (gRPC `grpc-encoding`, HTTP `Content-Encoding`) on libuv's thread pool, off the
   * event loop: about eight times fewer bytes, for a collector across a network or a metered link. Default `none`,
   * as the OTLP specification says.
   */
  compression?: OtlpCompression;
  /**
   * Retries of an export the collector could not take (unavailable, overloaded, restarting): the first after
   * `initialBackoffMillis` (default 500), doubling with jitter up to `maxBackoffMillis` (default 5000), or after
   * the delay the collector asks for. The batch is retried until it is delivered, refused for good, or the app
   * shuts down; meanwhile new spans queue up to the batch bounds.
   */
  retry?: { initialBackoffMillis?: number; maxBackoffMillis?: number };
  /** Interval of the one summary line logged while spans are being lost, in milliseconds (default 10000). */
  reportIntervalMillis?: number;
  /**
   * Where exports are sent from. `worker` (the default): a worker thread of the library's own, started at the
   * first export, so the export's HTTP/2 or HTTP calls neither take the event loop nor share Node's stream and
   * socket code with the app's requests (from the event loop, they made every request about 3% dearer; see the
   * README's benchmark). `event-loop`: the app's thread, as OpenTelemetry's exporters do, for a runtime that
   * forbids worker threads. Encoding, batching and retries stay on the app's thread either way.
   */
  sendFrom?: ExportSendFrom;
}

/** Settings of the Zipkin exporter (JSON v2 over HTTP); anything left out comes from `OTEL_EXPORTER_ZIPKIN_*`. */
export interface ZipkinExporterOptions {
  /** Zipkin's span endpoint (default `http://localhost:9411/api/v2/spans`). */
  endpoint?: string;
  /** Extra request headers, e.g. for an authenticating proxy. */
  headers?: Record<string, string>;
  /** How long one export may take, in milliseconds (default 10000). */
  timeoutMillis?: number;
  /**
   * Where exports are sent from, as {@link OtlpExporterOptions.sendFrom}: `worker` (the default), a worker thread
   * of the Zipkin exporter's own, started at its first export; `event-loop`, the app's thread. The JSON is written
   * on the app's thread either way.
   */
  sendFrom?: ExportSendFrom;
}

/** Batch span processor settings; anything left out comes from `OTEL_BSP_*`, then the library's defaults. */
export interface BatchOptions {
  /**
   * Spans buffered before new ones are dropped (default 8192). The OTLP exporters hold encoded bytes, not span
   * objects, so unless this is set they are bounded by `maxQueueBytes` alone (up to one span per 512 bytes).
   */
  maxQueueSize?: number;
  /** Spans sent in one export (default 2048, at most `maxQueueSize`). */
  maxExportBatchSize?: number;
  /** Delay between two exports, in milliseconds (default 5000). */
  scheduledDelayMillis?: number;
  /** How long one batch export may take, in milliseconds (default 30000). */
  exportTimeoutMillis?: number;
  /** Encoded bytes buffered (OTLP exporters) before new spans are dropped (default 16 MiB). */
  maxQueueBytes?: number;
}

/** Options of the per-request spans made by the HTTP layer and the {@link TracingInterceptor}. */
export interface TracingInterceptorOptions {
  /** Register the interceptor globally (default true). When false, add `TracingInterceptor` with `@UseInterceptors`. */
  global?: boolean;
  /** Requests that get no span at all. Default `['/health*']`; an empty list traces everything. */
  ignore?: IgnoreRule[];
  /** Attributes added to the server span of every traced HTTP request, e.g. a tenant id from a header. */
  requestAttributes?: (request: IncomingMessage) => Attributes | undefined;
  /**
   * Also give guards, pipes and interceptors a span per call (default none): what a 403 or a slow validation
   * costs. Covers enhancers Nest instantiates (classes in `@UseGuards()`, `@UsePipes()`, `@UseInterceptors()`,
   * and `APP_GUARD`/`APP_PIPE`/`APP_INTERCEPTOR` providers). An interceptor's span contains what it wraps.
   */
  enhancerSpans?: EnhancerKind[];
  /** GraphQL: a span for each root field's resolver (`'root'`, the default) or for every resolver (`'all'`). */
  graphqlResolvers?: 'root' | 'all';
}

/** HTTP options. */
export interface HttpTracingOptions {
  /**
   * Let `@opentelemetry/instrumentation-http` also make server spans for incoming requests (default false).
   * The library makes the server span itself, in every start order and at a fraction of the cost; turn this
   * on only if a backend depends on that instrumentation's spans. Then there is still one server span per
   * request: the library adopts the instrumentation's span instead of opening its own.
   */
  incomingInstrumentation?: boolean;
  /**
   * Request headers recorded on the server span as `http.request.header.<name>` (default none: headers are never
   * recorded unless listed). `authorization`, `cookie`, `set-cookie`, `proxy-authorization` and `x-api-key` are
   * recorded as `[REDACTED]` even when listed.
   */
  requestHeaders?: string[];
  /** Response headers recorded on the server span as `http.response.header.<name>`, on the same terms. */
  responseHeaders?: string[];
}

/** Options of `OtelModule.forRoot()` and of the factory of `OtelModule.forRootAsync()`. */
export interface OtelModuleOptions {
  /** Turn tracing off entirely; everything becomes a cheap no-op (`OTEL_SDK_DISABLED=true`). */
  enabled?: boolean;
  /** `service.name` (`OTEL_SERVICE_NAME`). */
  serviceName?: string;
  /** `service.version`. */
  serviceVersion?: string;
  /** `deployment.environment.name` (defaults to `NODE_ENV`). */
  environment?: string;
  /** Extra resource attributes; they win over `OTEL_RESOURCE_ATTRIBUTES`. */
  resourceAttributes?: Attributes;
  /** Resource detectors (default host and process; `OTEL_NODE_RESOURCE_DETECTORS`). */
  resourceDetectors?: ResourceDetector[];
  /**
   * Where spans go: a name, several names, or an exporter instance (`OTEL_TRACES_EXPORTER`, default `otlp`).
   * Several names send every span to each (`['otlp', 'zipkin']` during a migration), each with its own queue.
   * `tree` prints each finished trace as a tree in the terminal, for local development.
   */
  exporter?: ExporterName | ExporterName[] | SpanExporter;
  /** OTLP exporter settings (`OTEL_EXPORTER_OTLP_*`). */
  otlp?: OtlpExporterOptions;
  /** Zipkin exporter settings (`OTEL_EXPORTER_ZIPKIN_*`), used when `zipkin` is among the exporters. */
  zipkin?: ZipkinExporterOptions;
  /** Batch processor settings (`OTEL_BSP_*`). */
  batch?: BatchOptions;
  /**
   * Extra span processors, run before the exporters' processors (e.g. an in-memory one in tests). Whether a
   * processor has `onEnding` is read once, when tracing starts; its methods are called as they are at each span.
   */
  spanProcessors?: SpanProcessor[];
  /**
   * Sampling: a ratio from 0 to 1 for ParentBased(TraceIdRatio), or a `Sampler`
   * (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SAMPLING_RATIO`; default ratio 1).
   */
  sampler?: number | Sampler;
  /**
   * Propagators by name or one propagator instance (`OTEL_PROPAGATORS`, default tracecontext and baggage).
   * Every named format is injected; on extract, a valid `traceparent` wins, then the other trace formats in the
   * order given (`['tracecontext', 'baggage', 'b3multi']` during a B3 migration).
   */
  propagators?: PropagatorName[] | TextMapPropagator;
  /**
   * Instrumentations: a list replaces the default set (outgoing http, undici, and the database, cache and queue
   * drivers the app has installed: pg, mysql2, mongodb, mongoose, ioredis, redis, kafkajs, amqplib, Prisma);
   * a function receives the default set and returns the list to use, to extend or trim it.
   */
  instrumentations?: Instrumentation[] | ((defaults: Instrumentation[]) => Instrumentation[]);
  /**
   * Default instrumentations to leave out, by name (`OTEL_NODE_DISABLED_INSTRUMENTATIONS`); also
   * `OTEL_NODE_ENABLED_INSTRUMENTATIONS`, which keeps only the ones it names.
   */
  disabledInstrumentations?: InstrumentationName[];
  /** HTTP options. */
  http?: HttpTracingOptions;
  /** Per-request span options. */
  interceptor?: TracingInterceptorOptions;
  /** Attribute keys, or keys and query parameters, whose values are masked before any processor or exporter sees them. */
  redact?: RedactKey[] | RedactOptions;
  /**
   * `'strict'` (`OTEL_NESTJS_TRACING_PRIVACY`): client addresses truncated, `user_agent.original` dropped, every
   * string attribute scrubbed for personal data, and baggage sent only to `baggage.allowedHosts`. Default
   * `'default'`: the redaction of `redact` and its defaults.
   */
  privacy?: PrivacyPreset;
  /**
   * How much of the client's IP address server spans keep as `client.address` (`OTEL_NESTJS_TRACING_CLIENT_ADDRESS`):
   * `'full'` (default, as the semantic conventions have it), `'truncated'` (IPv4 /24, IPv6 /48) or `'none'`.
   */
  clientAddress?: ClientAddressMode;
  /** Which outgoing calls carry baggage. */
  baggage?: BaggageOptions;
  /** How long shutdown may take to flush spans, in milliseconds (default 5000). */
  shutdownTimeoutMillis?: number;
  /** Warn at bootstrap when no shutdown hooks are enabled (default true, except under jest). */
  warnOnMissingShutdownHooks?: boolean;
  /**
   * Make the library's own spans (server, handler, message, gateway, `TraceService`, `@Span`) with its lighter
   * tracer, which has the SDK's sampler, limits, resource and processors and yields the same span data
   * (default true). `false` makes them with the OpenTelemetry SDK's tracer, at a few microseconds more per span.
   */
  fastSpans?: boolean;
}

/** How spans are exported, after options and environment were merged. */
export type ResolvedExporter =
  | {
      kind: 'otlp';
      protocol: OtlpProtocol;
      url: string;
      headers: Record<string, string>;
      timeoutMillis: number;
      compression: OtlpCompression;
      initialBackoffMillis: number;
      maxBackoffMillis: number;
      reportIntervalMillis: number;
      sendFrom: ExportSendFrom;
    }
  | { kind: 'zipkin'; url: string; headers: Record<string, string>; timeoutMillis: number; sendFrom: ExportSendFrom }
  | { kind: 'console' }
  | { kind: 'tree' }
  | { kind: 'instance'; exporter: SpanExporter };

/** The privacy presets. */
export type PrivacyPreset = 'default' | 'strict';

/** Redaction rules, compiled. */
export interface ResolvedRedaction {
  readonly matchesKey: (key: string) => boolean;
  /** Whether any key rule exists, so that spans are not walked key by key for nothing. */
  readonly hasKeyRules: boolean;
  /** Lower-case names of the query parameters whose values are masked. */
  readonly queryParameters: ReadonlySet<string>;
  readonly replacement: string | null;
  readonly scrubber: ValueScrubber;
  /** Strict: every string attribute goes through the scrubber. */
  readonly scrubAllStrings: boolean;
  /** Attributes removed from every span (strict: `user_agent.original`). */
  readonly dropAttributes: readonly string[];
  readonly clientAddress: ClientAddressMode;
}

/** Query parameters the semantic conventions require instrumentations to redact. */
export const SEMCONV_REDACTED_QUERY_PARAMETERS = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'] as const;

/** Credential and personal query parameters redacted by default. */
export const DEFAULT_REDACTED_QUERY_PARAMETERS = [
  'token', 'access_token', 'refresh_token', 'id_token', 'api_key', 'apikey', 'key', 'password', 'passwd', 'secret',
  'client_secret', 'code', 'session', 'sessionid', 'jwt', 'email', 'phone',
] as const;

/** Headers never recorded in clear, even when listed. */
export const SENSITIVE_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key'] as const;

/** How spans are sampled, after options and environment were merged. */
export type ResolvedSampler =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number }
  | { kind: 'instance'; sampler: Sampler };

/** The configuration the library runs with: every option decided, validated and defaulted. */
export interface ResolvedOtelOptions {
  readonly enabled: boolean;
  readonly resourceAttributes: Attributes;
  readonly resourceDetectors: ResourceDetector[] | ResourceDetectorName[];
  readonly exporters: ResolvedExporter[];
  readonly batch: ResolvedBatch;
  readonly spanProcessors: SpanProcessor[];
  readonly sampler: ResolvedSampler;
  readonly propagators: PropagatorName[] | TextMapPropagator;
  readonly instrumentations: OtelModuleOptions['instrumentations'];
  /** Whether a default instrumentation is on (`disabledInstrumentations`, `OTEL_NODE_*_INSTRUMENTATIONS`). */
  readonly instrumentationEnabled: (name: InstrumentationName) => boolean;
  readonly incomingHttpInstrumentation: boolean;
  /** Whether an outgoing call to a host may carry baggage. */
  readonly baggageAllowed: (host: string) => boolean;
  readonly interceptor: {
    readonly global: boolean;
    readonly ignore: (path: string, request: IncomingMessage) => boolean;
    readonly hasIgnoreRules: boolean;
    readonly requestAttributes?: (request: IncomingMessage) => Attributes | undefined;
    readonly graphqlResolvers: 'root' | 'all';
    readonly enhancerSpans: readonly EnhancerKind[];
    /** Header names (lower case) recorded on server spans (`http.requestHeaders`, `http.responseHeaders`). */
    readonly requestHeaders: readonly string[];
    readonly responseHeaders: readonly string[];
  };
  readonly redact: ResolvedRedaction;
  readonly shutdownTimeoutMillis: number;
  readonly warnOnMissingShutdownHooks: boolean;
  readonly fastSpans: boolean;
  /** Span limits from `OTEL_SPAN_*_LIMIT` and `OTEL_ATTRIBUTE_*_LIMIT`; what is left out takes the SDK's default. */
  readonly spanLimits: SpanLimits;
  /** Configuration worth a warning but not an error (legacy Jaeger agent variables), logged once at start. */
  readonly warnings: readonly string[];
  /** The options as given, kept to tell which of them a running SDK could not apply. */
  readonly given: OtelModuleOptions;
}

/** One bad value: where it came from, what it was, and what is accepted. */
export interface ConfigProblem {
  readonly source: string;
  readonly value: unknown;
  readonly expected: string;
}

/** Thrown at start-up when options or `OTEL_*` variables hold values the library cannot use. */
export class OtelConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid nestjs-tracing configuration:\n` +
        problems.map((p) => `  - ${p.source}=${formatValue(p.value)}: expected ${p.expected}`).join('\n'),
    );
    this.name = 'OtelConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const EXPORTER_NAMES: readonly ExporterName[] = ['otlp', 'zipkin', 'console', 'tree', 'none'];
const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf'];
const COMPRESSIONS: readonly OtlpCompression[] = ['gzip', 'none'];
const SEND_FROM: readonly ExportSendFrom[] = ['worker', 'event-loop'];
const PRIVACY_PRESETS: readonly PrivacyPreset[] = ['default', 'strict'];
const CLIENT_ADDRESS_MODES: readonly ClientAddressMode[] = ['full', 'truncated', 'none'];
const PROPAGATOR_NAMES: readonly PropagatorName[] = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'];
const DETECTOR_NAMES: readonly ResourceDetectorName[] = ['host', 'process', 'os', 'serviceinstance', 'none'];
const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * Merges options with the `OTEL_*` environment and defaults, and validates the result.
 * Options given in code win over the environment; this is the only place that reads it.
 *
 * @throws {@link OtelConfigError} naming every bad option or variable, its value and what is accepted.
 */
export function resolveOtelOptions(options: OtelModuleOptions = {}, env: Env = process.env): ResolvedOtelOptions {
  const problems: ConfigProblem[] = [];
  const reader = new EnvReader(env, problems);
  const privacy: PrivacyPreset =
    reader.oneOf('privacy', options.privacy, PRIVACY_PRESETS) ?? reader.envOneOf('OTEL_NESTJS_TRACING_PRIVACY', PRIVACY_PRESETS) ?? 'default';
  const exporters = resolveExporters(options, reader);
  const warnings: string[] = [];
  const resolved: ResolvedOtelOptions = {
    enabled: resolveEnabled(options, reader),
    resourceAttributes: resolveResourceAttributes(options, reader),
    resourceDetectors: options.resourceDetectors ?? resolveDetectorNames(reader),
    exporters,
    batch: resolveBatch(options.batch ?? {}, reader),
    spanProcessors: options.spanProcessors ?? [],
    sampler: resolveSampler(options, reader),
    propagators: resolvePropagators(options, reader),
    instrumentations: options.instrumentations,
    instrumentationEnabled: resolveInstrumentationSwitches(options, reader, warnings),
    incomingHttpInstrumentation: options.http?.incomingInstrumentation ?? false,
    baggageAllowed: resolveBaggageHosts(options.baggage?.allowedHosts, privacy === 'strict', reader),
    interceptor: {
      ...resolveInterceptor(options.interceptor ?? {}, reader),
      requestHeaders: resolveHeaderNames('http.requestHeaders', options.http?.requestHeaders, reader),
      responseHeaders: resolveHeaderNames('http.responseHeaders', options.http?.responseHeaders, reader),
    },
    redact: resolveRedaction(options.redact, privacy, resolveClientAddress(options, privacy, reader), reader),
    shutdownTimeoutMillis: reader.nonNegativeInt(
      'shutdownTimeoutMillis',
      options.shutdownTimeoutMillis,
      undefined,
      DEFAULTS.shutdownTimeoutMillis,
    ),
    warnOnMissingShutdownHooks: options.warnOnMissingShutdownHooks ?? env.JEST_WORKER_ID === undefined,
    fastSpans: options.fastSpans ?? true,
    spanLimits: resolveSpanLimits(reader),
    warnings: [...warnings, legacyJaegerWarning(options, exporters, reader)].filter((warning) => warning !== undefined),
    given: options,
  };
  if (problems.length > 0) throw new OtelConfigError(problems);
  return resolved;
}

function resolveEnabled(options: OtelModuleOptions, reader: EnvReader): boolean {
  if (options.enabled !== undefined) return reader.boolean('enabled', options.enabled);
  return !reader.envBoolean('OTEL_SDK_DISABLED', false);
}

function resolveResourceAttributes(options: OtelModuleOptions, reader: EnvReader): Attributes {
  const fromEnv = reader.keyValueList('OTEL_RESOURCE_ATTRIBUTES');
  const attributes: Attributes = { ...fromEnv };
  const serviceName = reader.nonEmptyString('serviceName', options.serviceName) ?? reader.env('OTEL_SERVICE_NAME');
  if (serviceName) attributes[ATTR.serviceName] = serviceName;
  const version = reader.nonEmptyString('serviceVersion', options.serviceVersion);
  if (version) attributes[ATTR.serviceVersion] = version;
  const environment = reader.nonEmptyString('environment', options.environment) ?? reader.env('NODE_ENV');
  if (environment && (options.environment || attributes[ATTR.deploymentEnvironment] === undefined)) {
    attributes[ATTR.deploymentEnvironment] = environment;
  }
  Object.assign(attributes, validAttributes(options.resourceAttributes, reader));
  return attributes;
}

function validAttributes(attributes: Attributes | undefined, reader: EnvReader): Attributes {
  if (attributes === undefined) return {};
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (isAttributeValue(value)) result[key] = value;
    else reader.problem(`resourceAttributes.${key}`, value, 'a string, number, boolean or an array of one of them');
  }
  return result;
}

function isAttributeValue(value: unknown): value is AttributeValue {
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  return scalar(value) || (Array.isArray(value) && value.every((v) => v == null || scalar(v)));
}

function resolveDetectorNames(reader: EnvReader): ResourceDetectorName[] {
  const names = reader.envList('OTEL_NODE_RESOURCE_DETECTORS');
  if (names === undefined) return [...DEFAULTS.resourceDetectors];
  if (names.includes('all')) return ['host', 'process', 'os', 'serviceinstance'];
  return reader.names('OTEL_NODE_RESOURCE_DETECTORS', names, DETECTOR_NAMES).filter((n) => n !== 'none');
}

function resolveExporters(options: OtelModuleOptions, reader: EnvReader): ResolvedExporter[] {
  const given = options.exporter;
  if (given !== undefined && typeof given === 'object' && !Array.isArray(given)) {
    if (typeof given.export === 'function') return [{ kind: 'instance', exporter: given }];
    reader.problem('exporter', given, `one of ${EXPORTER_NAMES.join(', ')}, a list of them, or a SpanExporter`);
    return [];
  }
  const names = given === undefined ? reader.envList('OTEL_TRACES_EXPORTER') ?? ['otlp'] : [given].flat();
  const source = given === undefined ? 'OTEL_TRACES_EXPORTER' : 'exporter';
  if (names.includes('jaeger')) {
    reader.problem(source, 'jaeger', `otlp: the Jaeger exporter is deprecated and Jaeger receives OTLP itself (set ${source === 'exporter' ? "exporter: 'otlp'" : 'OTEL_TRACES_EXPORTER=otlp'} and OTEL_EXPORTER_OTLP_ENDPOINT=http://<jaeger host>:4317)`);
  }
  const valid = reader.names(source, names.filter((name) => name !== 'jaeger'), EXPORTER_NAMES);
  if (valid.includes('none')) return [];
  return [...new Set(valid)].map((name): ResolvedExporter => {
    if (name === 'otlp') return resolveOtlp(options.otlp ?? {}, reader);
    if (name === 'zipkin') return resolveZipkin(options.zipkin ?? {}, reader);
    return { kind: name as 'console' | 'tree' };
  });
}

/** Every default instrumentation's name. */
export const INSTRUMENTATION_NAMES: readonly InstrumentationName[] = ['http', 'undici', ...DATA_INSTRUMENTATION_NAMES];

/**
 * The on/off switch of each default instrumentation. The option is validated; names in the variables that the
 * library does not have (those of `auto-instrumentations-node`, say) are worth a warning, not a failed start.
 */
function resolveInstrumentationSwitches(options: OtelModuleOptions, reader: EnvReader, warnings: string[]): (name: InstrumentationName) => boolean {
  const disabled = new Set(reader.names('disabledInstrumentations', options.disabledInstrumentations ?? [], INSTRUMENTATION_NAMES));
  const known = (variable: string) => {
    const names = reader.envList(variable);
    if (names === undefined) return undefined;
    const unknown = names.filter((name) => !(INSTRUMENTATION_NAMES as readonly string[]).includes(name));
    if (unknown.length > 0) warnings.push(`${variable} names instrumentations this library does not have: ${unknown.join(', ')} (it has ${INSTRUMENTATION_NAMES.join(', ')}).`);
    return new Set(names);
  };
  const onlyThese = known('OTEL_NODE_ENABLED_INSTRUMENTATIONS');
  const notThese = known('OTEL_NODE_DISABLED_INSTRUMENTATIONS');
  return (name) => !disabled.has(name) && (onlyThese === undefined || onlyThese.has(name)) && !notThese?.has(name);
}

function resolveZipkin(zipkin: ZipkinExporterOptions, reader: EnvReader): ResolvedExporter {
  const endpoint = zipkin.endpoint ?? reader.env('OTEL_EXPORTER_ZIPKIN_ENDPOINT');
  const source = zipkin.endpoint !== undefined ? 'zipkin.endpoint' : 'OTEL_EXPORTER_ZIPKIN_ENDPOINT';
  return {
    kind: 'zipkin',
    url: endpoint === undefined ? DEFAULTS.zipkinEndpoint : reader.url(source, endpoint),
    headers: { ...zipkin.headers },
    timeoutMillis: reader.intAtLeast('zipkin.timeoutMillis', zipkin.timeoutMillis, 'OTEL_EXPORTER_ZIPKIN_TIMEOUT', DEFAULTS.zipkinTimeoutMillis, 1),
    sendFrom: reader.oneOf('zipkin.sendFrom', zipkin.sendFrom, SEND_FROM) ?? 'worker',
  };
}

/** Variables of Jaeger clients and of the removed OpenTelemetry Jaeger exporter, still found in older manifests. */
const LEGACY_JAEGER_VARIABLES = [
  'JAEGER_AGENT_HOST',
  'JAEGER_AGENT_PORT',
  'JAEGER_ENDPOINT',
  'OTEL_EXPORTER_JAEGER_AGENT_HOST',
  'OTEL_EXPORTER_JAEGER_AGENT_PORT',
  'OTEL_EXPORTER_JAEGER_ENDPOINT',
] as const;

/**
 * A deployment that still points Jaeger agent variables at its Jaeger, without an OTLP endpoint, would send spans
 * to localhost and lose them: say where Jaeger takes OTLP instead.
 */
function legacyJaegerWarning(options: OtelModuleOptions, exporters: ResolvedExporter[], reader: EnvReader): string | undefined {
  const set = LEGACY_JAEGER_VARIABLES.filter((name) => reader.env(name) !== undefined);
  const otlp = exporters.find((exporter) => exporter.kind === 'otlp');
  if (set.length === 0 || !otlp) return undefined;
  if (options.otlp?.endpoint !== undefined || reader.env('OTEL_EXPORTER_OTLP_ENDPOINT') || reader.env('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')) return undefined;
  const port = otlp.protocol === 'grpc' ? 4317 : 4318;
  const endpoint = `http://${legacyJaegerHost(reader)}:${port}`;
  return (
    `${set.map((name) => `${name}=${reader.env(name)}`).join(', ')} ${set.length === 1 ? 'is' : 'are'} set, but the Jaeger agent ` +
    `(UDP 6831/6832) and the Jaeger exporter are deprecated and not used: spans go to ${otlp.url}. Jaeger receives OTLP ` +
    `itself; set OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint} (Jaeger's OTLP ${otlp.protocol === 'grpc' ? 'gRPC' : 'HTTP'} port).`
  );
}

function legacyJaegerHost(reader: EnvReader): string {
  const host = reader.env('JAEGER_AGENT_HOST') ?? reader.env('OTEL_EXPORTER_JAEGER_AGENT_HOST');
  if (host) return host;
  const endpoint = reader.env('JAEGER_ENDPOINT') ?? reader.env('OTEL_EXPORTER_JAEGER_ENDPOINT');
  try {
    return endpoint ? new URL(endpoint).hostname : 'localhost';
  } catch {
    return 'localhost';
  }
}

function resolveOtlp(otlp: OtlpExporterOptions, reader: EnvReader): ResolvedExporter {
  const protocol =
    reader.oneOf('otlp.protocol', otlp.protocol, PROTOCOLS) ??
    reader.envOneOf('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', PROTOCOLS) ??
    reader.envOneOf('OTEL_EXPORTER_OTLP_PROTOCOL', PROTOCOLS) ??
    'grpc';
  return {
    kind: 'otlp',
    protocol,
    url: resolveEndpoint(otlp, protocol, reader),
    headers: {
      ...reader.keyValueList('OTEL_EXPORTER_OTLP_HEADERS'),
      ...reader.keyValueList('OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
      ...otlp.headers,
    },
    timeoutMillis:
      reader.nonNegativeInt('otlp.timeoutMillis', otlp.timeoutMillis, undefined, undefined) ??
      reader.nonNegativeInt('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', undefined, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', undefined) ??
      reader.nonNegativeInt('OTEL_EXPORTER_OTLP_TIMEOUT', undefined, 'OTEL_EXPORTER_OTLP_TIMEOUT', DEFAULTS.otlpTimeoutMillis),
    compression:
      reader.oneOf('otlp.compression', otlp.compression, COMPRESSIONS) ??
      reader.envOneOf('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', COMPRESSIONS) ??
      reader.envOneOf('OTEL_EXPORTER_OTLP_COMPRESSION', COMPRESSIONS) ??
      'none',
    initialBackoffMillis: reader.intAtLeast('otlp.retry.initialBackoffMillis', otlp.retry?.initialBackoffMillis, undefined, DEFAULTS.otlpRetry.initialBackoffMillis, 1),
    maxBackoffMillis: reader.intAtLeast('otlp.retry.maxBackoffMillis', otlp.retry?.maxBackoffMillis, undefined, DEFAULTS.otlpRetry.maxBackoffMillis, 1),
    reportIntervalMillis: reader.intAtLeast('otlp.reportIntervalMillis', otlp.reportIntervalMillis, undefined, DEFAULTS.otlpReportIntervalMillis, 100),
    sendFrom: reader.oneOf('otlp.sendFrom', otlp.sendFrom, SEND_FROM) ?? 'worker',
  };
}

/** The signal-specific variable is used as is; the generic one gets `/v1/traces` appended for HTTP, per the spec. */
function resolveEndpoint(otlp: OtlpExporterOptions, protocol: OtlpProtocol, reader: EnvReader): string {
  if (otlp.endpoint !== undefined) return reader.url('otlp.endpoint', otlp.endpoint);
  const specific = reader.env('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (specific) return reader.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', specific);
  const generic = reader.env('OTEL_EXPORTER_OTLP_ENDPOINT');
  const base = generic ? reader.url('OTEL_EXPORTER_OTLP_ENDPOINT', generic) : undefined;
  if (protocol === 'grpc') return base ?? DEFAULTS.otlpGrpcEndpoint;
  return `${(base ?? DEFAULTS.otlpHttpEndpoint).replace(/\/+$/, '')}/v1/traces`;
}

/** The batch settings, and the span bound of the OTLP pipelines, which hold encoded bytes rather than spans. */
export interface ResolvedBatch extends Required<BatchOptions> {
  readonly otlpMaxQueueSize: number;
}

/** What an encoded span takes at least, for the OTLP queue's span bound when only its byte bound is set. */
const MIN_ENCODED_SPAN_BYTES = 512;

function resolveBatch(batch: BatchOptions, reader: EnvReader): ResolvedBatch {
  const field = (key: keyof BatchOptions, variable: string, min: number) =>
    reader.intAtLeast(`batch.${key}`, batch[key], variable, DEFAULTS.bsp[key], min);
  const resolved = {
    maxQueueSize: field('maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE', 1),
    maxExportBatchSize: field('maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 1),
    scheduledDelayMillis: field('scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY', 0),
    exportTimeoutMillis: field('exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT', 0),
    maxQueueBytes: reader.intAtLeast('batch.maxQueueBytes', batch.maxQueueBytes, undefined, DEFAULTS.bsp.maxQueueBytes, 1024),
  };
  const batchSizeGiven = batch.maxExportBatchSize !== undefined || reader.env('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') !== undefined;
  // A smaller queue alone (OTEL_BSP_MAX_QUEUE_SIZE=1000) is valid: the default batch size shrinks to fit it.
  if (!batchSizeGiven) resolved.maxExportBatchSize = Math.min(resolved.maxExportBatchSize, resolved.maxQueueSize);
  if (resolved.maxExportBatchSize > resolved.maxQueueSize) {
    reader.problem('batch.maxExportBatchSize', resolved.maxExportBatchSize, `at most maxQueueSize (${resolved.maxQueueSize})`);
  }
  // A collector that answers more slowly than spans end for a few seconds (a busy gateway, a restart) must not cost
  // spans while memory allows: the OTLP queue holds bytes, so its span count only bounds it when asked to.
  const queueSizeGiven = batch.maxQueueSize !== undefined || reader.env('OTEL_BSP_MAX_QUEUE_SIZE') !== undefined;
  const otlpMaxQueueSize = queueSizeGiven ? resolved.maxQueueSize : Math.max(resolved.maxQueueSize, Math.floor(resolved.maxQueueBytes / MIN_ENCODED_SPAN_BYTES));
  return { ...resolved, otlpMaxQueueSize };
}

function resolveSampler(options: OtelModuleOptions, reader: EnvReader): ResolvedSampler {
  const given = options.sampler;
  if (typeof given === 'object' && given !== null && typeof given.shouldSample === 'function') {
    return { kind: 'instance', sampler: given };
  }
  if (given !== undefined) {
    return { kind: 'parentbased_traceidratio', ratio: reader.ratio('sampler', given) ?? DEFAULTS.samplingRatio };
  }
  const name = reader.envOneOf('OTEL_TRACES_SAMPLER', SAMPLER_NAMES);
  if (name === 'traceidratio' || name === 'parentbased_traceidratio') {
    const arg = reader.env('OTEL_TRACES_SAMPLER_ARG');
    const ratio = arg === undefined ? DEFAULTS.samplingRatio : reader.ratio('OTEL_TRACES_SAMPLER_ARG', arg);
    return { kind: name, ratio: ratio ?? DEFAULTS.samplingRatio };
  }
  if (name !== undefined) return { kind: name };
  const legacy = reader.env('OTEL_SAMPLING_RATIO');
  const ratio = legacy === undefined ? DEFAULTS.samplingRatio : reader.ratio('OTEL_SAMPLING_RATIO', legacy);
  return { kind: 'parentbased_traceidratio', ratio: ratio ?? DEFAULTS.samplingRatio };
}

function resolvePropagators(options: OtelModuleOptions, reader: EnvReader): PropagatorName[] | TextMapPropagator {
  const given = options.propagators;
  if (given !== undefined && !Array.isArray(given)) {
    if (typeof given.inject === 'function' && typeof given.extract === 'function') return given;
    reader.problem('propagators', given, `a list of ${PROPAGATOR_NAMES.join(', ')}, or a TextMapPropagator`);
    return [];
  }
  if (given !== undefined) return reader.names('propagators', given, PROPAGATOR_NAMES);
  const names = reader.envList('OTEL_PROPAGATORS');
  return names === undefined ? [...DEFAULTS.propagators] : reader.names('OTEL_PROPAGATORS', names, PROPAGATOR_NAMES);
}

function resolveInterceptor(options: TracingInterceptorOptions, reader: EnvReader): Omit<ResolvedOtelOptions['interceptor'], 'requestHeaders' | 'responseHeaders'> {
  const rules = options.ignore ?? DEFAULTS.ignore;
  const matchers = rules.map((rule, i) => compileIgnoreRule(rule, `interceptor.ignore[${i}]`, reader));
  return {
    global: options.global ?? true,
    hasIgnoreRules: matchers.length > 0,
    ignore: matchers.length === 1 ? matchers[0] : (path, request) => matchers.some((matches) => matches(path, request)),
    requestAttributes: options.requestAttributes,
    graphqlResolvers: resolveGraphqlResolvers(options.graphqlResolvers, reader),
    enhancerSpans: resolveEnhancerSpans(options.enhancerSpans, reader),
  };
}

function resolveEnhancerSpans(given: unknown, reader: EnvReader): EnhancerKind[] {
  if (given === undefined) return [];
  const kinds: readonly unknown[] = Array.isArray(given) ? given : [given];
  const valid = kinds.filter((kind): kind is EnhancerKind => kind === 'guards' || kind === 'pipes' || kind === 'interceptors');
  if (valid.length !== kinds.length || !Array.isArray(given)) {
    reader.problem('interceptor.enhancerSpans', given, 'a list of "guards", "pipes" and "interceptors"');
  }
  return valid;
}

function resolveGraphqlResolvers(given: unknown, reader: EnvReader): 'root' | 'all' {
  if (given === undefined || given === 'root' || given === 'all') return given ?? 'root';
  reader.problem('interceptor.graphqlResolvers', given, '"root" or "all"');
  return 'root';
}

function resolveRedaction(
  given: OtelModuleOptions['redact'],
  privacy: PrivacyPreset,
  clientAddress: ClientAddressMode,
  reader: EnvReader,
): ResolvedRedaction {
  const options: RedactOptions = given === undefined ? {} : Array.isArray(given) ? { keys: given } : given;
  if (typeof options !== 'object' || options === null) {
    reader.problem('redact', given, 'a list of attribute keys, or { keys, queryParameters, values, replacement }');
  }
  const valid = typeof options === 'object' && options !== null ? options : {};
  const matchers = (valid.keys ?? []).map((key, i) => compileKeyMatcher(key, `redact.keys[${i}]`, reader));
  const queryParameters = (valid.queryParameters ?? []).filter((name, i) => {
    if (typeof name === 'string' && name.length > 0) return true;
    reader.problem(`redact.queryParameters[${i}]`, name, 'a query parameter name');
    return false;
  });
  const values = (valid.values ?? []).filter((pattern, i) => {
    if (pattern instanceof RegExp) return true;
    reader.problem(`redact.values[${i}]`, pattern, 'a RegExp');
    return false;
  });
  const defaultQueryParameters = valid.defaultQueryParameters === undefined ? true : reader.boolean('redact.defaultQueryParameters', valid.defaultQueryParameters);
  const defaultValues = valid.defaultValues === undefined ? true : reader.boolean('redact.defaultValues', valid.defaultValues);
  const replacement = valid.replacement === undefined ? DEFAULTS.redactReplacement : valid.replacement;
  if (replacement !== null && typeof replacement !== 'string') reader.problem('redact.replacement', replacement, 'a string, or null to remove');
  const names = [...SEMCONV_REDACTED_QUERY_PARAMETERS, ...(defaultQueryParameters ? DEFAULT_REDACTED_QUERY_PARAMETERS : []), ...queryParameters];
  const strict = privacy === 'strict';
  return {
    matchesKey: (key) => matchers.some((matches) => matches(key)),
    hasKeyRules: matchers.length > 0,
    queryParameters: new Set(names.map((name) => name.toLowerCase())),
    replacement: typeof replacement === 'string' || replacement === null ? replacement : DEFAULTS.redactReplacement,
    scrubber: createValueScrubber(values, defaultValues || strict, typeof replacement === 'string' ? replacement : DEFAULTS.redactReplacement),
    scrubAllStrings: strict,
    dropAttributes: strict ? [ATTR.userAgent] : [],
    clientAddress,
  };
}

/** The span limit variables the OpenTelemetry specification defines, the span-specific ones winning. */
function resolveSpanLimits(reader: EnvReader): SpanLimits {
  const limit = (...variables: string[]) => {
    for (const variable of variables) {
      const value = reader.intAtLeast(variable, undefined, variable, undefined, 0);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const limits: SpanLimits = {
    attributeCountLimit: limit('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT'),
    attributeValueLengthLimit: limit('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
    eventCountLimit: limit('OTEL_SPAN_EVENT_COUNT_LIMIT'),
    linkCountLimit: limit('OTEL_SPAN_LINK_COUNT_LIMIT'),
    attributePerEventCountLimit: limit('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT'),
    attributePerLinkCountLimit: limit('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT'),
  };
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}

function resolveClientAddress(options: OtelModuleOptions, privacy: PrivacyPreset, reader: EnvReader): ClientAddressMode {
  return (
    reader.oneOf('clientAddress', options.clientAddress, CLIENT_ADDRESS_MODES) ??
    reader.envOneOf('OTEL_NESTJS_TRACING_CLIENT_ADDRESS', CLIENT_ADDRESS_MODES) ??
    (privacy === 'strict' ? 'truncated' : 'full')
  );
}

function resolveHeaderNames(source: string, given: unknown, reader: EnvReader): string[] {
  if (given === undefined) return [];
  if (!Array.isArray(given) || given.some((name) => typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))) {
    reader.problem(source, given, 'a list of header names');
    return [];
  }
  return [...new Set(given.map((name: string) => name.toLowerCase()))];
}

function resolveBaggageHosts(given: BaggageOptions['allowedHosts'], strict: boolean, reader: EnvReader): (host: string) => boolean {
  if (given === undefined) return strict ? () => false : () => true;
  if (typeof given === 'function') return given;
  if (!Array.isArray(given)) {
    reader.problem('baggage.allowedHosts', given, 'a list of host names, globs or RegExps, or a function');
    return () => !strict;
  }
  const rules = given.map((rule, i) => {
    if (rule instanceof RegExp) return (host: string) => rule.test(host);
    if (typeof rule === 'string' && rule.length > 0) return rule.includes('*') ? globMatcher(rule.toLowerCase()) : (host: string) => host === rule.toLowerCase();
    reader.problem(`baggage.allowedHosts[${i}]`, rule, 'a host name, a glob such as "*.example.com", or a RegExp');
    return () => false;
  });
  return (host) => rules.some((allows) => allows(host.toLowerCase()));
}

function compileKeyMatcher(key: RedactKey, source: string, reader: EnvReader): (key: string) => boolean {
  if (key instanceof RegExp) return (k) => key.test(k);
  if (typeof key !== 'string' || key.length === 0) {
    reader.problem(source, key, 'an attribute key such as "user.email", a glob such as "http.request.header.*", or a RegExp');
    return () => false;
  }
  return key.includes('*') ? globMatcher(key) : (k) => k === key;
}

function globMatcher(glob: string): (text: string) => boolean {
  // `/health*`, the default, and most rules are a prefix: no regular expression to run per request.
  const star = glob.indexOf('*');
  if (star === glob.length - 1) {
    const prefix = glob.slice(0, star);
    return (text) => text.startsWith(prefix);
  }
  const pattern = new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`);
  return (text) => pattern.test(text);
}

function compileIgnoreRule(rule: IgnoreRule, source: string, reader: EnvReader) {
  if (typeof rule === 'function') return rule;
  if (rule instanceof RegExp) return (path: string) => rule.test(path);
  if (typeof rule !== 'string' || !rule.startsWith('/')) {
    reader.problem(source, rule, 'a path starting with "/", a glob such as "/health*", a RegExp or a function');
    return () => false;
  }
  if (!rule.includes('*')) return (path: string) => path === rule;
  return globMatcher(rule);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value instanceof RegExp) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Reads and checks single values, recording problems instead of throwing so that one error can list them all. */
class EnvReader {
  constructor(
    private readonly variables: Env,
    private readonly problems: ConfigProblem[],
  ) {}

  problem(source: string, value: unknown, expected: string): void {
    this.problems.push({ source, value, expected });
  }

  env(name: string): string | undefined {
    const value = this.variables[name]?.trim();
    return value ? value : undefined;
  }

  envList(name: string): string[] | undefined {
    const value = this.env(name);
    return value?.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean);
  }

  envBoolean(name: string, fallback: boolean): boolean {
    const value = this.env(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.problem(name, this.variables[name], 'true or false');
    return fallback;
  }

  envOneOf<T extends string>(name: string, accepted: readonly T[]): T | undefined {
    const value = this.env(name)?.toLowerCase();
    if (value === undefined) return undefined;
    if ((accepted as readonly string[]).includes(value)) return value as T;
    this.problem(name, this.variables[name], `one of ${accepted.join(', ')}`);
    return undefined;
  }

  oneOf<T extends string>(source: string, value: unknown, accepted: readonly T[]): T | undefined {
    if (value === undefined) return undefined;
    if ((accepted as readonly unknown[]).includes(value)) return value as T;
    this.problem(source, value, `one of ${accepted.join(', ')}`);
    return undefined;
  }

  names<T extends string>(source: string, names: readonly unknown[], accepted: readonly T[]): T[] {
    const valid: T[] = [];
    for (const name of names) {
      if ((accepted as readonly unknown[]).includes(name)) valid.push(name as T);
      else this.problem(source, name, `one of ${accepted.join(', ')}`);
    }
    return valid;
  }

  boolean(source: string, value: unknown): boolean {
    if (typeof value === 'boolean') return value;
    this.problem(source, value, 'true or false');
    return true;
  }

  nonEmptyString(source: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.problem(source, value, 'a non-empty string');
    return undefined;
  }

  ratio(source: string, value: unknown): number | undefined {
    const ratio = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof ratio === 'number' && ratio >= 0 && ratio <= 1) return ratio;
    this.problem(source, value, 'a number from 0 to 1');
    return undefined;
  }

  url(source: string, value: string): string {
    try {
      const url = new URL(value);
      if (url.protocol === 'http:' || url.protocol === 'https:') return value;
    } catch {
      // reported below with the same message as a wrong scheme
    }
    this.problem(source, value, 'an http:// or https:// URL, such as http://localhost:4317');
    return value;
  }

  nonNegativeInt<T extends number | undefined>(source: string, value: unknown, variable: string | undefined, fallback: T) {
    return this.intAtLeast(source, value, variable, fallback, 0);
  }

  /** An option wins over its variable; a bad option is reported under its own name, a bad variable under the variable's. */
  intAtLeast<T extends number | undefined>(
    source: string,
    value: unknown,
    variable: string | undefined,
    fallback: T,
    min: number,
  ): number | T {
    const raw = value ?? (variable ? this.env(variable) : undefined);
    if (raw === undefined) return fallback;
    const name = value !== undefined ? source : (variable ?? source);
    const parsed = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof parsed === 'number' && Number.isInteger(parsed) && parsed >= min) return parsed;
    this.problem(name, raw, min === 0 ? 'a whole number of 0 or more' : `a whole number of ${min} or more`);
    return fallback;
  }

  /** `key=value,key2=value2` with percent-encoded values, as `OTEL_RESOURCE_ATTRIBUTES` and `*_HEADERS` use. */
  keyValueList(name: string): Record<string, string> {
    const value = this.env(name);
    const result: Record<string, string> = {};
    if (value === undefined) return result;
    for (const pair of value.split(',')) {
      if (pair.trim() === '') continue;
      const at = pair.indexOf('=');
      const key = at > 0 ? pair.slice(0, at).trim() : '';
      if (!key) {
        this.problem(name, this.variables[name], 'a comma-separated list of key=value pairs');
        return {};
      }
      result[key] = decodePercent(pair.slice(at + 1).trim());
    }
    return result;
  }
}

function decodePercent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
