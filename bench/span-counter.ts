import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';

/** Counts sampled spans as they end, so the report can compare what the app made with what the sink got. */
export class SpanCounter implements SpanProcessor {
  ended = 0;

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & 1) === 1) this.ended++;
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
