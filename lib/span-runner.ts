import { context, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { isObservable, Observable } from 'rxjs';
import { ATTR, NESTJS_CORE_INSTRUMENTATION_SCOPE } from './otel.constants.js';
import { runInContext } from './sdk/context-manager.js';

/**
 * Records a thrown value on a span: the exception event and `error.type` always, since the failure passed there;
 * ERROR status (with the message) only for a server-side failure, so that a client's mistake (a 4xx) never
 * counts as an error of this service.
 */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(error instanceof Error ? error : String(error));
  markFailure(span, error);
}

/**
 * The outcome of a failure on a span it passed through without an exception event of its own (the server span
 * of a GraphQL request): `error.type`, and ERROR status by the same rule as {@link recordFailure}.
 */
export function markFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR.errorType, errorName(error));
  if (isServerFailure(error)) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * gRPC status codes that the RPC semantic conventions count as errors on server spans: UNKNOWN,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS. Every other code is the caller's.
 */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/**
 * Whether a thrown value is a failure of this service rather than of its caller. An `HttpException` (anything
 * with `getStatus()`) or an error carrying an HTTP `status`/`statusCode` is the server's only from 500 up; a
 * gRPC error (an `RpcException` with a numeric `code`) only with a server-error code; a GraphQL error only when
 * its `extensions.code` is not one that Apollo uses for bad requests. Anything else is the server's.
 */
export function isServerFailure(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return true;
  const status = httpStatusOf(error);
  if (status !== undefined) return status >= 500;
  const details = typeof (error as { getError?: unknown }).getError === 'function' ? (error as { getError(): unknown }).getError() : error;
  if (details !== null && typeof details === 'object') {
    const nested = httpStatusOf(details);
    if (nested !== undefined) return nested >= 500;
    const code = (details as { code?: unknown }).code;
    if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16) return GRPC_SERVER_ERRORS.has(code);
  }
  const graphqlCode = (error as { extensions?: { code?: unknown } }).extensions?.code;
  return typeof graphqlCode !== 'string' || !GRAPHQL_CLIENT_CODES.has(graphqlCode);
}

/** `extensions.code` values Apollo Server gives to errors that are the client's. */
const GRAPHQL_CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
]);

function httpStatusOf(value: object): number | undefined {
  const getStatus = (value as { getStatus?: unknown }).getStatus;
  const status = typeof getStatus === 'function' ? getStatus.call(value) : ((value as { status?: unknown }).status ?? (value as { statusCode?: unknown }).statusCode);
  return typeof status === 'number' && status >= 100 && status <= 599 ? status : undefined;
}

/**
 * Subscribes to the Observable `source()` returns inside `spanContext`, and ends `span` exactly once: on
 * complete, on error (recorded, then passed on unchanged) or on unsubscribe (a client that went away).
 */
export function observeInSpan<T>(span: Span, spanContext: Context, source: () => Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.end();
    };
    const subscription = context.with(spanContext, () =>
      source().subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          recordFailure(span, error);
          end();
          subscriber.error(error);
        },
        complete: () => {
          end();
          subscriber.complete();
        },
      }),
    );
    return () => {
      subscription.unsubscribe();
      end();
    };
  });
}

/** A short, stable name for a thrown value, for `error.type`. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name || error.name || 'Error';
  return typeof error;
}

/**
 * Runs `work` with `span` active in `parent` and ends the span exactly once when the work is done: at once for a
 * sync result, when a promise settles, and for an Observable (or a promise of one) on complete, error or
 * unsubscribe. A failure is
 * recorded on the span and passed on unchanged; the result (or the Observable) is what `work` returned.
 */
export function runInSpan<T>(span: Span, parent: Context, work: (span: Span) => T): T {
  const active = trace.setSpan(parent, span);
  let result: T;
  try {
    result = runInContext(active, work, span);
  } catch (error) {
    recordFailure(span, error);
    span.end();
    throw error;
  }
  if (isObservable(result)) return observeInSpan(span, active, () => result as Observable<unknown>) as T;
  if (isPromiseLike(result)) return settleInSpan(span, active, result) as T;
  span.end();
  return result;
}

/** Ends the span when the promise settles; a promise of an Observable (an async interceptor) ends with the stream. */
function settleInSpan<V>(span: Span, active: Context, pending: PromiseLike<V>): Promise<V> {
  return Promise.resolve(pending).then(
    (value) => {
      if (isObservable(value)) return observeInSpan(span, active, () => value) as V;
      span.end();
      return value;
    },
    (error: unknown) => {
      recordFailure(span, error);
      span.end();
      throw error;
    },
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** On Nest below 12, instrumentation-nestjs-core wraps handlers in spans of its own; the library defers to it. */
export function madeByNestCoreInstrumentation(span: Span | undefined): boolean {
  const scope = (span as { instrumentationScope?: { name?: string } } | undefined)?.instrumentationScope;
  return scope?.name === NESTJS_CORE_INSTRUMENTATION_SCOPE;
}

/** Attributes of a handler span, named as instrumentation-nestjs-core names them so dashboards keep working. */
export function handlerAttributes(controller: string, callback: string, transport: string): Attributes {
  return {
    [ATTR.component]: '@nestjs/core',
    [ATTR.nestType]: 'handler',
    [ATTR.nestController]: controller,
    [ATTR.nestCallback]: callback,
    [ATTR.nestTransport]: transport,
  };
}
