import { context, type Tracer } from '@opentelemetry/api';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ResolvedOtelOptions } from '../otel.options.js';
import { nameRequestRoute, requestTrace, traceRequest } from './http-request-trace.js';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

const WRAPPED = Symbol('nestjs-tracing.wrapped-listener');

/**
 * Makes every request the server receives run inside its own SERVER span, before any middleware, guard or
 * router sees it. Wrapping the server's own `request` listeners works for Express and Fastify alike, needs no
 * patch of `http` (so it works in every start order) and costs one span per request.
 */
export function traceHttpServer(
  server: Pick<Server, 'listeners' | 'removeListener' | 'on'>,
  tracer: () => Tracer | undefined,
  options: ResolvedOtelOptions['interceptor'],
): void {
  for (const listener of server.listeners('request') as (RequestListener & { [WRAPPED]?: true })[]) {
    if (listener[WRAPPED]) continue;
    const traced = function (this: unknown, request: IncomingMessage, response: ServerResponse): void {
      const active = tracer();
      const state = active ? traceRequest(request, response, active, options) : null;
      if (!state) return listener.call(this, request, response);
      context.with(state.context, callListener, undefined, listener, this, request, response);
    } as RequestListener & { [WRAPPED]?: true };
    traced[WRAPPED] = true;
    server.removeListener('request', listener);
    server.on('request', traced);
  }
}

/** The part of a Fastify instance the route hook needs. */
interface FastifyHooks {
  addHook(
    name: 'onRequest',
    hook: (request: { raw: IncomingMessage; routeOptions?: { url?: string } }, reply: unknown, done: () => void) => void,
  ): unknown;
}

/**
 * Names server spans after the Fastify route as soon as Fastify has matched it, so that requests a guard
 * rejects (they never reach an interceptor) still carry their route, as Express requests do through `req.route`.
 */
export function nameFastifyRoutes(instance: FastifyHooks): void {
  instance.addHook('onRequest', (request, _reply, done) => {
    const state = requestTrace(request.raw);
    if (state) nameRequestRoute(state, request.routeOptions?.url);
    done();
  });
}

/**
 * Calls the original listener. The context API would `bind` a listener given with a `this`, and an Express app
 * is a function whose `bind` is its route method for the HTTP BIND verb; this indirection avoids both that and a
 * closure per request.
 */
function callListener(listener: RequestListener, self: unknown, request: IncomingMessage, response: ServerResponse): void {
  listener.call(self, request, response);
}
