import type { ExecutionContext } from '@nestjs/common';
import { context, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import { nameRequestRoute, requestTrace, type HttpRequestTrace } from '../http/http-request-trace.js';
import { ATTR } from '../otel.constants.js';
import type { ResolvedOtelOptions } from '../otel.options.js';
import { markFailure, recordFailure } from '../span-runner.js';
import type { HandlerEntry, TransportAdapter } from './transport-adapter.js';

/** What the adapter reads of GraphQL's `GraphQLResolveInfo`, without depending on `graphql`. */
interface ResolveInfo {
  fieldName: string;
  parentType?: { name?: string };
  path?: ResolvePath;
  operation?: { operation?: string; name?: { value?: string } };
}

interface ResolvePath {
  key: string | number;
  prev?: ResolvePath;
}

/** One operation of one request: its span, in the context resolvers run in. */
interface OperationTrace {
  readonly span: Span;
  readonly context: Context;
}

/** Keyed by the per-request GraphQL context object, which every resolver of one operation shares. */
const operations = new WeakMap<object, OperationTrace>();

/**
 * GraphQL resolvers (`@nestjs/graphql`). Each operation gets a span named `query GetUser` under the HTTP server
 * span, which lasts as long as the request. A resolver's failure is recorded on the operation span and its
 * `error.type` on the server span, and both are marked ERROR when it is a server-side failure, since GraphQL
 * answers 200 with `errors` either way. Root fields get a handler span each, nested fields only when
 * `interceptor.graphqlResolvers` is `'all'`.
 */
export const graphqlAdapter: TransportAdapter = {
  enter(execution: ExecutionContext, tracer: Tracer, options: ResolvedOtelOptions): HandlerEntry | undefined {
    const graphqlContext = execution.getArgByIndex<object | undefined>(2);
    const info = execution.getArgByIndex<ResolveInfo | undefined>(3);
    if (!info || !graphqlContext || typeof graphqlContext !== 'object') return undefined;
    const isRootField = info.path?.prev === undefined;
    if (!isRootField && options.interceptor.graphqlResolvers !== 'all') return undefined;
    const request = httpRequestOf(graphqlContext);
    const http = request ? requestTrace(request) : undefined;
    if (http === null) return undefined;
    const operation = operationOf(graphqlContext, info, tracer, http);
    return {
      parent: operation?.context ?? context.active(),
      attributes: { [ATTR.graphqlFieldPath]: fieldPath(info.path) },
      failed: (error) => markFailed(error, operation?.span, http?.span),
    };
  },
};

function operationOf(
  graphqlContext: object,
  info: ResolveInfo,
  tracer: Tracer,
  http: HttpRequestTrace | undefined,
): OperationTrace | undefined {
  const known = operations.get(graphqlContext);
  if (known) return known;
  const type = info.operation?.operation ?? 'query';
  const name = info.operation?.name?.value;
  const parent = http?.context ?? context.active();
  const span = tracer.startSpan(name ? `${type} ${name}` : type, {
    attributes: { [ATTR.graphqlOperationType]: type, ...(name ? { [ATTR.graphqlOperationName]: name } : {}) },
  }, parent);
  const operation = { span, context: trace.setSpan(parent, span) };
  operations.set(graphqlContext, operation);
  if (http) {
    nameRequestRoute(http, pathOf(httpRequestOf(graphqlContext)));
    http.beforeEnd = () => span.end();
  } else {
    // Without an HTTP request (a subscription over WebSocket) nothing says when the operation ends.
    span.end();
  }
  return operation;
}

function markFailed(error: unknown, operation: Span | undefined, server: Span | undefined): void {
  if (operation) recordFailure(operation, error);
  // The server span gets the outcome, not a second copy of the exception event.
  if (server) markFailure(server, error);
}

/** What the plugin reads of an Apollo Server error: a `GraphQLError`. */
interface GraphqlErrorLike {
  readonly message: string;
  readonly path?: readonly unknown[];
  readonly extensions?: { code?: unknown };
}

/**
 * An Apollo Server plugin for requests that fail before any resolver runs (a parse or validation error, HTTP 400):
 * no resolver tells the interceptor, so the plugin names the server span after the endpoint (`POST /graphql`)
 * and records the error on it, with `error.type` set to Apollo's code. Resolver errors (they have a `path`) are
 * left to the interceptor.
 */
export const graphqlRequestErrorsPlugin = {
  async requestDidStart() {
    return {
      async didEncounterErrors(request: { errors?: readonly GraphqlErrorLike[]; contextValue?: unknown }) {
        const early = (request.errors ?? []).filter((error) => !error.path);
        const httpRequest = early.length > 0 && request.contextValue && typeof request.contextValue === 'object' ? httpRequestOf(request.contextValue) : undefined;
        const http = httpRequest ? requestTrace(httpRequest) : undefined;
        if (!http?.span.isRecording()) return;
        nameRequestRoute(http, pathOf(httpRequest));
        for (const error of early) {
          recordFailure(http.span, error);
          const code = error.extensions?.code;
          if (typeof code === 'string') http.span.setAttribute(ATTR.errorType, code);
        }
      },
    };
  },
};

const GRAPHQL_OPTIONS_TOKEN = 'GqlModuleOptions';

/**
 * Adds {@link graphqlRequestErrorsPlugin} to the options of `GraphQLModule` (Apollo driver) while Nest
 * configures modules, before `GraphQLModule` starts the server from those options on module init.
 */
export function addGraphqlRequestErrorsPlugin(providers: Iterable<[unknown, { instance?: unknown }]>): void {
  for (const [token, wrapper] of providers) {
    if (token !== GRAPHQL_OPTIONS_TOKEN) continue;
    const options = wrapper.instance as { plugins?: unknown[] } | undefined;
    if (!options || typeof options !== 'object') continue;
    const plugins = Array.isArray(options.plugins) ? options.plugins : [];
    if (!plugins.includes(graphqlRequestErrorsPlugin)) options.plugins = [...plugins, graphqlRequestErrorsPlugin];
  }
}

/** The Node request behind a GraphQL context: `req` (Express, Apollo), `request` or its `raw` (Fastify). */
function httpRequestOf(graphqlContext: object): IncomingMessage | undefined {
  const candidate = (graphqlContext as { req?: unknown; request?: unknown }).req ?? (graphqlContext as { request?: unknown }).request;
  const request = (candidate as { raw?: unknown } | undefined)?.raw ?? candidate;
  return request && typeof (request as IncomingMessage).headers === 'object' ? (request as IncomingMessage) : undefined;
}

/** The endpoint path (`/graphql`): low-cardinality, so it names the server span as a route would. */
function pathOf(request: IncomingMessage | undefined): string | undefined {
  const url = (request as { originalUrl?: string } | undefined)?.originalUrl ?? request?.url;
  return url?.split('?')[0];
}

function fieldPath(path: ResolvePath | undefined): string {
  const keys: (string | number)[] = [];
  for (let at = path; at; at = at.prev) keys.unshift(at.key);
  return keys.join('.');
}
