import type { ExecutionContext } from '@nestjs/common';
import { context, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { ATTR } from '../otel.constants.js';
import { startOwnedSpan } from '../sdk/library-tracer.js';
import type { EntrySpan, HandlerEntry, TransportAdapter } from './transport-adapter.js';

const MESSAGE_METADATA = 'message';

/**
 * Opens the SERVER span of a WebSocket message (`WS chat.send`). A message has no headers to continue a trace
 * from, so it starts a trace of its own unless a span is already active. `pattern` is the event Nest matched;
 * the handler's `@SubscribeMessage()` metadata stands in when it is missing.
 */
export function startWsEntry(pattern: unknown, handler: object, tracer: Tracer): EntrySpan {
  const found = pattern ?? Reflect.getMetadata?.(MESSAGE_METADATA, handler);
  const event = typeof found === 'string' ? found : String(found);
  const parent = context.active();
  // Keys written out, not computed: see `samplerAttributes` of the HTTP server span.
  const attributes = { 'nestjs.pattern': event, 'messaging.system': 'websocket' } satisfies Record<typeof ATTR.nestPattern | typeof ATTR.messagingSystem, string>;
  const span = startOwnedSpan(tracer, `WS ${event}`, SpanKind.SERVER, attributes, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** WebSocket gateway messages (`@SubscribeMessage`) seen by a {@link TracingInterceptor} applied by hand. */
export const wsAdapter: TransportAdapter = {
  enter(execution: ExecutionContext, tracer: Tracer): HandlerEntry {
    const ws = execution.switchToWs() as { getPattern?: () => unknown };
    const entry = startWsEntry(ws.getPattern?.(), execution.getHandler(), tracer);
    return { parent: entry.context, entrySpan: entry.span };
  },
};
