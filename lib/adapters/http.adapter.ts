import type { ExecutionContext } from '@nestjs/common';
import { context, trace, type Tracer } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { expressRoute, nameRequestRoute, requestTrace, traceRequest } from '../http/http-request-trace.js';
import { isTracedHandler } from '../handlers/handler-tracing.js';
import type { ResolvedOtelOptions } from '../otel.options.js';
import type { HandlerEntry, TransportAdapter } from './transport-adapter.js';

/** A request as Express (the Node request itself) or Fastify (a wrapper with `raw`) hands it to Nest. */
type AdapterRequest = IncomingMessage & { raw?: IncomingMessage; routeOptions?: { url?: string } };
type AdapterResponse = ServerResponse & { raw?: ServerResponse };

/**
 * HTTP on Express and Fastify. The server span normally exists already (opened where the server received the
 * request); when it does not, as for an interceptor used without the module's server hook, it is opened here.
 */
export const httpAdapter: TransportAdapter = {
  enter(execution: ExecutionContext, tracer: Tracer, options: ResolvedOtelOptions): HandlerEntry | undefined {
    // A handler whose pipeline makes its own span.
    if (isTracedHandler(execution.getHandler())) return undefined;
    const http = execution.switchToHttp();
    const request = http.getRequest<AdapterRequest>();
    const raw = request.raw ?? request;
    const found = requestTrace(raw);
    const state = found === undefined ? traceRequest(raw, rawResponse(http.getResponse()), tracer, options.interceptor) : found;
    if (state === null || state.handled) return undefined;
    state.handled = true;
    nameRequestRoute(state, expressRoute(request) ?? request.routeOptions?.url);
    // Code that lost the async context on the way here (stream callbacks) still gets the right parent.
    const active = context.active();
    return { parent: trace.getSpan(active) ? active : state.context };
  },
};

function rawResponse(response: AdapterResponse): ServerResponse {
  return response.raw ?? response;
}
