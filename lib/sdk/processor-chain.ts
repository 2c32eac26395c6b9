import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * Marks a processor of the library whose `onStart` does nothing (the redaction and export processors act on ended
 * spans only), so that the chain does not call it for every span.
 */
export const IGNORES_SPAN_START: unique symbol = Symbol('nestjs-tracing.ignores-span-start');

/**
 * The SDK's span processors as the library's spans call them, in order and with no iterator, each hook only on the
 * processors that take it: which ones do is settled when the tracer is made (an `onEnding` added to a processor
 * later is not called). The SDK's loop asks every processor for `onEnding` and calls every `onStart`; over
 * processors of several classes each of those is a megamorphic lookup, per processor and span. Methods are still
 * looked up at each call, so a processor whose methods are replaced later (a test's spy) sees its spans.
 */
export class ProcessorChain {
  private readonly starting: SpanProcessor[];
  private readonly endingSoon: SpanProcessor[];

  constructor(private readonly processors: readonly SpanProcessor[]) {
    this.starting = processors.filter((processor) => (processor as { [IGNORES_SPAN_START]?: true })[IGNORES_SPAN_START] !== true);
    this.endingSoon = processors.filter((processor) => typeof processor.onEnding === 'function');
  }

  /** `onStart` of each processor that looks at started spans. */
  start(span: Span, parent: Context): void {
    const starting = this.starting;
    for (let i = 0; i < starting.length; i++) starting[i].onStart(span, parent);
  }

  /** `onEnding`, on the processors that have one: the span is ended but may still be changed. */
  endingSpan(span: Span): void {
    const endingSoon = this.endingSoon;
    for (let i = 0; i < endingSoon.length; i++) endingSoon[i].onEnding!(span);
  }

  /**
   * `onEnd` of every processor, in order. Each loop calls at most {@link PROCESSORS_A_LOOP} of them, so that the
   * method lookup in each sees at most that many classes and stays polymorphic: the library's own processors and
   * one exporter are five, and one loop over all five made every span end pay five megamorphic lookups.
   */
  end(span: ReadableSpan): void {
    const processors = this.processors;
    const count = processors.length;
    const first = count < PROCESSORS_A_LOOP ? count : PROCESSORS_A_LOOP;
    for (let i = 0; i < first; i++) processors[i].onEnd(span);
    if (count === first) return;
    const second = count < 2 * PROCESSORS_A_LOOP ? count : 2 * PROCESSORS_A_LOOP;
    for (let i = first; i < second; i++) processors[i].onEnd(span);
    for (let i = second; i < count; i++) processors[i].onEnd(span);
  }
}

/** The most receiver classes V8 keeps a property lookup polymorphic for; past them it goes megamorphic. */
const PROCESSORS_A_LOOP = 4;
