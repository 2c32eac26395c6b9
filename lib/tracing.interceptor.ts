import { Inject, Injectable, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { tap, type Observable } from 'rxjs';
import { graphqlAdapter } from './adapters/graphql.adapter.js';
import { isTracedHandler } from './handlers/handler-tracing.js';
import { httpAdapter } from './adapters/http.adapter.js';
import { rpcAdapter } from './adapters/rpc.adapter.js';
import { wsAdapter } from './adapters/ws.adapter.js';
import type { TransportAdapter } from './adapters/transport-adapter.js';
import { OTEL_RESOLVED_OPTIONS } from './otel.constants.js';
import type { ResolvedOtelOptions } from './otel.options.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';
import { handlerAttributes, madeByNestCoreInstrumentation, observeInSpan } from './span-runner.js';

const ADAPTERS: Partial<Record<string, TransportAdapter>> = {
  http: httpAdapter,
  rpc: rpcAdapter,
  ws: wsAdapter,
  graphql: graphqlAdapter,
};

/**
 * Gives a handler invocation an INTERNAL span named `Controller.handler`, under the entry span of its transport
 * (opened here for messages, WebSocket events and GraphQL operations). `OtelModule` registers it globally only
 * for GraphQL resolvers: routes, messages and gateway events get their spans from their pipelines, which costs
 * less and reaches hybrid microservices too. With `interceptor.global: false`, add it with
 * `@UseInterceptors(TracingInterceptor)` where wanted.
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  private readonly runtime = TracingRuntime.get();

  constructor(@Optional() @Inject(OTEL_RESOLVED_OPTIONS) private readonly options?: ResolvedOtelOptions) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.options;
    const adapter = ADAPTERS[execution.getType()];
    if (!options || !adapter || !this.runtime.running) return next.handle();
    // Routes, messages and gateway events whose pipeline already makes the span.
    if (isTracedHandler(execution.getHandler())) return next.handle();
    const tracer = this.runtime.tracer;
    const entry = adapter.enter(execution, tracer, options);
    if (!entry) return next.handle();
    // On Nest below 12, instrumentation-nestjs-core already wraps this handler in spans of its own.
    if (madeByNestCoreInstrumentation(trace.getSpan(entry.parent))) return next.handle();
    const controller = execution.getClass().name;
    const callback = execution.getHandler().name;
    const span = tracer.startSpan(
      `${controller}.${callback}`,
      {
        attributes: { ...handlerAttributes(controller, callback, execution.getType()), ...entry.attributes },
      },
      entry.parent,
    );
    const failed = entry.failed;
    const handle = failed ? () => next.handle().pipe(tap({ error: failed })) : () => next.handle();
    const handled = observeInSpan(span, trace.setSpan(entry.parent, span), handle);
    return entry.entrySpan ? observeInSpan(entry.entrySpan, entry.parent, () => handled) : handled;
  }
}
