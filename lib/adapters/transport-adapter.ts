import type { ExecutionContext } from '@nestjs/common';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { ResolvedOtelOptions } from '../otel.options.js';

/** The entry span a transport opens for one message (a microservice message, a WebSocket event), and its context. */
export interface EntrySpan {
  readonly span: Span;
  readonly context: Context;
}

/** Where a handler invocation's span hangs, as decided by its transport. */
export interface HandlerEntry {
  /** Context the handler span is started in (it holds the transport's entry span). */
  readonly parent: Context;
  /** Transport-specific attributes of the handler span. */
  readonly attributes?: Attributes;
  /** An entry span the adapter opened for this invocation alone; it ends (with any failure) with the handler span. */
  readonly entrySpan?: Span;
  /** Told when the handler fails, for spans beyond the handler's that must show the failure. */
  readonly failed?: (error: unknown) => void;
}

/** What the {@link TracingInterceptor} needs from one transport (HTTP, RPC, WebSocket, GraphQL). */
export interface TransportAdapter {
  /**
   * Finds or opens the entry span of this invocation and names it. Returns undefined when the invocation
   * must not be traced at all (an ignored route).
   */
  enter(execution: ExecutionContext, tracer: Tracer, options: ResolvedOtelOptions): HandlerEntry | undefined;
}
