import type { ExecutionContext } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { ATTR } from '../otel.constants.js';
import { rpcCarrier, rpcPatternName, rpcSystem } from '../rpc/rpc-carrier.js';
import type { HandlerEntry, TransportAdapter } from './transport-adapter.js';

const PATTERN_METADATA = 'microservices:pattern';
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const EVENT_HANDLER = 2;

/**
 * Microservice messages (`@MessagePattern`, `@EventPattern`, gRPC methods). Nothing opens an entry span for
 * them before the interceptor, so it opens one here: SERVER for a request, CONSUMER for an event, named after
 * the pattern (`Service/Method` for gRPC) and continuing the producer's trace from the message's headers.
 */
export const rpcAdapter: TransportAdapter = {
  enter(execution: ExecutionContext, tracer: Tracer): HandlerEntry {
    const rpcContext = execution.switchToRpc().getContext<unknown>();
    const handler = execution.getHandler();
    const isEvent = Reflect.getMetadata?.(PATTERN_HANDLER_METADATA, handler) === EVENT_HANDLER;
    const pattern = patternName(rpcContext, Reflect.getMetadata?.(PATTERN_METADATA, handler));
    const system = rpcSystem(rpcContext);
    const carrier = rpcCarrier(rpcContext);
    const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : context.active();
    const entry = tracer.startSpan(
      pattern,
      {
        kind: isEvent ? SpanKind.CONSUMER : SpanKind.SERVER,
        attributes: {
          [system === 'grpc' ? ATTR.rpcSystem : ATTR.messagingSystem]: system,
          [ATTR.nestPattern]: pattern,
          ...(isEvent ? { [ATTR.messagingOperationType]: 'process' } : {}),
        },
      },
      parent,
    );
    return { parent: trace.setSpan(parent, entry), entrySpan: entry };
  },
};

/** The pattern the server matched (its transport knows it for TCP, Redis, RabbitMQ), else the handler's own. */
function patternName(rpcContext: unknown, metadata: unknown): string {
  const fromContext = (rpcContext as { getPattern?: () => unknown } | null)?.getPattern?.();
  return rpcPatternName(fromContext ?? (Array.isArray(metadata) ? metadata[0] : metadata));
}
