import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** A finished span with its finished children. */
export interface SpanTreeNode {
  readonly span: ReadableSpan;
  readonly children: SpanTreeNode[];
}

/**
 * Arranges finished spans into trees, children in start order. A span whose parent is not among them (the
 * caller's span of a continued trace, or a parent still running) is a root.
 */
export function buildSpanTrees(spans: readonly ReadableSpan[]): SpanTreeNode[] {
  const sorted = [...spans].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  const nodes = new Map(sorted.map((span) => [span.spanContext().spanId, { span, children: [] as SpanTreeNode[] }]));
  const roots: SpanTreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanContext && nodes.get(node.span.parentSpanContext.spanId);
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}
