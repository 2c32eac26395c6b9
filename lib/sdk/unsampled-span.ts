import type { Attributes, AttributeValue, Exception, Link, Span, SpanContext, SpanStatus, TimeInput, TraceState } from '@opentelemetry/api';
import { LibrarySpanContext } from './library-span-context.js';
import { NOT_FROM_POOL, spanIdOfWords, traceIdOfWords } from './span-ids.js';

/**
 * A span the sampler left out, from the library's tracer. It records nothing, as the API's non-recording span, and
 * makes the hex of its ids only when its span context is first read (by a child span, a propagator, log
 * correlation): most unsampled requests never read it, and the hex was the larger part of what tracing added to
 * them. Until then it holds the ids' random bytes as 32-bit words, since the id pool they were drawn from may be
 * refilled long before a late reader comes.
 */
export class UnsampledSpan implements Span {
  private context: SpanContext | undefined = undefined;

  /**
   * `traceId` is the hex of a trace id continued from `parent`, or undefined for a new trace, whose id is the four
   * `traceWord`s; the span id is the two `spanWord`s. Words are big-endian, as signed 32-bit integers.
   */
  constructor(
    private readonly traceId: string | undefined,
    private readonly traceWord0: number,
    private readonly traceWord1: number,
    private readonly traceWord2: number,
    private readonly traceWord3: number,
    private readonly spanWord0: number,
    private readonly spanWord1: number,
    private readonly traceFlags: number,
    private readonly traceState: TraceState | undefined,
    private readonly parent: SpanContext | undefined,
  ) {}

  spanContext(): SpanContext {
    if (this.context !== undefined) return this.context;
    const traceId = this.traceId ?? traceIdOfWords(this.traceWord0, this.traceWord1, this.traceWord2, this.traceWord3);
    const spanId = spanIdOfWords(this.spanWord0, this.spanWord1);
    // No pool position: the library's samplers sample nothing under an unsampled span, and a span an app's sampler
    // samples under it has its trace id decoded from the hex, as ids from elsewhere are.
    this.context = new LibrarySpanContext(traceId, spanId, this.traceFlags, this.traceState, this.parent, NOT_FROM_POOL, 0, NOT_FROM_POOL, 0);
    return this.context;
  }

  setAttribute(_key: string, _value: AttributeValue): this {
    return this;
  }

  setAttributes(_attributes: Attributes): this {
    return this;
  }

  addEvent(_name: string, _attributesOrTime?: Attributes | TimeInput, _time?: TimeInput): this {
    return this;
  }

  addLink(_link: Link): this {
    return this;
  }

  addLinks(_links: Link[]): this {
    return this;
  }

  setStatus(_status: SpanStatus): this {
    return this;
  }

  updateName(_name: string): this {
    return this;
  }

  end(_endTime?: TimeInput): void {}

  isRecording(): boolean {
    return false;
  }

  recordException(_exception: Exception, _time?: TimeInput): void {}
}
