import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { TracingRuntime } from '../sdk/tracing-runtime.js';
import { buildSpanTrees, type SpanTreeNode } from '../span-tree.js';

export type { SpanTreeNode };


/**
 * Keeps every span as it ends, for assertions in tests. It sees spans synchronously, with no export queue to
 * wait for, and keeps them after the app closed (when the last server spans are sure to have ended).
 *
 * Pass it in `spanProcessors`, use {@link OtelTestingModule}, or call {@link SpanRecorder.attach} to record
 * whatever SDK the app under test configured.
 */
export class SpanRecorder implements SpanProcessor {
  private readonly finished: ReadableSpan[] = [];
  private readonly waiters = new Set<() => void>();
  private detachFromRuntime?: () => void;

  /** A recorder that sees every span of the process's SDK (redacted as exported), until {@link detach}. */
  static attach(): SpanRecorder {
    const recorder = new SpanRecorder();
    recorder.detachFromRuntime = TracingRuntime.get().observe(recorder);
    return recorder;
  }

  /** Every span recorded since the last {@link reset}, in the order they ended. */
  get spans(): readonly ReadableSpan[] {
    return this.finished;
  }

  /** Forgets the recorded spans; call it between tests. */
  reset(): void {
    this.finished.length = 0;
  }

  /** Stops a recorder made by {@link attach} from recording. */
  detach(): void {
    this.detachFromRuntime?.();
    this.detachFromRuntime = undefined;
  }

  /** Spans with this name. */
  byName(name: string): ReadableSpan[] {
    return this.finished.filter((s) => s.name === name);
  }

  /** Spans of this trace. */
  byTrace(traceId: string): ReadableSpan[] {
    return this.finished.filter((s) => s.spanContext().traceId === traceId);
  }

  /** Spans of this kind. */
  ofKind(kind: SpanKind): ReadableSpan[] {
    return this.finished.filter((s) => s.kind === kind);
  }

  /** The recorded children of `parent`. */
  childrenOf(parent: ReadableSpan): ReadableSpan[] {
    const { traceId, spanId } = parent.spanContext();
    return this.finished.filter((s) => s.parentSpanContext?.spanId === spanId && s.spanContext().traceId === traceId);
  }

  /**
   * The spans of a trace as a tree: the roots are the spans whose parent was not recorded (the caller's span of
   * a continued trace, for one). Children are in start order.
   */
  tree(traceId: string): SpanTreeNode[] {
    return buildSpanTrees(this.byTrace(traceId));
  }

  /**
   * A trace (given its id) or the subtree under one span, as indented `name` lines: handy in `toEqual`
   * assertions and in failure messages.
   */
  outline(root: string | ReadableSpan): string[] {
    const traceId = typeof root === 'string' ? root : root.spanContext().traceId;
    let roots = this.tree(traceId);
    if (typeof root !== 'string') {
      const found = findNode(roots, root.spanContext().spanId);
      roots = found ? [found] : [];
    }
    const lines: string[] = [];
    const walk = (node: SpanTreeNode, depth: number) => {
      lines.push(`${'  '.repeat(depth)}${node.span.name}`);
      for (const child of node.children) walk(child, depth + 1);
    };
    for (const node of roots) walk(node, 0);
    return lines;
  }

  /** Resolves with the recorded spans once `predicate` holds; rejects after `timeoutMillis`, listing them. */
  async waitFor(predicate: (spans: readonly ReadableSpan[]) => boolean, timeoutMillis = 5000): Promise<readonly ReadableSpan[]> {
    const deadline = Date.now() + timeoutMillis;
    while (!predicate(this.finished)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Spans not as expected after ${timeoutMillis} ms. Recorded: ${this.describe()}`);
      await this.nextSpan(left);
    }
    return this.finished;
  }

  /** The first span named `name`, once it has ended. */
  async waitForSpan(name: string, timeoutMillis?: number): Promise<ReadableSpan> {
    await this.waitFor((spans) => spans.some((s) => s.name === name), timeoutMillis);
    return this.byName(name)[0];
  }

  /** The SERVER span of the request to `path` (its `url.path`), once it has ended. */
  async waitForServerSpan(path: string, timeoutMillis?: number): Promise<ReadableSpan> {
    const find = () => this.finished.find((s) => s.kind === SpanKind.SERVER && s.attributes['url.path'] === path);
    await this.waitFor(() => find() !== undefined, timeoutMillis);
    return find() as ReadableSpan;
  }

  /** One line per recorded span: kind, name and status. */
  describe(): string {
    return this.finished.map((s) => `${SpanKind[s.kind]} ${s.name} ${SpanStatusCode[s.status.code]}`).join('; ') || 'none';
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.finished.push(span);
    for (const wake of this.waiters) wake();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  private nextSpan(timeoutMillis: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.min(timeoutMillis, 250));
      this.waiters.add(wake);
    });
  }
}

function findNode(nodes: SpanTreeNode[], spanId: string): SpanTreeNode | undefined {
  for (const node of nodes) {
    if (node.span.spanContext().spanId === spanId) return node;
    const found = findNode(node.children, spanId);
    if (found) return found;
  }
  return undefined;
}
