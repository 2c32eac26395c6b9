import type { ExecutionContext } from '@nestjs/common';
import { context, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { ATTR } from '../otel.constants.js';
import type { HandlerEntry, TransportAdapter } from './transport-adapter.js';

/**
 * WebSocket gateway messages (`@SubscribeMessage`). A message has no headers to continue a trace from, so each
 * one starts a SERVER span of its own, named after the event (`WS chat.send`), unless a span is already active.
 */
export const wsAdapter: TransportAdapter = {
  enter(execution: ExecutionContext, tracer: Tracer): HandlerEntry {
    const event = messageEvent(execution);
    const parent = context.active();
    const entry = tracer.startSpan(
      `WS ${event}`,
      { kind: SpanKind.SERVER, attributes: { [ATTR.nestPattern]: event, [ATTR.messagingSystem]: 'websocket' } },
      parent,
    );
    return { parent: trace.setSpan(parent, entry), entrySpan: entry };
  },
};

const MESSAGE_METADATA = 'message';

function messageEvent(execution: ExecutionContext): string {
  const ws = execution.switchToWs() as { getPattern?: () => unknown };
  const pattern = ws.getPattern?.() ?? Reflect.getMetadata?.(MESSAGE_METADATA, execution.getHandler());
  return typeof pattern === 'string' ? pattern : String(pattern);
}
