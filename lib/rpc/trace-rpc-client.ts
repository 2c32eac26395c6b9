import { context, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { ATTR } from '../otel.constants.js';
import { startOwnedSpan } from '../sdk/library-tracer.js';
import { TracingRuntime } from '../sdk/tracing-runtime.js';
import { observeInSpan } from '../span-runner.js';
import { rpcPatternName } from './rpc-carrier.js';

/** The part of Nest's `ClientProxy` the helper uses. */
export interface RpcClientLike {
  send<R = unknown>(pattern: unknown, data: unknown): Observable<R>;
  emit<R = unknown>(pattern: unknown, data: unknown): Observable<R>;
  /** Nest 12: called with every outgoing packet, which may be given `metadata`. */
  setOnDispatchHook?(hook: (packet: { pattern: unknown; data: unknown; metadata?: unknown }) => void): void;
}

/** Options of {@link traceRpcClient}. */
export interface TraceRpcClientOptions {
  /** `messaging.system` of the client spans (`tcp`, `redis`, `nats`, ...; default `other`). */
  system?: string;
}

const runtime = TracingRuntime.get();
const TRACED_CLIENT = Symbol.for('nestjs-tracing.traced-rpc-client');

/**
 * Traces a microservice client: `send` gets a CLIENT span and `emit` a PRODUCER span, named after the pattern,
 * and the trace context travels with every packet so the consumer's span continues the trace. On Nest 12 the
 * context rides in the packet's metadata (read back by the server on TCP and Redis); for brokers with headers
 * (Kafka, NATS, RabbitMQ, MQTT) put `TraceService.inject()` into the record's headers. Returns the same client.
 *
 * Every Nest `ClientProxy` is traced this way without it once `OtelModule` runs; call it to set `system` yourself,
 * or for a client that does not extend `ClientProxy`.
 *
 * @example
 * { provide: 'MATCHING', useFactory: () => traceRpcClient(ClientProxyFactory.create({ transport: Transport.TCP, options })) }
 */
export function traceRpcClient<C extends RpcClientLike>(client: C, options: TraceRpcClientOptions = {}): C {
  const marked = client as C & { [TRACED_CLIENT]?: boolean };
  if (marked[TRACED_CLIENT]) return client;
  Object.defineProperty(marked, TRACED_CLIENT, { value: true });
  const system = options.system ?? 'other';
  client.setOnDispatchHook?.(injectPacketMetadata);
  const send = client.send.bind(client);
  const emit = client.emit.bind(client);
  client.send = <R>(pattern: unknown, data: unknown): Observable<R> => sendInSpan<R>(() => send<R>(pattern, data), pattern, system);
  client.emit = <R>(pattern: unknown, data: unknown): Observable<R> => emitInSpan<R>(() => emit<R>(pattern, data), pattern, system);
  return client;
}

/** Whether `client` was given to {@link traceRpcClient}, which traces it in place of the prototype's wrappers. */
export function isTracedRpcClient(client: unknown): boolean {
  return (client as { [TRACED_CLIENT]?: boolean } | null)?.[TRACED_CLIENT] === true;
}

/** Subscribes to `send()` in a CLIENT span that lasts until the reply (or its failure) arrives. */
export function sendInSpan<R>(send: () => Observable<R>, pattern: unknown, system: string): Observable<R> {
  if (!runtime.running) return send();
  const parent = context.active();
  return new Observable<R>((subscriber) => {
    const span = startClientSpan(pattern, SpanKind.CLIENT, system, parent);
    return observeInSpan(span, trace.setSpan(parent, span), send).subscribe(subscriber);
  });
}

/** Calls `emit()` in a PRODUCER span. Nest's emit is eager: it dispatches at once, so the span covers the dispatch. */
export function emitInSpan<R>(emit: () => Observable<R>, pattern: unknown, system: string): Observable<R> {
  if (!runtime.running) return emit();
  const parent = context.active();
  const span = startClientSpan(pattern, SpanKind.PRODUCER, system, parent);
  const active = trace.setSpan(parent, span);
  const result = context.with(active, emit);
  // The caller gets the failure from `result`; this subscription only ends the span.
  observeInSpan(span, active, () => result).subscribe({ error: () => undefined });
  return result;
}

/** Writes the active trace context into an outgoing packet's metadata (Nest 12 carries it on TCP and Redis). */
export function injectPacketMetadata(packet: { metadata?: unknown }): void {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (Object.keys(carrier).length > 0) packet.metadata = { ...(packet.metadata as object | undefined), ...carrier };
}

function startClientSpan(pattern: unknown, kind: SpanKind, system: string, parent: ReturnType<typeof context.active>): Span {
  const name = rpcPatternName(pattern);
  // Keys written out, not computed: see `samplerAttributes` of the HTTP server span.
  const attributes = {
    'messaging.system': system,
    'nestjs.pattern': name,
    'messaging.operation.type': kind === SpanKind.CLIENT ? 'send' : 'publish',
  } satisfies Record<typeof ATTR.messagingSystem | typeof ATTR.nestPattern | typeof ATTR.messagingOperationType, string>;
  return startOwnedSpan(runtime.tracer, name, kind, attributes, parent);
}

/** gRPC metadata as `@grpc/grpc-js` defines it, reduced to what injection needs. */
export interface GrpcMetadataLike {
  set(key: string, value: string): void;
}

/**
 * Writes the active trace context into gRPC metadata for a call through a `ClientGrpc` service stub, so that
 * the server's span continues the trace. Returns the metadata.
 *
 * @example
 * this.scoring.score(request, injectGrpcMetadata(new Metadata()));
 */
export function injectGrpcMetadata<M extends GrpcMetadataLike>(metadata: M): M {
  propagation.inject(context.active(), metadata, { set: (carrier, key, value) => carrier.set(key, value) });
  return metadata;
}
