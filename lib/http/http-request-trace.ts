import {
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ATTR, DEFAULTS } from '../otel.constants.js';
import { SENSITIVE_HEADERS } from '../otel.options.js';
import { fillOwnedAttributes, startOwnedSpan } from '../sdk/library-tracer.js';
import { LIBRARY_ROOT_CONTEXT } from '../sdk/linked-context.js';
import type { ContextHeaderTest } from '../propagation/context-headers.js';
import { errorName } from '../span-runner.js';
import type { ResolvedOtelOptions } from '../otel.options.js';
import { activeContext } from '../sdk/context-manager.js';
import { releaseConnectionTimer } from './connection-timer.js';

/** The server span of one HTTP request, kept on the request so every later layer finds the same one. */
export interface HttpRequestTrace {
  readonly span: Span;
  /** Context holding the server span, for layers that run where the async context was lost. */
  readonly context: Context;
  /** False when another instrumentation made the span: the library names it but does not end it. */
  readonly owned: boolean;
  method: string;
  route?: string;
  ended: boolean;
  /** Set once a handler span was opened, so an interceptor applied twice traces the handler once. */
  handled: boolean;
  /** Ends spans that live as long as the request (a GraphQL operation) just before the server span ends. */
  beforeEnd?: () => void;
  /** Response headers to record when the response ends (`http.responseHeaders`). */
  responseHeaders?: readonly string[];
}

type InterceptorOptions = ResolvedOtelOptions['interceptor'];

const TRACE = Symbol('nestjs-tracing.http-request');
/** Marks a request that matched an ignore rule: no span, and the interceptor skips it too. */
const IGNORED = Object.freeze({ ignored: true });

type Traced = { [TRACE]?: HttpRequestTrace | typeof IGNORED };

/** The trace of a request, `null` when the request is ignored, `undefined` when nothing traced it yet. */
export function requestTrace(request: IncomingMessage): HttpRequestTrace | null | undefined {
  const value = (request as Traced)[TRACE];
  return value === IGNORED ? null : (value as HttpRequestTrace | undefined);
}

/**
 * Opens the SERVER span of a request (continuing the caller's trace from its headers) and ends it when the
 * response closes, with the status code the client got. Returns `null` for ignored requests. Adopts the
 * server span of instrumentation-http when that is active instead of opening a second one. With
 * `carriesContext` (whether a request has headers the registered propagator extracts from, when known), a
 * request carrying none of them starts a new trace without asking the propagator.
 */
export function traceRequest(
  request: IncomingMessage,
  response: ServerResponse,
  tracer: Tracer,
  options: InterceptorOptions,
  carriesContext?: ContextHeaderTest,
): HttpRequestTrace | null {
  const existing = requestTrace(request);
  if (existing !== undefined) return existing;
  settleSocketShape(request);
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (options.hasIgnoreRules && options.ignore(path, request)) {
    (request as Traced)[TRACE] = IGNORED;
    return null;
  }
  const method = request.method ?? 'GET';
  const active = trace.getSpan(activeContext());
  const state = isServerSpan(active)
    ? adopt(active, method)
    : open(request, response, tracer, method, path, queryAt === -1 ? undefined : url.slice(queryAt + 1), carriesContext);
  if (state.span.isRecording()) {
    if (options.requestAttributes) addRequestAttributes(state.span, request, options);
    if (options.requestHeaders.length > 0) recordHeaders(state.span, 'http.request.header.', options.requestHeaders, (name) => request.headers[name]);
    if (options.responseHeaders.length > 0) state.responseHeaders = options.responseHeaders;
  }
  (request as Traced)[TRACE] = state;
  return state;
}

function open(
  request: IncomingMessage,
  response: ServerResponse,
  tracer: Tracer,
  method: string,
  path: string,
  query: string | undefined,
  carriesContext: ContextHeaderTest | undefined,
): HttpRequestTrace {
  const headers = request.headers;
  const parent =
    carriesContext === undefined || carriesContext(headers) ? propagation.extract(LIBRARY_ROOT_CONTEXT, headers) : LIBRARY_ROOT_CONTEXT;
  // A sampler may look at the method and path; the rest is built only for a span that records.
  const span = startOwnedSpan(tracer, method, SpanKind.SERVER, samplerAttributes(method, path), parent);
  const state: HttpRequestTrace = { span, context: trace.setSpan(parent, span), owned: true, method, ended: false, handled: false };
  // An unsampled span records nothing, so there is nothing to end, name or set when the response closes.
  if (!span.isRecording()) return state;
  fillOwnedAttributes(span, writeRequestAttributes, request, query);
  // The response is left as it is (it finds the state through `response.req`), so that sampled and unsampled
  // responses keep one object shape and the framework's code stays monomorphic at any sampling ratio.
  response.on('close', endServerSpan);
  return state;
}

