import { AlwaysOnSampler, InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { IncomingMessage } from 'node:http';
import { OtelConfigError, resolveOtelOptions, type OtelModuleOptions } from './otel.options.js';

const resolve = (options: OtelModuleOptions = {}, env: Record<string, string> = {}) => resolveOtelOptions(options, env);

function problemsOf(options: OtelModuleOptions, env: Record<string, string> = {}) {
  try {
    resolve(options, env);
  } catch (error) {
    expect(error).toBeInstanceOf(OtelConfigError);
    return (error as OtelConfigError).problems;
  }
  throw new Error('expected an OtelConfigError');
}

describe('resolveOtelOptions: defaults', () => {
  it('exports over OTLP/gRPC to localhost:4317 with ParentBased(ratio 1) and W3C propagation', () => {
    const resolved = resolve();
    expect(resolved.enabled).toBe(true);
    expect(resolved.exporters).toEqual([
      { kind: 'otlp', protocol: 'grpc', url: 'http://localhost:4317', headers: {}, timeoutMillis: 10000, compression: 'none', initialBackoffMillis: 500, maxBackoffMillis: 5000, reportIntervalMillis: 10000, sendFrom: 'worker' },
    ]);
    expect(resolved.sampler).toEqual({ kind: 'parentbased_traceidratio', ratio: 1 });
    expect(resolved.propagators).toEqual(['tracecontext', 'baggage']);
    expect(resolved.resourceDetectors).toEqual(['host', 'process']);
    expect(resolved.shutdownTimeoutMillis).toBe(5000);
    expect(resolved.batch).toEqual({ maxQueueSize: 8192, maxExportBatchSize: 2048, scheduledDelayMillis: 5000, exportTimeoutMillis: 30000, maxQueueBytes: 16 * 1024 * 1024, otlpMaxQueueSize: 32768 });
  });

  it('ignores /health and everything below it by default, and nothing else', () => {
    const { interceptor } = resolve();
    const request = {} as IncomingMessage;
    expect(interceptor.ignore('/health', request)).toBe(true);
    expect(interceptor.ignore('/healthz', request)).toBe(true);
    expect(interceptor.ignore('/health/ready', request)).toBe(true);
    expect(interceptor.ignore('/users/health', request)).toBe(false);
  });
});

describe('resolveOtelOptions: environment merging', () => {
  it('reads the service and resource from OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and NODE_ENV', () => {
    const resolved = resolve(
      {},
      { OTEL_SERVICE_NAME: 'billing', OTEL_RESOURCE_ATTRIBUTES: 'team=payments,region=eu%2Dwest', NODE_ENV: 'production' },
    );
    expect(resolved.resourceAttributes).toEqual({
      'service.name': 'billing',
      team: 'payments',
      region: 'eu-west',
      'deployment.environment.name': 'production',
    });
  });

  it('lets options win over the environment, and OTEL_RESOURCE_ATTRIBUTES win over NODE_ENV', () => {
    const env = {
      OTEL_SERVICE_NAME: 'from-env',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=canary',
      NODE_ENV: 'production',
      OTEL_TRACES_SAMPLER: 'always_off',
    };
    expect(resolve({}, env).resourceAttributes['deployment.environment.name']).toBe('canary');
    const resolved = resolve({ serviceName: 'from-code', environment: 'staging', serviceVersion: '2.0.1', sampler: 0.25 }, env);
    expect(resolved.resourceAttributes).toMatchObject({
      'service.name': 'from-code',
      'service.version': '2.0.1',
      'deployment.environment.name': 'staging',
    });
    expect(resolved.sampler).toEqual({ kind: 'parentbased_traceidratio', ratio: 0.25 });
  });

  it('builds the OTLP exporter from OTEL_EXPORTER_OTLP_* with the traces-specific variables winning', () => {
    const resolved = resolve(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc,x-team=core',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=traces',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      },
    );
    expect(resolved.exporters).toEqual([
      { kind: 'otlp', protocol: 'grpc', url: 'http://collector:4317', headers: { 'x-api-key': 'abc', 'x-team': 'traces' }, timeoutMillis: 2500, compression: 'none', initialBackoffMillis: 500, maxBackoffMillis: 5000, reportIntervalMillis: 10000, sendFrom: 'worker' },
    ]);
    const traces = resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4317', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4317' });
    expect(traces.exporters[0]).toMatchObject({ url: 'http://b:4317' });
  });

  it('appends /v1/traces to the generic endpoint for OTLP over HTTP, and uses the traces endpoint as is', () => {
    const generic = resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(generic.exporters[0]).toMatchObject({ protocol: 'http/protobuf', url: 'http://collector:4318/v1/traces' });
    const fallback = resolve({ otlp: { protocol: 'http/protobuf' } });
    expect(fallback.exporters[0]).toMatchObject({ url: 'http://localhost:4318/v1/traces' });
    const specific = resolve(
      {},
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://x.example/traces' },
    );
    expect(specific.exporters[0]).toMatchObject({ url: 'https://x.example/traces' });
  });

  it('compresses OTLP exports as the option, then OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, then OTEL_EXPORTER_OTLP_COMPRESSION say; none by default', () => {
    expect(resolve({}).exporters[0]).toMatchObject({ kind: 'otlp', compression: 'none' });
    expect(resolve({}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'GZIP' }).exporters[0]).toMatchObject({ compression: 'gzip' });
    expect(resolve({}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }).exporters[0]).toMatchObject({ compression: 'none' });
    expect(resolve({ otlp: { compression: 'gzip' } }, { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }).exporters[0]).toMatchObject({ compression: 'gzip' });
  });

  it('sends OTLP exports from a worker thread unless otlp.sendFrom says event-loop, and names a wrong value', () => {
    expect(resolve({}).exporters[0]).toMatchObject({ kind: 'otlp', sendFrom: 'worker' });
    expect(resolve({ otlp: { sendFrom: 'event-loop' } }).exporters[0]).toMatchObject({ sendFrom: 'event-loop' });
    expect(problemsOf({ otlp: { sendFrom: 'thread' as never } })[0]).toMatchObject({ source: 'otlp.sendFrom', value: 'thread' });
  });

  it('accepts several exporters, none, and an exporter instance', () => {
    expect(resolve({}, { OTEL_TRACES_EXPORTER: 'console,otlp' }).exporters.map((e) => e.kind)).toEqual(['console', 'otlp']);
    expect(resolve({}, { OTEL_TRACES_EXPORTER: 'none' }).exporters).toEqual([]);
    const exporter = new InMemorySpanExporter();
    expect(resolve({ exporter }, { OTEL_TRACES_EXPORTER: 'console' }).exporters).toEqual([{ kind: 'instance', exporter }]);
  });

  it('builds the Zipkin exporter from OTEL_EXPORTER_ZIPKIN_*, beside OTLP when both are named', () => {
    expect(resolve({}, { OTEL_TRACES_EXPORTER: 'zipkin' }).exporters).toEqual([
      { kind: 'zipkin', url: 'http://localhost:9411/api/v2/spans', headers: {}, timeoutMillis: 10000, sendFrom: 'worker' },
    ]);
    const both = resolve({}, { OTEL_TRACES_EXPORTER: 'otlp,zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://zipkin:9411/api/v2/spans', OTEL_EXPORTER_ZIPKIN_TIMEOUT: '2000' });
    expect(both.exporters.map((e) => e.kind)).toEqual(['otlp', 'zipkin']);
    expect(both.exporters[1]).toEqual({ kind: 'zipkin', url: 'http://zipkin:9411/api/v2/spans', headers: {}, timeoutMillis: 2000, sendFrom: 'worker' });
    const given = resolve({ exporter: ['zipkin'], zipkin: { endpoint: 'https://z.example/api/v2/spans', headers: { 'x-key': 'k' } } });
    expect(given.exporters[0]).toMatchObject({ url: 'https://z.example/api/v2/spans', headers: { 'x-key': 'k' } });
  });

  it('sends Zipkin exports from a worker thread unless zipkin.sendFrom says event-loop, and names a wrong value', () => {
    expect(resolve({ exporter: 'zipkin', zipkin: { sendFrom: 'event-loop' } }).exporters[0]).toMatchObject({ kind: 'zipkin', sendFrom: 'event-loop' });
    expect(problemsOf({ exporter: 'zipkin', zipkin: { sendFrom: 'thread' as never } })[0]).toMatchObject({ source: 'zipkin.sendFrom', value: 'thread' });
  });

  it('warns about legacy Jaeger agent variables when no OTLP endpoint is set, with the endpoint to use', () => {
    const agent = resolve({}, { JAEGER_AGENT_HOST: 'jaeger-agent', JAEGER_AGENT_PORT: '6831' });
    expect(agent.warnings).toHaveLength(1);
    expect(agent.warnings[0]).toContain('JAEGER_AGENT_HOST=jaeger-agent, JAEGER_AGENT_PORT=6831 are set');
    expect(agent.warnings[0]).toContain('spans go to http://localhost:4317');
    expect(agent.warnings[0]).toContain('set OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger-agent:4317');
    const collector = resolve({ otlp: { protocol: 'http/protobuf' } }, { JAEGER_ENDPOINT: 'http://jaeger-collector:14268/api/traces' });
    expect(collector.warnings[0]).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger-collector:4318');
    expect(resolve({}, { OTEL_EXPORTER_JAEGER_AGENT_HOST: 'j' }).warnings[0]).toContain('http://j:4317');
    expect(resolve({}, { JAEGER_AGENT_HOST: 'j', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://j:4317' }).warnings).toEqual([]);
    expect(resolve({ otlp: { endpoint: 'http://j:4317' } }, { JAEGER_AGENT_HOST: 'j' }).warnings).toEqual([]);
    expect(resolve({}, { JAEGER_AGENT_HOST: 'j', OTEL_TRACES_EXPORTER: 'zipkin' }).warnings).toEqual([]);
    expect(resolve({}, {}).warnings).toEqual([]);
  });

  it('switches default instrumentations off by name, from the option and the standard variables', () => {
    const on = (options: OtelModuleOptions, env: Record<string, string> = {}) => {
      const resolved = resolve(options, env);
      return (['http', 'undici', 'pg', 'ioredis', 'prisma'] as const).filter((name) => resolved.instrumentationEnabled(name));
    };
    expect(on({})).toEqual(['http', 'undici', 'pg', 'ioredis', 'prisma']);
    expect(on({ disabledInstrumentations: ['pg', 'prisma'] })).toEqual(['http', 'undici', 'ioredis']);
    expect(on({}, { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'undici, ioredis' })).toEqual(['http', 'pg', 'prisma']);
    expect(on({}, { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg' })).toEqual(['http', 'pg']);
    expect(on({ disabledInstrumentations: ['pg'] }, { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg' })).toEqual(['http']);
  });

  it('warns about instrumentation names it does not have in the variables, and rejects them in the option', () => {
    expect(resolve({}, { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'fs,pg' }).warnings).toEqual([
      expect.stringContaining('OTEL_NODE_DISABLED_INSTRUMENTATIONS names instrumentations this library does not have: fs'),
    ]);
    expect(problemsOf({ disabledInstrumentations: ['express' as never] })[0]).toMatchObject({ source: 'disabledInstrumentations', value: 'express' });
  });

  it('shrinks the default batch size to a smaller queue given alone', () => {
    expect(resolve({}, { OTEL_BSP_MAX_QUEUE_SIZE: '1000' }).batch).toMatchObject({ maxQueueSize: 1000, maxExportBatchSize: 1000, otlpMaxQueueSize: 1000 });
    // Unless a span count is asked for, the OTLP queue is bounded by its bytes.
    expect(resolve({ batch: { maxQueueBytes: 1024 * 1024 } }, {}).batch).toMatchObject({ maxQueueSize: 8192, otlpMaxQueueSize: 8192 });
    expect(resolve({ batch: { maxQueueBytes: 64 * 1024 * 1024 } }, {}).batch).toMatchObject({ otlpMaxQueueSize: 131072 });
  });

  it('reads OTEL_BSP_* and lets batch options win', () => {
    const resolved = resolve(
      { batch: { maxQueueSize: 4096 } },
      { OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50', OTEL_BSP_EXPORT_TIMEOUT: '1000' },
    );
    expect(resolved.batch).toEqual({ maxQueueSize: 4096, maxExportBatchSize: 50, scheduledDelayMillis: 200, exportTimeoutMillis: 1000, maxQueueBytes: 16 * 1024 * 1024, otlpMaxQueueSize: 4096 });
  });

  it('reads the sampler from OTEL_TRACES_SAMPLER(_ARG), and the legacy OTEL_SAMPLING_RATIO', () => {
    expect(resolve({}, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.3' }).sampler).toEqual({
      kind: 'traceidratio',
      ratio: 0.3,
    });
    expect(resolve({}, { OTEL_TRACES_SAMPLER: 'parentbased_always_off' }).sampler).toEqual({ kind: 'parentbased_always_off' });
    expect(resolve({}, { OTEL_SAMPLING_RATIO: '0.1' }).sampler).toEqual({ kind: 'parentbased_traceidratio', ratio: 0.1 });
    const sampler = new AlwaysOnSampler();
    expect(resolve({ sampler }).sampler).toEqual({ kind: 'instance', sampler });
  });

  it('reads propagators from OTEL_PROPAGATORS, case-insensitively', () => {
    expect(resolve({}, { OTEL_PROPAGATORS: 'B3Multi, jaeger' }).propagators).toEqual(['b3multi', 'jaeger']);
    expect(resolve({ propagators: ['b3'] }, { OTEL_PROPAGATORS: 'jaeger' }).propagators).toEqual(['b3']);
  });

  it('turns everything off with OTEL_SDK_DISABLED=true unless enabled is given', () => {
    expect(resolve({}, { OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    expect(resolve({}, { OTEL_SDK_DISABLED: 'FALSE' }).enabled).toBe(true);
    expect(resolve({ enabled: true }, { OTEL_SDK_DISABLED: 'true' }).enabled).toBe(true);
    expect(resolve({ enabled: false }).enabled).toBe(false);
  });

  it('matches a trailing-star glob as a literal prefix, and other globs star by star', () => {
    const { interceptor } = resolve({ interceptor: { ignore: ['/api.v1*', '/a*b*c'] } });
    const request = { headers: {} } as IncomingMessage;
    expect(interceptor.ignore('/api.v1/users', request)).toBe(true);
    expect(interceptor.ignore('/api.v1', request)).toBe(true);
    expect(interceptor.ignore('/apixv1', request)).toBe(false);
    expect(interceptor.ignore('/a-x-b-y-c', request)).toBe(true);
    expect(interceptor.ignore('/a-x-c', request)).toBe(false);
  });

  it('compiles ignore rules: exact paths, globs, RegExps and predicates', () => {
    const request = { headers: { 'x-probe': '1' } } as unknown as IncomingMessage;
    const { interceptor } = resolve({
      interceptor: { ignore: ['/metrics', '/internal/*/status', /^\/ready$/, (_path, req) => req.headers['x-probe'] === '1'] },
    });
    expect(interceptor.ignore('/metrics', {} as IncomingMessage)).toBe(true);
    expect(interceptor.ignore('/metrics/x', { headers: {} } as IncomingMessage)).toBe(false);
    expect(interceptor.ignore('/internal/db/status', { headers: {} } as IncomingMessage)).toBe(true);
    expect(interceptor.ignore('/ready', { headers: {} } as IncomingMessage)).toBe(true);
    expect(interceptor.ignore('/orders', request)).toBe(true);
    expect(resolve({ interceptor: { ignore: [] } }).interceptor.hasIgnoreRules).toBe(false);
  });
});

describe('resolveOtelOptions: validation', () => {
  it.each([
    [{ sampler: 1.5 }, {}, 'sampler', 1.5, 'a number from 0 to 1'],
    [{ sampler: -0.1 }, {}, 'sampler', -0.1, 'a number from 0 to 1'],
    [{}, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'abc' }, 'OTEL_TRACES_SAMPLER_ARG', 'abc', 'a number from 0 to 1'],
    [{}, { OTEL_SAMPLING_RATIO: '1.5' }, 'OTEL_SAMPLING_RATIO', '1.5', 'a number from 0 to 1'],
    [{}, { OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER', 'sometimes', 'one of always_on, always_off'],
    [{ exporter: 'datadog' as never }, {}, 'exporter', 'datadog', 'one of otlp, zipkin, console, tree, none'],
    [{}, { OTEL_TRACES_EXPORTER: 'otlp,jaeger' }, 'OTEL_TRACES_EXPORTER', 'jaeger', 'OTEL_EXPORTER_OTLP_ENDPOINT=http://<jaeger host>:4317'],
    [{ exporter: 'jaeger' as never }, {}, 'exporter', 'jaeger', "exporter: 'otlp'"],
    [{ exporter: 'zipkin', zipkin: { endpoint: 'zipkin:9411' } }, {}, 'zipkin.endpoint', 'zipkin:9411', 'an http:// or https:// URL'],
    [{}, { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_TIMEOUT: '0' }, 'OTEL_EXPORTER_ZIPKIN_TIMEOUT', '0', 'a whole number of 1 or more'],
    [{ propagators: ['w3c' as never] }, {}, 'propagators', 'w3c', 'one of tracecontext, baggage, b3, b3multi, jaeger, none'],
    [{}, { OTEL_PROPAGATORS: 'tracecontext,xray' }, 'OTEL_PROPAGATORS', 'xray', 'one of tracecontext'],
    [{ otlp: { endpoint: 'localhost:4317' } }, {}, 'otlp.endpoint', 'localhost:4317', 'an http:// or https:// URL'],
    [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url', 'an http:// or https:// URL'],
    [{ otlp: { protocol: 'http/json' as never } }, {}, 'otlp.protocol', 'http/json', 'one of grpc, http/protobuf'],
    [{}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' }, 'OTEL_EXPORTER_OTLP_PROTOCOL', 'udp', 'one of grpc, http/protobuf'],
    [{ otlp: { compression: 'zstd' as never } }, {}, 'otlp.compression', 'zstd', 'one of gzip, none'],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'deflate' }, 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'deflate', 'one of gzip, none'],
    [{ shutdownTimeoutMillis: -1 }, {}, 'shutdownTimeoutMillis', -1, 'a whole number of 0 or more'],
    [{ otlp: { timeoutMillis: 1.5 } }, {}, 'otlp.timeoutMillis', 1.5, 'a whole number of 0 or more'],
    [{}, { OTEL_EXPORTER_OTLP_TIMEOUT: '-5' }, 'OTEL_EXPORTER_OTLP_TIMEOUT', '-5', 'a whole number of 0 or more'],
    [{ batch: { maxQueueSize: 0 } }, {}, 'batch.maxQueueSize', 0, 'a whole number of 1 or more'],
    [{}, { OTEL_BSP_SCHEDULE_DELAY: 'soon' }, 'OTEL_BSP_SCHEDULE_DELAY', 'soon', 'a whole number of 0 or more'],
    [{ batch: { maxQueueSize: 10, maxExportBatchSize: 20 } }, {}, 'batch.maxExportBatchSize', 20, 'at most maxQueueSize (10)'],
    [{ otlp: { retry: { initialBackoffMillis: 0 } } }, {}, 'otlp.retry.initialBackoffMillis', 0, 'a whole number of 1 or more'],
    [{ otlp: { reportIntervalMillis: 5 } }, {}, 'otlp.reportIntervalMillis', 5, 'a whole number of 100 or more'],
    [{ batch: { maxQueueBytes: 10 } }, {}, 'batch.maxQueueBytes', 10, 'a whole number of 1024 or more'],
    [{}, { OTEL_SDK_DISABLED: 'maybe' }, 'OTEL_SDK_DISABLED', 'maybe', 'true or false'],
    [{}, { OTEL_RESOURCE_ATTRIBUTES: 'team' }, 'OTEL_RESOURCE_ATTRIBUTES', 'team', 'key=value pairs'],
    [{}, { OTEL_EXPORTER_OTLP_HEADERS: '=secret' }, 'OTEL_EXPORTER_OTLP_HEADERS', '=secret', 'key=value pairs'],
    [{}, { OTEL_NODE_RESOURCE_DETECTORS: 'host,gcp' }, 'OTEL_NODE_RESOURCE_DETECTORS', 'gcp', 'one of host, process, os'],
    [{ serviceName: '' }, {}, 'serviceName', '', 'a non-empty string'],
    [{ resourceAttributes: { team: { nested: true } as never } }, {}, 'resourceAttributes.team', { nested: true }, 'a string, number'],
    [{ interceptor: { ignore: ['health'] } }, {}, 'interceptor.ignore[0]', 'health', 'a path starting with "/"'],
    [{ interceptor: { graphqlResolvers: 'some' as never } }, {}, 'interceptor.graphqlResolvers', 'some', '"root" or "all"'],
    [{ interceptor: { enhancerSpans: ['guards', 'filters'] as never } }, {}, 'interceptor.enhancerSpans', ['guards', 'filters'], 'a list of "guards", "pipes" and "interceptors"'],
    [{ redact: { queryParameters: [''] } }, {}, 'redact.queryParameters[0]', '', 'a query parameter name'],
    [{ redact: 'user.email' as never }, {}, 'redact', 'user.email', 'a list of attribute keys'],
  ] as const)('rejects %j %j: names %s, its value and what is accepted', (options, env, source, value, expected) => {
    const problems = problemsOf(options as OtelModuleOptions, env as Record<string, string>);
    expect(problems).toHaveLength(1);
    expect(problems[0].source).toBe(source);
    expect(problems[0].value).toEqual(value);
    expect(problems[0].expected).toContain(expected);
  });

  it('reports every bad value in one error whose message names them', () => {
    const run = () => resolve({ sampler: 2 }, { OTEL_PROPAGATORS: 'xray', OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' });
    expect(run).toThrow(OtelConfigError);
    expect(run).toThrow(/sampler=2: expected a number from 0 to 1/);
    expect(run).toThrow(/OTEL_PROPAGATORS="xray": expected one of tracecontext/);
    expect(run).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT="ftp:\/\/x": expected an http:\/\/ or https:\/\/ URL/);
  });

  it('does not read variables that options override, so a bad variable behind a given option is not an error', () => {
    expect(() => resolve({ sampler: 0.5 }, { OTEL_TRACES_SAMPLER_ARG: 'abc', OTEL_TRACES_SAMPLER: 'traceidratio' })).not.toThrow();
  });
});
