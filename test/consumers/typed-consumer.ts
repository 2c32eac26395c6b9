// Type-checked against the packed declarations, once as an ES module and once as CommonJS.
import { Module } from '@nestjs/common';
import { OtelConfigError, OtelModule, TracingInterceptor, type OtelModuleOptions } from 'nestjs-tracing';

const options: OtelModuleOptions = {
  serviceName: 'typed',
  exporter: ['otlp', 'console'],
  otlp: { endpoint: 'http://localhost:4317', protocol: 'grpc' },
  sampler: 0.5,
  propagators: ['tracecontext', 'baggage', 'b3'],
  interceptor: { ignore: ['/health*', /^\/metrics/], requestAttributes: (req) => ({ 'tenant.id': String(req.headers['x-tenant'] ?? '') }) },
};

@Module({ imports: [OtelModule.forRoot(options)] })
export class AppModule {}

export const isConfigError = (error: unknown): boolean => error instanceof OtelConfigError && error.problems.length > 0;
export const interceptorType = TracingInterceptor;
// @ts-expect-error an unknown exporter name is a type error, not only a start-up error
export const bad: OtelModuleOptions = { exporter: 'zipkin' };