/**
 * The attributes a server span starts with, as a literal with its keys written out. With computed keys
 * (`[ATTR.httpMethod]`) each key is defined by a step that V8's mid-tier compiler, Maglev, leaves to the runtime:
 * at sampling 0.1 `open` ran in that tier, not inlined, and with the keys written out the main thread runs about
 * 2,200 fewer instructions a request there (1.4%, `bench:instructions`). `satisfies` keeps the keys those of {@link ATTR}.
 */
function samplerAttributes(method: string, path: string): Attributes {
  return { 'http.request.method': method, 'url.path': path } satisfies Record<typeof ATTR.httpMethod | typeof ATTR.urlPath, string>;
}

/** A socket with the peer address Node caches on it once `remoteAddress` was read. */
type PeerCachingSocket = { _peername?: { address?: string }; readonly remoteAddress?: string };

/**
 * Node caches the peer address on the socket the first time `remoteAddress` is read, which adds a property to
 * the socket. Read only for sampled requests (for `client.address`), it came before or after the keep-alive
 * `timeout` property depending on which request of a connection was sampled: at sampling 0.1 the sockets took
 * five hidden classes, and Node's own socket and response code went megamorphic for every request, sampled or
 * not. Reading it at a connection's first request, before the response sets `timeout`, gives every socket the
 * same shape. Later requests skip it: the getter reads the socket's handle through an accessor whose load is
 * megamorphic (every kind of socket shares it), about 700 instructions a request.
 */
function settleSocketShape(request: IncomingMessage): void {
  const socket = request.socket as PeerCachingSocket | null;
  if (socket && socket._peername === undefined) void socket.remoteAddress;
}

/** The client's address: the one Node cached on the socket, where it did, without the getter's handle reads. */
function peerAddress(request: IncomingMessage): string | undefined {
  const socket = request.socket as PeerCachingSocket | null;
  if (!socket) return undefined;
  return socket._peername?.address ?? socket.remoteAddress;
}

function adopt(span: Span, method: string): HttpRequestTrace {
  return { span, context: activeContext(), owned: false, method, ended: false, handled: false };
}

/** The request attributes besides method and path, which the span starts with (a sampler may read them). */
function writeRequestAttributes(attributes: Attributes, request: IncomingMessage, query: string | undefined): number {
  attributes[ATTR.urlScheme] = (request.socket as { encrypted?: boolean } | null)?.encrypted ? 'https' : 'http';
  attributes[ATTR.protocolVersion] = request.httpVersion;
  let written = 2;
  const host = request.headers.host;
  if (host) {
    const colon = portSeparator(host);
    attributes[ATTR.serverAddress] = colon === -1 ? host : host.slice(0, colon);
    written++;
    if (colon !== -1) {
      attributes[ATTR.serverPort] = portNumber(host, colon + 1);
      written++;
    }
  }
  if (query !== undefined) {
    attributes[ATTR.urlQuery] = query;
    written++;
  }
  const agent = request.headers['user-agent'];
  if (agent) {
    attributes[ATTR.userAgent] = agent;
    written++;
  }
  const client = peerAddress(request);
  if (client) {
    attributes[ATTR.clientAddress] = client;
    written++;
  }
  return written;
}

/**
 * Where the `:port` of a `Host` header starts (`example.com:8080`, `[::1]:3000`), or -1 when it has no port made
 * of digits. A scan back over the digits: `lastIndexOf` calls into the runtime, which cost more than the whole scan
 * of a host this short.
 */
export function portSeparator(host: string): number {
  let at = host.length - 1;
  while (at >= 0) {
    const code = host.charCodeAt(at);
    if (code < 0x30 || code > 0x39) break;
    at--;
  }
  return at >= 0 && at < host.length - 1 && host.charCodeAt(at) === 0x3a ? at : -1;
}

