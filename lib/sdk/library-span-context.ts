import { isSpanContextValid, type SpanContext, type TraceState } from '@opentelemetry/api';
import { copyIdBytes } from './span-ids.js';

/**
 * The span context of a span the library's tracer made. Its ids are valid by construction (a trace id taken from
 * a parent that was checked, or made here; a span id made here), so whoever meets one need not check them again
 * with the API's regular expressions, as the SDK's parent-based sampler does for every child span. It also knows
 * where in the id pool its ids' random bytes were drawn, so that the exporter can copy them while the pool still
 * holds them rather than decode the hex; that is kept in private fields, out of spreads and `JSON.stringify`.
 */
export class LibrarySpanContext implements SpanContext {
  readonly #traceIdGeneration: number;
  readonly #traceIdOffset: number;
  readonly #spanIdGeneration: number;
  readonly #spanIdOffset: number;

  /**
   * Each id's pool generation and offset are what `lastIdGeneration()` and `drawIdBytes()` gave when its bytes were
   * drawn; an id that came from elsewhere has the generation `NOT_FROM_POOL`. A trace id inherited from `parent`, a
   * span context of the library's, takes the parent's.
   */
  constructor(
    readonly traceId: string,
    readonly spanId: string,
    readonly traceFlags: number,
    readonly traceState: TraceState | undefined,
    parent: SpanContext | undefined,
    traceIdGeneration: number,
    traceIdOffset: number,
    spanIdGeneration: number,
    spanIdOffset: number,
  ) {
    const inherited = parent instanceof LibrarySpanContext && parent.traceId === traceId;
    this.#traceIdGeneration = inherited ? parent.#traceIdGeneration : traceIdGeneration;
    this.#traceIdOffset = inherited ? parent.#traceIdOffset : traceIdOffset;
    this.#spanIdGeneration = spanIdGeneration;
    this.#spanIdOffset = spanIdOffset;
  }

  /** Writes the trace id's 16 bytes to `target` at `at`, if the id pool still holds them. */
  copyTraceId(target: Uint8Array, at: number): boolean {
    return copyIdBytes(target, at, this.#traceIdGeneration, this.#traceIdOffset, 16);
  }

  /** Writes the span id's 8 bytes to `target` at `at`, if the id pool still holds them. */
  copySpanId(target: Uint8Array, at: number): boolean {
    return copyIdBytes(target, at, this.#spanIdGeneration, this.#spanIdOffset, 8);
  }
}

/** `isSpanContextValid`, answered at once for the library's own span contexts. */
export function isValidSpanContext(spanContext: SpanContext): boolean {
  return spanContext instanceof LibrarySpanContext || isSpanContextValid(spanContext);
}
