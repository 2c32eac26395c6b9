import type { ExecutionContext } from '@nestjs/common';
import { context, propagation, SpanKind, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { ATTR } from '../otel.constants.js';
import { startOwnedSpan } from '../sdk/library-tracer.js';
import { LIBRARY_ROOT_CONTEXT } from '../sdk/linked-context.js';
import { rpcCarrier, rpcPatternName, rpcSystem } from '../rpc/rpc-carrier.js';
import type { EntrySpan, HandlerEntry, TransportAdapter } from './transport-adapter.js';

const PATTERN_METADATA = 'microservices:pattern';
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const EVENT_HANDLER = 2;

/**
 * Opens the entry span of a message for a pattern handler: SERVER for a request, CONSUMER for an event, named
 * after the pattern (`Service/Method` for gRPC) and continuing the producer's trace from the message's headers
 * (`rpcContext` is what Nest passes a handler as its second argument).
 */
export function startRpcEntry(rpcContext: unknown, handler: object, tracer: Tracer): EntrySpan {
  const isEvent = Reflect.getMetadata?.(PATTERN_HANDLER_METADATA, handler) === EVENT_HANDLER;
  const pattern = patternName(rpcContext, Reflect.getMetadata?.(PATTERN_METADATA, handler));
  const system = rpcSystem(rpcContext);
  const carrier = rpcCarrier(rpcContext);
  const parent = carrier ? propagation.extract(LIBRARY_ROOT_CONTEXT, carrier) : context.active();
  const attributes: Attributes = { [system === 'grpc' ? ATTR.rpcSystem : ATTR.messagingSystem]: system, [ATTR.nestPattern]: pattern };
  if (isEvent) attributes[ATTR.messagingOperationType] = 'process';
  const span = startOwnedSpan(tracer, pattern, isEvent ? SpanKind.CONSUMER : SpanKind.SERVER, attributes, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Microservice messages (`@MessagePattern`, `@EventPattern`, gRPC methods) seen by a {@link TracingInterceptor}
 * applied by hand. Nothing opens an entry span for them before the interceptor, so it opens one here.
 */
export const rpcAdapter: TransportAdapter = {
  enter(execution: ExecutionContext, tracer: Tracer): HandlerEntry {
    const entry = startRpcEntry(execution.switchToRpc().getContext<unknown>(), execution.getHandler(), tracer);
    return { parent: entry.context, entrySpan: entry.span };
  },
};

/** The pattern the server matched (its transport knows it for TCP, Redis, RabbitMQ), else the handler's own. */
function patternName(rpcContext: unknown, metadata: unknown): string {
  const fromContext = (rpcContext as { getPattern?: () => unknown } | null)?.getPattern?.();
  return rpcPatternName(fromContext ?? (Array.isArray(metadata) ? metadata[0] : metadata));
}
