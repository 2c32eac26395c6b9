import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * Processors that come and go while an SDK runs (test recorders). The SDK's own processor list is fixed when it
 * starts; this one processor sits in it for good and forwards to whoever observes at the moment.
 */
export class SpanObservers implements SpanProcessor {
  private readonly observers = new Set<SpanProcessor>();

  /** Starts forwarding spans to `observer`; the returned function stops it. */
  add(observer: SpanProcessor): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  // Most of the time nobody observes: no iterator is made then.
  onStart(span: Span, parentContext: Context): void {
    if (this.observers.size === 0) return;
    for (const observer of this.observers) observer.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.observers.size === 0) return;
    for (const observer of this.observers) observer.onEnd(span);
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.observers].map((observer) => observer.forceFlush()));
  }

  /** Observers outlive one SDK (the next app in the process starts another), so shutdown leaves them alone. */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
