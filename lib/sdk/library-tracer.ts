import {
  diag,
  INVALID_SPAN_CONTEXT,
  SamplingDecision,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Sampler,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import { cleanAttributes, cleanSimpleAttributes, isTracingSuppressed, maybeAddAttribute } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanLimits, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';
// The global `performance` is a getter on `globalThis`, called at every read; the module's binding is not.
import { performance } from 'node:perf_hooks';
import { drawIdBytes, hrTimeAt, lastIdGeneration, NOT_FROM_POOL, poolWord, spanIdOfWords, traceIdOfWords } from './span-ids.js';
import { rootSamplingBound } from './samplers.js';
import { UnsampledSpan } from './unsampled-span.js';
import { isValidSpanContext, LibrarySpanContext } from './library-span-context.js';
import { randomTraceIdFlag } from '../propagation/random-trace-flag.js';
import { activeContext, runInContext } from './context-manager.js';
import { ProcessorChain } from './processor-chain.js';
import { HELD_IN_CONTEXT, type ContextSlot } from './linked-context.js';

/** What the library reads of the SDK's tracer: its configuration, so both make spans the same way. */
interface SdkTracerInternals {
  readonly instrumentationScope: { name: string; version?: string; schemaUrl?: string };
  readonly _sampler: Sampler;
  readonly _spanLimits: Required<SpanLimits>;
  readonly _resource: Resource;
  readonly _spanProcessor: SpanProcessor;
}

/**
 * The tracer of the library's own spans (server, handler, message, gateway spans, `TraceService` and `@Span`).
 * It makes the same spans as the SDK's tracer, with the SDK's sampler, limits, resource and span processor chain,
 * so every processor and exporter sees the same data; it is cheaper where the SDK does work these spans do not
 * need: attributes the library built itself are taken as they are (the SDK validates them twice), ids come from a
 * pooled random buffer through a lookup table, and times from one monotonic clock reading each. Under the library's
 * own samplers a new trace is decided on its id's random bytes, and a span left out makes the hex of its ids only
 * if someone reads them.
 */
export class LibraryTracer implements Tracer {
  /** The SDK's processors, each hook called only where it is taken (its MultiSpanProcessor asks every one, with an iterator per call). */
  private readonly processors: ProcessorChain;
  /** How the sampler decides a new trace, when it is one of the library's (see `rootSamplingBound`). */
  private readonly rootBound: number | undefined;

  private constructor(
    private readonly sdk: SdkTracerInternals,
    private readonly fallback: Tracer,
  ) {
    const chain = (sdk._spanProcessor as { _spanProcessors?: unknown })._spanProcessors;
    this.processors = new ProcessorChain(Array.isArray(chain) && chain.every(isSpanProcessor) ? chain : [sdk._spanProcessor]);
    this.rootBound = rootSamplingBound(sdk._sampler);
  }

  /** A library tracer over `sdkTracer`'s configuration, or undefined when that tracer is not one it can read. */
  static over(sdkTracer: Tracer): LibraryTracer | undefined {
    const sdk = sdkTracer as Partial<SdkTracerInternals>;
    const readable =
      typeof sdk._sampler?.shouldSample === 'function' &&
      typeof sdk._spanProcessor?.onEnd === 'function' &&
      sdk._spanLimits !== undefined &&
      sdk._resource !== undefined &&
      sdk.instrumentationScope !== undefined;
    return readable ? new LibraryTracer(sdk as SdkTracerInternals, sdkTracer) : undefined;
  }

  /** The API's `startSpan`, for attributes from anywhere: they are validated once, as the SDK validates them. */
  startSpan(name: string, options: SpanOptions = {}, parent: Context = activeContext()): Span {
    if (options.startTime !== undefined || (options.links?.length ?? 0) > 0) return this.fallback.startSpan(name, options, parent);
    const attributes = options.attributes ? cleanAttributes(options.attributes, this.sdk._spanLimits) : undefined;
    return this.start(name, options.kind ?? SpanKind.INTERNAL, attributes?.attributes, attributes?.droppedAttributesCount ?? 0, options.root ? trace.deleteSpan(parent) : parent);
  }

  /**
   * Starts a span with attributes the library built and hands over: valid by construction, and owned by the span
   * from now on (they are neither copied nor checked).
   */
  startOwnedSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span {
    return this.start(name, kind, attributes, 0, parent);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = (args.length > 1 ? args[0] : undefined) as SpanOptions | undefined;
    const parent = (args.length > 2 ? args[1] : undefined) as Context | undefined;
    const parentContext = parent ?? activeContext();
    const span = this.startSpan(name, options, parentContext);
    return runInContext(trace.setSpan(parentContext, span), fn as (span: Span) => ReturnType<F>, span);
  }

  private start(name: string, kind: SpanKind, attributes: Attributes | undefined, dropped: number, parent: Context): Span {
    if (isTracingSuppressed(parent)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parentContext = trace.getSpan(parent)?.spanContext();
    // The library's own spans have valid ids by construction; others (propagated, other tracers') are checked.
    if (parentContext !== undefined && isValidSpanContext(parentContext)) return this.startAsked(name, kind, attributes, dropped, parent, parentContext);
    if (this.rootBound !== undefined) return this.startRoot(name, kind, attributes, dropped, parent, this.rootBound);
    return this.startAsked(name, kind, attributes, dropped, parent, undefined);
  }

  /**
   * A new trace under one of the library's samplers, decided on the trace id's random bytes before any hex is made:
   * an unsampled one keeps the bytes and makes the hex only if its span context is read.
   */
  private startRoot(name: string, kind: SpanKind, attributes: Attributes | undefined, dropped: number, parent: Context, bound: number): Span {
    const traceAt = drawIdBytes(16);
    const traceGeneration = lastIdGeneration();
    const t0 = poolWord(traceAt);
    const t1 = poolWord(traceAt + 4);
    const t2 = poolWord(traceAt + 8);
    const t3 = poolWord(traceAt + 12);
    // Drawn after the trace id's words were read: this draw may refill the pool.
    const spanAt = drawIdBytes(8);
    const spanGeneration = lastIdGeneration();
    const s0 = poolWord(spanAt);
    const s1 = poolWord(spanAt + 4);
    const traceFlags = randomTraceIdFlag(undefined);
    if ((t0 ^ t1 ^ t2 ^ t3) >>> 0 >= bound) return new UnsampledSpan(undefined, t0, t1, t2, t3, s0, s1, traceFlags, undefined, undefined);
    const traceId = traceIdOfWords(t0, t1, t2, t3);
    const spanContext = new LibrarySpanContext(traceId, spanIdOfWords(s0, s1), traceFlags | TraceFlags.SAMPLED, undefined, undefined, traceGeneration, traceAt, spanGeneration, spanAt);
    return new LibrarySpan(this.sdk, this.processors, name, kind, spanContext, undefined, attributes ?? {}, dropped, parent);
  }

  /** A span whose sampler is asked: in a trace continued from `validParent`, or a new trace under an app's sampler. */
  private startAsked(name: string, kind: SpanKind, attributes: Attributes | undefined, dropped: number, parent: Context, validParent: SpanContext | undefined): Span {
    let traceId: string;
    let traceGeneration = NOT_FROM_POOL;
    let traceAt = 0;
    if (validParent !== undefined) traceId = validParent.traceId;
    else {
      traceAt = drawIdBytes(16);
      traceGeneration = lastIdGeneration();
      traceId = traceIdOfWords(poolWord(traceAt), poolWord(traceAt + 4), poolWord(traceAt + 8), poolWord(traceAt + 12));
    }
    const spanAt = drawIdBytes(8);
    const spanGeneration = lastIdGeneration();
    const s0 = poolWord(spanAt);
    const s1 = poolWord(spanAt + 4);
    const own = attributes ?? {};
    const sampling = this.sdk._sampler.shouldSample(parent, traceId, name, kind, own, []);
    const traceState = sampling.traceState ?? validParent?.traceState;
    const sampled = sampling.decision === SamplingDecision.RECORD_AND_SAMPLED;
    const traceFlags = (sampled ? TraceFlags.SAMPLED : TraceFlags.NONE) | randomTraceIdFlag(validParent);
    if (sampling.decision === SamplingDecision.NOT_RECORD) return new UnsampledSpan(traceId, 0, 0, 0, 0, s0, s1, traceFlags, traceState, validParent);
    const spanContext = new LibrarySpanContext(traceId, spanIdOfWords(s0, s1), traceFlags, traceState, validParent, traceGeneration, traceAt, spanGeneration, spanAt);
    if (sampling.attributes) Object.assign(own, sampling.attributes);
    return new LibrarySpan(this.sdk, this.processors, name, kind, spanContext, validParent, own, dropped, parent);
  }
}

/** Shared by every span until it gets a status, an event or a link of its own; never changed in place. */
const UNSET_STATUS: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const NOT_ENDED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;
const NO_DURATION: HrTime = Object.freeze([-1, -1]) as unknown as HrTime;

/**
 * A recording span of the {@link LibraryTracer}: the API's `Span` and the SDK's `ReadableSpan`, as `SpanImpl` is,
 * with the same own properties (a processor may copy a span with a spread). It is kept small, since the requests in
 * flight hold two each across young-generation collections: status, events and links are shared empty values
 * until the span gets its own, and the duration is worked out when read.
 */
class LibrarySpan implements Span, ReadableSpan {
  readonly resource: Resource;
  readonly instrumentationScope: SdkTracerInternals['instrumentationScope'];
  readonly startTime: HrTime;
  endTime: HrTime = NOT_ENDED;
  status: SpanStatus = UNSET_STATUS;
  events: TimedEvent[] = NO_EVENTS;
  links: Link[] = NO_LINKS;
  private readonly startedAt = performance.now();
  private attributesCount: number;
  private eventsDropped = 0;
  private isEnded = false;
  private readonly limits: Required<SpanLimits>;
  /** The context node this span was first made active in; private in JavaScript too, so a spread leaves it out. */
  #slot: ContextSlot | undefined = undefined;

  constructor(
    sdk: SdkTracerInternals,
    private readonly processors: ProcessorChain,
    public name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    readonly attributes: Attributes,
    private attributesDropped: number,
    parent: Context,
  ) {
    this.startTime = hrTimeAt(this.startedAt);
    this.resource = sdk._resource;
    this.instrumentationScope = sdk.instrumentationScope;
    this.limits = sdk._spanLimits;
    // Own enumerable string keys, as a `for…in` with `Object.hasOwn` counts them, from V8's cached key list.
    this.attributesCount = Object.keys(attributes).length;
    processors.start(this as never, parent);
  }

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.isEnded) return this;
    // Strings, numbers and booleans, the common case, with the SDK's rules but not its checker, which allocates
    // a WeakSet per call to guard nested values against cycles.
    const type = typeof value;
    if ((type === 'string' || type === 'number' || type === 'boolean') && key.length > 0) {
      const isNew = !Object.hasOwn(this.attributes, key);
      if (isNew && this.attributesCount >= this.limits.attributeCountLimit) {
        this.attributesDropped++;
        return this;
      }
      const limit = this.limits.attributeValueLengthLimit;
      this.attributes[key] = type === 'string' && limit > 0 && (value as string).length > limit ? (value as string).substring(0, limit) : value;
      if (isNew) this.attributesCount++;
      return this;
    }
    const decision = maybeAddAttribute({ key, value, attributes: this.attributes, limits: this.limits, currentAttributesCount: this.attributesCount });
    // The SDK's decisions: 2 dropped at the limit, 3 a new key added.
    if (decision === 2) this.attributesDropped++;
    else if (decision === 3) this.attributesCount++;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key] as AttributeValue);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.isEnded) return this;
    const limit = this.limits.eventCountLimit;
    if (limit === 0) {
      this.eventsDropped++;
      return this;
    }
    if (this.events === NO_EVENTS) this.events = [];
    if (this.events.length >= limit) {
      this.events.shift();
      this.eventsDropped++;
    }
    const attributes = isTimeInput(attributesOrTime) ? undefined : attributesOrTime;
    const at = isTimeInput(attributesOrTime) ? attributesOrTime : time;
    const cleaned = cleanSimpleAttributes(attributes, {
      attributeCountLimit: this.limits.attributePerEventCountLimit,
      attributeValueLengthLimit: this.limits.attributeValueLengthLimit,
    });
    this.events.push({ name, time: at === undefined ? this.now() : toHrTime(at), ...cleaned });
    return this;
  }

  addLink(link: Link): this {
    if (this.isEnded) return this;
    if (this.links === NO_LINKS) this.links = [];
    this.links.push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.isEnded || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.isEnded) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.isEnded) {
      diag.error(`${this.name} ${this.context.traceId}-${this.context.spanId} - You can only call end() on a span once.`);
      return;
    }
    this.endTime = endTime === undefined ? this.now() : toHrTime(endTime);
    this.processors.endingSpan(this as never);
    this.isEnded = true;
    this.processors.end(this);
    this.leaveContext();
  }

  [HELD_IN_CONTEXT](slot: ContextSlot): void {
    if (this.#slot === undefined && !this.isEnded) this.#slot = slot;
  }

  /**
   * Once ended (and seen by every processor, which may keep it), the span's context holds a non-recording span
   * with the same span context in its place: child spans, log correlation and propagation read only that, and an
   * ended span records nothing anyway. A context that outlives its request, as Node's keep-alive timer keeps the
   * last one of each connection, then keeps a few bytes instead of the span's attributes, times and events.
   */
  private leaveContext(): void {
    const slot = this.#slot;
    if (slot === undefined) return;
    this.#slot = undefined;
    slot.replaceValue(trace.wrapSpanContext(this.context));
  }

  isRecording(): boolean {
    return !this.isEnded;
  }

  /** The SDK's exception event: type from `code` or `name`, message and stack trace. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      if (exception.code) attributes['exception.type'] = String(exception.code);
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
  }

  get duration(): HrTime {
    return this.isEnded ? durationBetween(this.startTime, this.endTime) : NO_DURATION;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  get droppedAttributesCount(): number {
    return this.attributesDropped;
  }

  get droppedEventsCount(): number {
    return this.eventsDropped;
  }

  get droppedLinksCount(): number {
    return 0;
  }

  /** Lets `fill` write attributes straight into this span's own (see {@link fillOwnedAttributes}). */
  fillOwned<A, B>(fill: OwnedAttributesWriter<A, B>, a: A, b: B): void {
    if (this.isEnded) return;
    this.attributesCount += fill(this.attributes, a, b);
  }

  /** Start and end come from the same monotonic clock, so durations are exact. */
  private now(): HrTime {
    return hrTimeAt(performance.now());
  }
}

