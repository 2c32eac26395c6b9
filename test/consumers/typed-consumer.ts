// Type-checked against the packed declarations, once as an ES module and once as CommonJS.
import { Injectable, Module } from '@nestjs/common';
import { OtelConfigError, OtelModule, Span, TraceService, TracingInterceptor, type OtelModuleOptions } from 'nestjs-tracing';
import { OtelTestingModule, SpanRecorder } from 'nestjs-tracing/testing';

const options: OtelModuleOptions = {
  serviceName: 'typed',
  exporter: ['otlp', 'console'],
  otlp: { endpoint: 'http://localhost:4317', protocol: 'grpc' },
  sampler: 0.5,
  propagators: ['tracecontext', 'baggage', 'b3'],
  redact: { keys: ['user.email', /^enduser\./], queryParameters: ['token'] },
  interceptor: { ignore: ['/health*', /^\/metrics/], requestAttributes: (req) => ({ 'tenant.id': String(req.headers['x-tenant'] ?? '') }) },
};

@Module({ imports: [OtelModule.forRoot(options)] })
export class AppModule {}

export const isConfigError = (error: unknown): boolean => error instanceof OtelConfigError && error.problems.length > 0;
export const interceptorType = TracingInterceptor;
// @ts-expect-error an unknown exporter name is a type error, not only a start-up error
export const bad: OtelModuleOptions = { exporter: 'jaeger' };

@Injectable()
export class Scorer {
  constructor(private readonly traces: TraceService) {}

  @Span()
  async score(id: string): Promise<number> {
    return this.traces.withSpan('score.inner', { attributes: { 'candidate.id': id } }, async () => id.length);
  }
}

export const testing = OtelTestingModule.forRoot({ serviceName: 'typed-test' });
export const outline = (recorder: SpanRecorder): string[] => recorder.outline(recorder.spans[0]);
