import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * Keeps every span as it ends. Unlike InMemorySpanExporter it sees spans synchronously (no export queue) and
 * keeps them after shutdown, which is when an app's last server spans are known to have ended.
 */
export class SpanCollector implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  private wake?: () => void;

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
    this.wake?.();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  reset(): void {
    this.spans.length = 0;
  }

  /** Spans of a kind, leaving out the CLIENT spans of the test's own requests unless asked for. */
  ofKind(kind: SpanKind): ReadableSpan[] {
    return this.spans.filter((s) => s.kind === kind);
  }

  /** Children of `parent`. */
  childrenOf(parent: ReadableSpan): ReadableSpan[] {
    return this.spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
  }

  /** Resolves once `predicate` holds; rejects after `timeoutMillis` with what was collected. */
  async waitFor(predicate: (spans: ReadableSpan[]) => boolean, timeoutMillis = 5000): Promise<ReadableSpan[]> {
    const deadline = Date.now() + timeoutMillis;
    while (!predicate(this.spans)) {
      if (Date.now() > deadline) throw new Error(`spans not as expected after ${timeoutMillis} ms: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.spans;
  }

  /** The SERVER span whose `url.path` is `path`, once it has ended. */
  async serverSpan(path: string): Promise<ReadableSpan> {
    const find = () => this.spans.find((s) => s.kind === SpanKind.SERVER && s.attributes['url.path'] === path);
    await this.waitFor(() => find() !== undefined);
    return find() as ReadableSpan;
  }

  describe(): string {
    return this.spans.map((s) => `${SpanKind[s.kind]} ${s.name} ${SpanStatusCode[s.status.code]}`).join('; ') || 'none';
  }
}