/**
 * Writes attributes the library builds into `target` from two arguments (no closure, no object in between), and
 * returns how many it wrote. It writes only keys that are not there yet, and values valid by construction.
 */
export type OwnedAttributesWriter<A, B> = (target: Attributes, a: A, b: B) => number;

/**
 * Has `fill` write attributes the library builds straight into one of its spans; other spans get them through
 * `setAttributes`.
 */
export function fillOwnedAttributes<A, B>(span: Span, fill: OwnedAttributesWriter<A, B>, a: A, b: B): void {
  if (span instanceof LibrarySpan) return span.fillOwned(fill, a, b);
  const attributes: Attributes = {};
  fill(attributes, a, b);
  span.setAttributes(attributes);
}

/**
 * Starts a span with attributes the library built (a fresh object the span may keep), through the library tracer
 * when `tracer` is one, else as any tracer would.
 */
export function startOwnedSpan(tracer: Tracer, name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span {
  if (tracer instanceof LibraryTracer) return tracer.startOwnedSpan(name, kind, attributes, parent);
  return tracer.startSpan(name, { kind, attributes }, parent);
}

function isSpanProcessor(value: unknown): value is SpanProcessor {
  return typeof (value as SpanProcessor | null)?.onEnd === 'function' && typeof (value as SpanProcessor).onStart === 'function';
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number');
}

/** As the SDK reads a time: an HrTime as is, a number up to `performance.now()` as a monotonic reading, else epoch ms. */
function toHrTime(time: TimeInput): HrTime {
  if (Array.isArray(time)) return time as HrTime;
  if (typeof time === 'number' && time <= performance.now()) return hrTimeAt(time);
  const millis = time instanceof Date ? time.getTime() : time;
  const seconds = Math.floor(millis / 1000);
  return [seconds, Math.round((millis - seconds * 1000) * 1e6)];
}

function durationBetween(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds--;
    nanos += 1e9;
  }
  return seconds < 0 ? [0, 0] : [seconds, nanos];
}