/**
 * The port whose digits run from `from` to the end of `host` (as {@link portSeparator} found them), read digit by
 * digit: `Number()` of a slice called into V8's runtime, about 350 instructions a sampled request. Beyond 15 digits,
 * where a sum of digits could round otherwise, it is left to `Number()`.
 */
export function portNumber(host: string, from: number): number {
  if (host.length - from > 15) return Number(host.slice(from));
  let port = 0;
  for (let at = from; at < host.length; at++) port = port * 10 + host.charCodeAt(at) - 0x30;
  return port;
}

function addRequestAttributes(span: Span, request: IncomingMessage, options: InterceptorOptions): void {
  try {
    const extra = options.requestAttributes?.(request);
    if (extra) span.setAttributes(extra);
  } catch (error) {
    // A failing hook must not fail the request; the span says what went wrong instead.
    span.addEvent('nestjs-tracing.requestAttributes.failed', { [ATTR.errorType]: errorName(error) });
  }
}

const SENSITIVE = new Set<string>(SENSITIVE_HEADERS);

/**
 * Records the listed headers as `<prefix><name>` string arrays, as the semantic conventions name them. Credentials
 * (`authorization`, cookies, API keys) are recorded as `[REDACTED]` whatever the list says.
 */
function recordHeaders(span: Span, prefix: string, names: readonly string[], read: (name: string) => unknown): void {
  for (const name of names) {
    const value = read(name);
    if (value === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).map(String);
    span.setAttribute(prefix + name, SENSITIVE.has(name) ? values.map(() => DEFAULTS.redactReplacement) : values);
  }
}

/** Names the server span after the route template (`GET /users/:id`) once the router has matched one. */
export function nameRequestRoute(state: HttpRequestTrace, route: string | undefined): void {
  if (!route || state.route !== undefined) return;
  state.route = route;
  state.span.updateName(spanNameOf(state.method, route));
  state.span.setAttribute(ATTR.httpRoute, route);
}

/** Span names by route template, then method: an app has a bounded set of routes, named once each. */
const SPAN_NAMES = new Map<string, Map<string, string>>();
const MAX_NAMED_ROUTES = 2048;

function spanNameOf(method: string, route: string): string {
  let byMethod = SPAN_NAMES.get(route);
  if (byMethod === undefined) {
    // A framework that reported raw paths instead of templates must not grow the cache without bound.
    if (SPAN_NAMES.size >= MAX_NAMED_ROUTES) return `${method} ${route}`;
    byMethod = new Map();
    SPAN_NAMES.set(route, byMethod);
  }
  let name = byMethod.get(method);
  if (name === undefined) {
    name = `${method} ${route}`;
    byMethod.set(method, name);
  }
  return name;
}

/** `close` fires once per response, after `finish` or when the client went away first. */
function endServerSpan(this: ServerResponse): void {
  const state = this.req === undefined ? undefined : requestTrace(this.req);
  if (!state || state.ended) return;
  state.ended = true;
  state.beforeEnd?.();
  // A guard or a 404 ends the request before any interceptor ran; Express still knows the matched route.
  nameRequestRoute(state, expressRoute(this.req));
  const span = state.span;
  if (this.headersSent) span.setAttribute(ATTR.httpStatusCode, this.statusCode);
  if (state.responseHeaders) recordHeaders(span, 'http.response.header.', state.responseHeaders, (name) => this.getHeader(name));
  if (!this.writableFinished) span.setAttribute(ATTR.errorType, 'aborted');
  if (this.headersSent && this.statusCode >= 500) {
    span.setAttribute(ATTR.errorType, String(this.statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
  releaseConnectionTimer(this.req.socket);
}

/**
 * The route template Express matched, if any. Nest mounts its routes with absolute paths; its
 * not-found handler is a relative catch-all (`*path`) in a prefix router, which must not name a 404.
 */
export function expressRoute(request: IncomingMessage | undefined): string | undefined {
  const route = (request as { route?: { path?: unknown } } | undefined)?.route?.path;
  return typeof route === 'string' && route.startsWith('/') ? route : undefined;
}

function isServerSpan(span: Span | undefined): span is Span {
  return span !== undefined && span.isRecording() && (span as { kind?: SpanKind }).kind === SpanKind.SERVER;
}
