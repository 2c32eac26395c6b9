import { trace, type Tracer } from '@opentelemetry/api';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ResolvedOtelOptions } from '../otel.options.js';
import type { ContextHeaderTest } from '../propagation/context-headers.js';
import { nameRequestRoute, requestTrace, traceRequest } from './http-request-trace.js';
import { activeContext, runInContext4 } from '../sdk/context-manager.js';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** What the server spans need of the running SDK. */
export interface ServerTracing {
  readonly tracer: Tracer;
  /** Whether a request carries headers the registered propagator extracts from, when known (see `traceRequest`). */
  readonly carriesContext: ContextHeaderTest | undefined;
}

const WRAPPED = Symbol('nestjs-tracing.wrapped-listener');

/**
 * Makes every request the server receives run inside its own SERVER span, before any middleware, guard or
 * router sees it. Wrapping the server's own `request` listeners works for Express and Fastify alike, needs no
 * patch of `http` (so it works in every start order) and costs one span per request.
 */
export function traceHttpServer(
  server: Pick<Server, 'listeners' | 'removeListener' | 'on'>,
  tracing: () => ServerTracing | undefined,
  options: ResolvedOtelOptions['interceptor'],
): void {
  for (const listener of server.listeners('request') as (RequestListener & { [WRAPPED]?: true })[]) {
    if (listener[WRAPPED]) continue;
    const traced = function (this: unknown, request: IncomingMessage, response: ServerResponse): void {
      const active = tracing();
      const state = active ? traceRequest(request, response, active.tracer, options, active.carriesContext) : null;
      if (!state) return listener.call(this, request, response);
      runInContext4(state.context, callListener, listener, this, request, response);
    } as RequestListener & { [WRAPPED]?: true };
    traced[WRAPPED] = true;
    server.removeListener('request', listener);
    server.on('request', traced);
  }
}

/** Route registration methods of Nest's HTTP adapters (Express and Fastify), by the HTTP verbs Nest maps. */
const ROUTE_REGISTRATIONS = [
  'get', 'post', 'put', 'delete', 'patch', 'options', 'head', 'all', 'search',
  'propfind', 'proppatch', 'mkcol', 'copy', 'move', 'lock', 'unlock',
] as const;

type RouteHandlerFn = (this: unknown, request: { raw?: IncomingMessage }, response: unknown, next?: unknown) => unknown;
const RESTORING = Symbol('nestjs-tracing.restoring-route');

/**
 * Body parsers resume the request from stream events, which run outside the request's context, so a POST
 * reached its route with no active span. Wrapping the route handlers Nest registers puts the request's context
 * back at the route, before guards, interceptors, pipes and the handler. It changes nothing on the request
 * object, so requests keep one shape whether sampled or not. Call before Nest registers its routes.
 */
export function restoreContextAtRoutes(adapter: object): void {
  const target = adapter as Record<string, unknown> & { [RESTORING]?: true };
  if (target[RESTORING]) return;
  target[RESTORING] = true;
  for (const name of ROUTE_REGISTRATIONS) {
    const register = target[name];
    if (typeof register !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      const last = args.length - 1;
      if (typeof args[last] === 'function') args[last] = inRequestContext(args[last] as RouteHandlerFn);
      return (register as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

function inRequestContext(handler: RouteHandlerFn): RouteHandlerFn {
  return function (this: unknown, request, response, next) {
    const state = requestTrace((request.raw ?? request) as IncomingMessage);
    if (!state || trace.getSpan(activeContext()) === state.span) return handler.call(this, request, response, next);
    return runInContext4(state.context, callRoute, handler, this, request, { response, next });
  };
}

function callRoute(handler: RouteHandlerFn, self: unknown, request: { raw?: IncomingMessage }, rest: { response: unknown; next: unknown }): unknown {
  return handler.call(self, request, rest.response, rest.next);
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
 * Only recording spans are named: Fastify's `routeOptions` getter builds a new object of the route's options on
 * every read, which an unsampled request, whose name nobody sees, should not pay for.
 */
export function nameFastifyRoutes(instance: FastifyHooks): void {
  instance.addHook('onRequest', (request, _reply, done) => {
    const state = requestTrace(request.raw);
    if (state && state.span.isRecording()) nameRequestRoute(state, request.routeOptions?.url);
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
